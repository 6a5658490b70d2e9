"""Read one landed delivery file, in its county's native shape, into text columns plus `source_line`.

Every value stays text here; typing happens in transforms.canonical so that a bad value can be reported with
its raw text. Records that cannot be read at all (undecodable bytes, broken JSON, a truncated last line) come
back as `Unreadable` entries for the quarantine table, never as exceptions and never silently dropped.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from leads.errors import SourceFailed
from leads.sources import FileFormat

MAX_FIELD_CHARS = 1_000_000  # a field longer than this is not a real county value: quarantine its record


@dataclass(frozen=True)
class Unreadable:
    line: int
    check: str
    reason: str
    raw_text: str


@dataclass
class RawDelivery:
    frame: pl.DataFrame  # all String columns + source_line (Int64)
    unreadable: list[Unreadable] = field(default_factory=list)


def _decoded(data: bytes, encoding: str) -> tuple[str, list[Unreadable]]:
    """The file's text; lines that are not valid in the declared encoding are cut out and reported."""
    if encoding == "utf-8" and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a BOM is a declaration, not content
    try:
        return data.decode(encoding), []
    except UnicodeDecodeError:
        pass
    kept: list[str] = []
    bad: list[Unreadable] = []
    for number, raw_line in enumerate(data.splitlines(keepends=True), start=1):
        try:
            kept.append(raw_line.decode(encoding))
        except UnicodeDecodeError as exc:
            text = raw_line.decode(encoding, errors="backslashreplace").rstrip("\r\n")
            reason = f"bytes not valid {encoding} at column {exc.start + 1}"
            bad.append(Unreadable(number, "encoding", reason, text))
    return "".join(kept), bad


def _complete_lines(text: str, delimiter: str, fields: int | None) -> tuple[str, list[int], list[Unreadable]]:
    """For formats whose every field ends with the delimiter: a line without it at the end, or with fewer
    delimiters than `fields` (when the format has no quoting and no header, so every delimiter ends one of
    the declared fields), was cut off: the parser would read the missing fields as nulls. A line with more
    has a delimiter inside a value: its fields cannot be told apart, and the parser would fail the file."""
    kept: list[str] = []
    numbers: list[int] = []
    bad: list[Unreadable] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if not line.endswith(delimiter):
            reason = "record ends before its last delimiter (truncated line)"
            bad.append(Unreadable(number, "truncated_record", reason, line))
        elif fields is not None and (found := line.count(delimiter)) < fields:
            reason = f"record has {found} of its {fields} fields (truncated line)"
            bad.append(Unreadable(number, "truncated_record", reason, line))
        elif fields is not None and found > fields:
            reason = f"record has {found} fields, {fields} declared (a delimiter inside a value?)"
            bad.append(Unreadable(number, "field_count", reason, line))
        else:
            kept.append(line)
            numbers.append(number)
    return "\n".join(kept) + ("\n" if kept else ""), numbers, bad


def _last_record(text: str, fmt: FileFormat) -> tuple[list[str], list[str], int]:
    """(first record, last record, physical line where the last record starts), reading whole CSV records so
    a quoted field spanning lines stays one record."""
    options = (
        {"delimiter": fmt.delimiter, "quoting": csv.QUOTE_NONE}
        if fmt.quote_char is None
        else {"delimiter": fmt.delimiter, "quotechar": fmt.quote_char}
    )
    reader = csv.reader(io.StringIO(text, newline=""), **options)
    first: list[str] = []
    last: list[str] = []
    start = 1
    previous_end = 0
    for record in reader:
        if not first:
            first = record
        last, start = record, previous_end + 1
        previous_end = reader.line_num
    return first, last, start


def _cut_last_record(text: str, fmt: FileFormat) -> tuple[str, list[Unreadable]]:
    """A file that ends mid-record (no line end, fewer fields than the header) was cut off: its last record
    is quarantined instead of being read with the missing fields as nulls."""
    if not text or text.endswith(("\n", "\r")) or "\n" not in text:
        return text, []  # ends cleanly, or a single line (the header or one record) only
    try:
        first, last, start = _last_record(text, fmt)
    except csv.Error:
        return text, []  # not judged here: the parser reports what it cannot read
    expected = len(fmt.columns) if (fmt.columns and not fmt.header) else len(first)
    if start <= 1 or len(last) >= expected:
        return text, []
    lines = text.split("\n")
    kept = "\n".join(lines[: start - 1]) + "\n"
    reason = "the last record is cut short (fewer fields than the header and no line end)"
    return kept, [Unreadable(start, "truncated_record", reason, "\n".join(lines[start - 1 :]))]


def _delimited(text: str, fmt: FileFormat, utf8: bytes | None = None) -> RawDelivery:
    """`utf8`: the file's bytes when they are exactly `text` in UTF-8 (read without another encoding pass)."""
    original = text
    columns = list(fmt.columns) if fmt.columns else None
    numbers: list[int] | None = None
    unreadable: list[Unreadable] = []
    if fmt.trailing_delimiter:
        fields = len(fmt.columns) if (fmt.columns and fmt.quote_char is None and not fmt.header) else None
        text, numbers, unreadable = _complete_lines(text, fmt.delimiter, fields)
        if columns:
            columns.append("__trailing__")
    else:
        text, unreadable = _cut_last_record(text, fmt)
    if not text.strip():
        return RawDelivery(pl.DataFrame(schema={"source_line": pl.Int64}), unreadable)
    try:
        frame = pl.read_csv(
            utf8 if (utf8 is not None and text is original) else text.encode("utf-8"),
            separator=fmt.delimiter,
            has_header=fmt.header,
            new_columns=None if fmt.header else columns,
            infer_schema=False,
            quote_char=fmt.quote_char,
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise SourceFailed(f"file does not parse as declared ({type(exc).__name__})") from None
    if numbers is not None:
        # one record per line: keep the file's own line numbers (header counted when present)
        lines = numbers[1:] if fmt.header else numbers
        frame = frame.with_columns(pl.Series("source_line", lines[: frame.height], dtype=pl.Int64))
    else:
        frame = frame.with_row_index("source_line", offset=1).with_columns(
            pl.col("source_line").cast(pl.Int64)
        )
    if "__trailing__" in frame.columns:
        frame = frame.drop("__trailing__")
    return RawDelivery(frame.select("source_line", pl.exclude("source_line")), unreadable)


def _records_frame(records: list[tuple[int, dict]]) -> pl.DataFrame:
    keys: list[str] = []
    for _, record in records:
        for key in record:
            if key not in keys:
                keys.append(key)
    columns: dict[str, list] = {"source_line": [n for n, _ in records]}
    for key in keys:
        columns[key] = [_as_text(record.get(key)) for _, record in records]
    schema = {"source_line": pl.Int64, **{k: pl.String for k in keys}}
    return pl.DataFrame(columns, schema=schema)


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, sort_keys=True)


def _jsonl(text: str) -> RawDelivery:
    records: list[tuple[int, dict]] = []
    bad: list[Unreadable] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(Unreadable(number, "json", f"not valid JSON ({exc.msg})", line))
            continue
        if not isinstance(value, dict):
            bad.append(Unreadable(number, "json", "a JSON line must be an object", line))
            continue
        records.append((number, value))
    return RawDelivery(_records_frame(records), bad)


def _json(text: str, fmt: FileFormat) -> RawDelivery:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceFailed(f"file is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if fmt.records_path:
        document = document.get(fmt.records_path) if isinstance(document, dict) else None
    if not isinstance(document, list):
        raise SourceFailed(f"JSON has no list of records at {fmt.records_path or 'the top level'}")
    records = [(n, r) for n, r in enumerate(document, start=1) if isinstance(r, dict)]
    bad = [
        Unreadable(n, "json", "a record must be an object", json.dumps(r)[:1000])
        for n, r in enumerate(document, start=1)
        if not isinstance(r, dict)
    ]
    return RawDelivery(_records_frame(records), bad)


def _fixed_width(text: str, fmt: FileFormat) -> RawDelivery:
    assert fmt.columns is not None and fmt.widths is not None
    starts = [sum(fmt.widths[:i]) for i in range(len(fmt.widths))]
    lines = pl.DataFrame({"line": text.splitlines()}, schema={"line": pl.String}).with_row_index(
        "source_line", offset=1
    )
    lines = lines.filter(pl.col("line").str.strip_chars() != "")
    frame = lines.select(
        pl.col("source_line").cast(pl.Int64),
        *[
            pl.col("line").str.slice(start, width).alias(name)
            for name, start, width in zip(fmt.columns, starts, fmt.widths, strict=True)
        ],
    )
    return RawDelivery(frame)


def _oversized(delivery: RawDelivery) -> RawDelivery:
    """Records with an absurdly long field are quarantined whole; the rest go on."""
    value_columns = [c for c in delivery.frame.columns if c != "source_line"]
    if not value_columns or delivery.frame.is_empty():
        return delivery
    # a value has at least as many bytes as characters: count characters only where the bytes exceed the limit
    long_bytes = pl.any_horizontal(pl.col(value_columns).str.len_bytes() > MAX_FIELD_CHARS)
    if not delivery.frame.select(long_bytes.any()).item():
        return delivery
    too_long = pl.any_horizontal(pl.col(value_columns).str.len_chars() > MAX_FIELD_CHARS)
    big = delivery.frame.filter(too_long)
    if big.is_empty():
        return delivery
    extra = [
        Unreadable(
            row["source_line"],
            "field_too_long",
            f"a field is longer than {MAX_FIELD_CHARS:,} characters",
            "",
        )
        for row in big.select("source_line").iter_rows(named=True)
    ]
    return RawDelivery(delivery.frame.filter(~too_long), delivery.unreadable + extra)


def read_delivery(path: Path, fmt: FileFormat) -> RawDelivery:
    """The records of one delivery file as text, plus the records that could not be read."""
    data = path.read_bytes()
    text, bad_bytes = _decoded(data, fmt.encoding)
    if fmt.type == "delimited":
        as_read = fmt.encoding == "utf-8" and not bad_bytes
        delivery = _delimited(text, fmt, data.removeprefix(b"\xef\xbb\xbf") if as_read else None)
    elif fmt.type == "jsonl":
        delivery = _jsonl(text)
    elif fmt.type == "json":
        delivery = _json(text, fmt)
    else:
        delivery = _fixed_width(text, fmt)
    delivery = _oversized(delivery)
    return RawDelivery(delivery.frame, bad_bytes + delivery.unreadable)
