"""Property-based tests (hypothesis) of the pure transforms that must never fail on odd input, and of the reader.

Bounded (`max_examples`, no deadline, derandomized) so the file stays within a few seconds and a failure always
reproduces. Example-based tests of the same functions: test_parsing.py, test_normalize.py, test_payoff.py,
test_readers_validation.py.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leads.errors import SourceFailed
from leads.readers import read_delivery
from leads.sources import FileFormat, is_safe_name
from transforms.canonical import canonical_records
from transforms.normalize import normalized_apn, normalized_legal, normalized_party, normalized_street
from transforms.parsing import parsed_date, parsed_float, parsed_money
from transforms.payoff import amortized_balance

# Background threads of the session's Prefect test server (websocket keep-alives) draw from the global `random`
# while hypothesis generates data, which it reports as a strategy using `random`; nothing here does.
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")

FAST = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FORMATS = [
    ["%Y-%m-%d"],
    ["%m/%d/%Y"],
    ["%m/%d/%Y", "%Y-%m-%d"],
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
    ["%Y%m%d"],
]

# text that looks like the values counties send, mixed with anything at all
digits = st.text("0123456789", min_size=0, max_size=5)
separators = st.sampled_from(["-", "/", " ", ".", "", "T", ":", "+", ",", "$", "(", ")", "e", "E", "\t"])
date_like = st.builds(
    lambda a, s1, b, s2, c: f"{a}{s1}{b}{s2}{c}", digits, separators, digits, separators, digits
)
odd_text = st.one_of(st.text(max_size=30), date_like, st.none())


def _column(values: list[str | None], expr: pl.Expr) -> list:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(expr.alias("out"))["out"].to_list()


def _strptime_dates(text: str, formats: list[str]) -> set[dt.date]:
    """Every date Python's strptime reads from `text` with one of the formats (the oracle for 'matches')."""
    found = set()
    for fmt in formats:
        try:
            found.add(dt.datetime.strptime(text.strip(), fmt).date())
        except ValueError:
            continue
    return found


# ------------------------------------------------------------------------------------------- parsed_date


@FAST
@given(values=st.lists(odd_text, max_size=20), formats=st.sampled_from(FORMATS))
def test_parsed_date_never_raises_and_returns_dates_or_null(
    values: list[str | None], formats: list[str]
) -> None:
    out = _column(values, parsed_date("v", formats))
    assert len(out) == len(values)
    assert all(v is None or isinstance(v, dt.date) for v in out)
    assert all(v is None for v, raw in zip(out, values, strict=True) if raw is None)


@FAST
@given(day=st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), formats=st.sampled_from(FORMATS))
def test_parsed_date_reads_back_every_date_written_in_its_first_format(
    day: dt.date, formats: list[str]
) -> None:
    text = dt.datetime.combine(day, dt.time()).strftime(formats[0])
    assert _column([text, f"  {text} "], parsed_date("v", formats)) == [day, day]


@FAST
@given(
    values=st.lists(st.one_of(date_like, st.text(max_size=12)), max_size=20), formats=st.sampled_from(FORMATS)
)
def test_a_parsed_date_is_one_that_a_format_matches(values: list[str], formats: list[str]) -> None:
    """A date comes back only when one of the formats reads the text (Python's strptime as the oracle), and
    it is that format's date."""
    out = _column(values, parsed_date("v", formats))
    for raw, got in zip(values, out, strict=True):
        if got is not None:
            assert got in _strptime_dates(raw, formats), (raw, formats, got)


@pytest.mark.parametrize(
    ("raw", "fmt"), [("01/02/25", "%m/%d/%Y"), ("-2025-01-02", "%Y-%m-%d"), ("+2025-01-02", "%Y-%m-%d")]
)
def test_parsed_date_requires_the_formats_four_digit_year(raw: str, fmt: str) -> None:
    assert _column([raw], parsed_date("v", [fmt])) == [None]


# ------------------------------------------------------------------------------------------ parsed_money


money_like = st.builds(
    lambda neg, sign, dollars, comma, cents, space: (
        ("(" if neg else "")
        + sign
        + "$"
        + f"{dollars:,}".replace(",", comma)
        + cents
        + space
        + (")" if neg else "")
    ),
    st.booleans(),
    st.sampled_from(["", "-", "+"]),
    st.integers(0, 10**9),
    st.sampled_from([",", ""]),
    st.sampled_from(["", ".00", ".5", ".123"]),
    st.sampled_from(["", " ", "  "]),
)


@FAST
@given(
    values=st.lists(
        st.one_of(odd_text, money_like, st.sampled_from(["1e5", "12E3", "-000000000000", "1E310"])),
        max_size=20,
    )
)
def test_parsed_money_never_raises_and_is_finite_or_null(values: list[str | None]) -> None:
    out = _column(values, parsed_money("v"))
    for raw, got in zip(values, out, strict=True):
        assert got is None or (isinstance(got, float) and math.isfinite(got)), (raw, got)


@FAST
@given(dollars=st.integers(0, 10**10), cents=st.integers(0, 99), negative=st.booleans())
def test_parsed_money_reads_currency_strings(dollars: int, cents: int, negative: bool) -> None:
    text = f"${dollars:,}.{cents:02d}"
    value = dollars + cents / 100
    got = _column([f"({text})" if negative else text], parsed_money("v"))[0]
    assert got == pytest.approx(-value if negative else value)


@pytest.mark.parametrize("raw", ["inf", "Infinity", "NaN", "1e999", "-inf", "1E310"])
def test_parsed_money_is_null_for_non_finite_text(raw: str) -> None:
    assert _column([raw], parsed_money("v")) == [None]


plain_number = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.sampled_from(["1e5", "-1.5E3", "+7", ".5", "5.", "0", "-000000000000"]),
)


@FAST
@given(
    amounts=st.lists(st.one_of(plain_number, money_like, odd_text), max_size=20),
    rates=st.lists(
        st.one_of(plain_number, st.sampled_from(["5.5%", " 6 ", "1E400", "nan"]), odd_text), max_size=20
    ),
)
def test_canonical_numbers_equal_the_parsers_whichever_path_a_column_takes(
    amounts: list[str | None], rates: list[str | None]
) -> None:
    """canonical_records casts a money or decimal column whose values are all plain numbers and runs the full
    parser otherwise: either way, each value comes out as the parser reads it on its own."""
    height = max(len(amounts), len(rates))
    amounts, rates = amounts + [None] * (height - len(amounts)), rates + [None] * (height - len(rates))
    for column in (amounts, [a for a in amounts if a is None or re.fullmatch(r"[-+0-9.eE]+", a)]):
        column = column + [None] * (height - len(column))
        raw = pl.DataFrame(
            {"source_line": list(range(height)), "amt": column, "rate": rates},
            schema={"source_line": pl.Int64, "amt": pl.String, "rate": pl.String},
        )
        fields = {"record_id": "amt", "amount_due": "amt", "interest_rate": "rate"}
        out = canonical_records(raw, fields, ["record_id", "amount_due", "interest_rate"], [], ["%Y-%m-%d"])
        text = out["record_id"].to_list()  # the cleaned text of the same column
        assert out["amount_due"].to_list() == _column(text, parsed_money("v"))
        assert out["interest_rate"].to_list() == _column(
            out["interest_rate_raw"].to_list(), parsed_float("v")
        )


# ----------------------------------------------------------------------------------------------- normalize


apn_like = st.builds(
    lambda parts, sep, tail: sep.join(parts) + tail,
    st.lists(st.text("0123456789ABCDEFabcdef", min_size=1, max_size=6), min_size=1, max_size=4),
    st.sampled_from(["-", " ", ".", "", "/"]),
    st.sampled_from(["", ".0", ".00", " "]),
)


@FAST
@given(values=st.lists(st.one_of(odd_text, apn_like), max_size=20), digits=st.sampled_from([None, 9, 10, 13]))
def test_normalized_apn_is_upper_alphanumeric_and_idempotent(
    values: list[str | None], digits: int | None
) -> None:
    once = _column(values, normalized_apn("v", digits))
    assert all(v is None or re.fullmatch(r"[0-9A-Z]+", v) for v in once), once
    assert _column(once, normalized_apn("v", digits)) == once
    for raw, got in zip(values, once, strict=True):
        if got is not None and digits and got.isdigit():
            assert len(got) >= digits
        if raw is None:
            assert got is None


street_like = st.builds(
    lambda number, words, tail: f"{number} {' '.join(words)}{tail}",
    st.integers(1, 99999),
    st.lists(
        st.sampled_from(
            ["North", "n.", "Oak", "Street", "ST", "Avenue", "av", "Apt", "#4", "Suite", "O'Hara", "1/2"]
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["", ", Tampa FL 33602", ",", " "]),
)


@FAST
@given(values=st.lists(st.one_of(odd_text, street_like), max_size=20))
def test_normalized_street_never_raises_and_is_idempotent(values: list[str | None]) -> None:
    once = _column(values, normalized_street("v"))
    assert all(v is None or (re.fullmatch(r"[0-9A-Z#/ -]+", v) and v[0].isdigit()) for v in once), once
    assert _column(once, normalized_street("v")) == once


@FAST
@given(values=st.lists(odd_text, max_size=20))
def test_normalized_legal_never_raises_and_is_idempotent(values: list[str | None]) -> None:
    once = _column(values, normalized_legal("v"))
    assert all(v is None or (re.fullmatch(r"[0-9A-Z ]+", v) and len(v) >= 8) for v in once), once
    assert _column(once, normalized_legal("v")) == once


party_words = st.lists(
    st.sampled_from(
        [
            "DEUTSCHE",
            "Bank",
            "N.A.",
            "NA",
            "Co.",
            "INC",
            "LLC",
            "L.L.C.",
            "ET AL",
            "et-al",
            "the",
            "&",
            "SMITH",
            "J",
        ]
    ),
    min_size=1,
    max_size=6,
)
party_like = st.builds(
    lambda words, sep: sep.join(words), party_words, st.sampled_from([" ", ", ", ",", " - "])
)


@FAST
@given(values=st.lists(st.one_of(odd_text, party_like), max_size=20))
def test_normalized_party_never_raises(values: list[str | None]) -> None:
    out = _column(values, normalized_party("v"))
    assert all(v is None or (re.fullmatch(r"[0-9A-Z&]+( [0-9A-Z&]+)*", v)) for v in out), out


@FAST
@example(values=["SMITH ET-AL"])
@given(values=st.lists(party_like, max_size=10))
def test_normalized_party_is_idempotent(values: list[str]) -> None:
    once = _column(values, normalized_party("v"))
    assert _column(once, normalized_party("v")) == once


# ------------------------------------------------------------------------------------------- amortization


def _balance(principal: float, rate: float, term: int, paid: int) -> float:
    frame = pl.DataFrame({"p": [principal], "r": [rate], "n": [term], "k": [paid]})
    return frame.select(amortized_balance(pl.col("p"), pl.col("r"), pl.col("n"), pl.col("k"))).item()


@FAST
@given(
    principal=st.floats(1_000, 5_000_000),
    rate=st.floats(0, 20),
    more=st.floats(0.001, 10),
    term=st.sampled_from([120, 180, 240, 360, 480]),
    paid=st.integers(0, 600),
)
def test_balance_rises_with_the_rate(
    principal: float, rate: float, more: float, term: int, paid: int
) -> None:
    """A dearer loan pays down its principal more slowly (test_payoff.py covers bounds and time)."""
    assert (
        _balance(principal, rate + more, term, paid)
        >= _balance(principal, rate, term, paid) - 1e-6 * principal
    )


@FAST
@given(
    principal=st.floats(1_000, 5_000_000),
    factor=st.floats(1.0, 10.0),
    rate=st.floats(0, 20),
    term=st.sampled_from([120, 180, 240, 360, 480]),
    paid=st.integers(0, 600),
)
def test_balance_scales_with_the_principal(
    principal: float, factor: float, rate: float, term: int, paid: int
) -> None:
    small, big = _balance(principal, rate, term, paid), _balance(principal * factor, rate, term, paid)
    assert big >= small - 1e-6
    assert big == pytest.approx(small * factor, rel=1e-9, abs=1e-6)


@FAST
@given(
    principal=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()),
    rate=st.one_of(st.floats(-5, 100), st.none()),
    term=st.one_of(st.integers(-10, 1000), st.none()),
    paid=st.one_of(st.integers(-10, 2000), st.none()),
)
def test_amortization_never_raises_on_odd_inputs(
    principal: float | None, rate: float | None, term: int | None, paid: int | None
) -> None:
    frame = pl.DataFrame(
        {"p": [principal], "r": [rate], "n": [term], "k": [paid]},
        schema={"p": pl.Float64, "r": pl.Float64, "n": pl.Int64, "k": pl.Int64},
    )
    frame.select(amortized_balance(pl.col("p"), pl.col("r"), pl.col("n"), pl.col("k")))


# ------------------------------------------------------------------------------------------- read_delivery

READ_FORMATS = [
    FileFormat(type="delimited", delimiter=",", header=True),
    FileFormat(
        type="delimited",
        delimiter="|",
        header=False,
        quote_char=None,
        trailing_delimiter=True,
        columns=["a", "b", "c"],
    ),
    FileFormat(type="delimited", delimiter="\t", header=False, columns=["a", "b"], encoding="cp1252"),
    FileFormat(type="jsonl"),
    FileFormat(type="json", records_path="records"),
    FileFormat(type="json"),
    FileFormat(type="fixed_width", columns=["a", "b"], widths=[3, 5], encoding="latin-1"),
    FileFormat(type="delimited", delimiter=",", header=True, encoding="utf-8-sig"),
]

line_like = st.builds(
    lambda cells, sep, end: sep.join(cells) + end,
    st.lists(st.text(max_size=8), max_size=5),
    st.sampled_from([",", "|", "\t", '","']),
    st.sampled_from(["\n", "\r\n", "|\n", "", "\r"]),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5))
JSON_DOCS = st.one_of(  # two levels deep: records, lists of records, a document holding them
    json_scalars,
    st.lists(json_scalars, max_size=3),
    st.lists(st.dictionaries(st.text(max_size=4), json_scalars, max_size=3), max_size=3),
    st.dictionaries(
        st.sampled_from(["records", "data", "x"]),
        st.one_of(
            json_scalars, st.lists(st.dictionaries(st.text(max_size=4), json_scalars, max_size=3), max_size=3)
        ),
        max_size=2,
    ),
)
file_bytes = st.one_of(
    st.binary(max_size=400),
    st.lists(line_like, max_size=8).map(lambda lines: "".join(lines).encode("utf-8")),
    st.lists(line_like, max_size=8).map(lambda lines: "".join(lines).encode("utf-16")),
    JSON_DOCS.map(lambda doc: json.dumps(doc).encode("utf-8")),
)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="leads-props-") as folder:
        yield Path(folder)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=file_bytes, fmt=st.sampled_from(READ_FORMATS))
def test_read_delivery_raises_nothing_but_source_failed(scratch: Path, data: bytes, fmt: FileFormat) -> None:
    """Any bytes in any declared shape: records as text columns plus `source_line`, unreadable ones reported,
    or SourceFailed (one line) — never another exception."""
    path = scratch / "delivery.bin"
    path.write_bytes(data)
    try:
        delivery = read_delivery(path, fmt)
    except SourceFailed as exc:
        assert "\n" not in str(exc)
        return
    frame = delivery.frame
    assert "source_line" in frame.columns and frame.schema["source_line"] == pl.Int64
    assert all(t == pl.String for c, t in frame.schema.items() if c != "source_line")
    assert frame["source_line"].null_count() == 0
    assert all(u.line >= 1 and u.check for u in delivery.unreadable)


@pytest.mark.parametrize("data", [b"id,name\n1,a\rb", b"\n\r\x00", b"id,name\n1,\rb"])
def test_a_carriage_return_in_an_unterminated_last_line_is_no_crash(scratch: Path, data: bytes) -> None:
    path = scratch / "cr.csv"
    path.write_bytes(data)
    try:
        read_delivery(path, FileFormat(type="delimited", delimiter=",", header=True))
    except SourceFailed:
        pass


def test_an_empty_fixed_width_file_has_no_rows(scratch: Path) -> None:
    path = scratch / "empty.txt"
    path.write_bytes(b"")
    assert read_delivery(path, FileFormat(type="fixed_width", columns=["a"], widths=[3])).frame.height == 0


def test_a_quoted_multiline_last_record_without_a_final_newline_is_read(scratch: Path) -> None:
    path = scratch / "multiline.csv"
    path.write_bytes(b'id,name\n1,"SMITH, JOHN\nAND JANE"')
    delivery = read_delivery(path, FileFormat(type="delimited", delimiter=",", header=True))
    assert delivery.frame["name"].to_list() == ["SMITH, JOHN\nAND JANE"] and delivery.unreadable == []


@FAST
@given(name=st.text(max_size=40))
def test_a_safe_name_never_leaves_its_folder(name: str) -> None:
    if is_safe_name(name):
        assert "/" not in name and "\\" not in name and ".." not in name and not name.startswith(".")
        assert (Path("/landing/x") / name).resolve().parent == Path("/landing/x")
