"""Stage one source: read its landed files, canonicalize, validate, quarantine, and upsert by record key.

Two halves: `prepared_parts` does the CPU work without the database, one landed file at a time (so memory
follows the largest file, not the source, and the work can run in another process or on another machine: see
`prepared_source` and docs/scale-out.md); each part is then committed. A landed file is the unit of
atomicity: its staged rows, quarantine rows and manifest status commit in one transaction, so a crash leaves
each file either fully staged or untouched (and retried next run). `staged_source` does both in this process.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from leads import feeds
from leads.db import duckdb_arrow, ident, transaction, undone_after, unordered_inserts
from leads.errors import SourceFailed
from leads.landing import LandedFile
from leads.readers import RawDelivery, read_delivery
from leads.sources import SourceConfig
from leads.validation import unreadable_rows, validated
from schemas.inputs import MODELS
from schemas.vocabulary import FEED_FIELDS, FILING_FIELDS, Event
from transforms.canonical import canonical_records, raw_text_columns, with_companion, with_events
from transforms.matching import filing_match_keys, parcel_match_keys

# Staged table per source kind (identifiers come only from this allow-list, never from input).
STAGED_TABLES = {
    "filings": "staged_filings",
    "parcels": "staged_parcels",
    "valuations": "staged_valuations",
    "loans": "staged_loans",
    "liens": "staged_liens",
    "vacancy": "staged_vacancy",
    "suppression": "staged_suppression",
}


# A delivery with fewer than this share of the source's recent median rows is flagged (when that median is
# at least VOLUME_MIN_NORM rows: tiny daily files vary too much to judge).
VOLUME_WARN_RATIO = 0.2
VOLUME_MIN_NORM = 20


@dataclass
class StageResult:
    rows_in: int = 0
    rows_ignored: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_staged: int = 0
    quarantine_by_check: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rows_per_file: dict[str, int] = field(default_factory=dict)  # sha256 of each main file -> rows read


def _canonical_fields(config: SourceConfig) -> list[str]:
    return FILING_FIELDS if config.kind == "filings" else FEED_FIELDS[config.kind]


def _joined(
    config: SourceConfig, frame: pl.DataFrame, companions: list[LandedFile], data_dir: Path
) -> pl.DataFrame:
    """The main file's records with each configured companion file of the same delivery joined on."""
    for spec in config.joins:
        fmt = config.format.model_copy(update={"columns": spec.columns, "glob": spec.glob, "header": False})
        parts = []
        for landed in companions:
            if fnmatch.fnmatch(landed.file_name, spec.glob):
                try:
                    parts.append(read_delivery(data_dir / landed.raw_path, fmt).frame)
                except SourceFailed as exc:
                    raise SourceFailed(f"{landed.file_name}: {exc}") from None
        empty = pl.DataFrame(schema=dict.fromkeys(spec.columns, pl.String))
        rows = pl.concat(parts, how="diagonal_relaxed") if parts else empty
        frame = with_companion(
            frame, rows, spec.key, spec.on, spec.where, spec.order_by, spec.take, spec.prefix
        )
    return frame


@dataclass
class _FileRecords:
    """One landed main file read, canonicalized, validated and keyed (before the in-file dedupe)."""

    valid: pl.DataFrame
    quarantine: pl.DataFrame
    rows_in: int
    rows_ignored: int
    notes: list[str]  # warnings for the run report (unexpected columns)


def _file_records(
    config: SourceConfig, landed: LandedFile, data_dir: Path, companions: list[LandedFile]
) -> _FileRecords:
    """The valid canonical rows, quarantine rows and counts of one landed main file."""
    try:
        delivery = read_delivery(data_dir / landed.raw_path, config.format)
    except SourceFailed as exc:
        raise SourceFailed(f"{landed.file_name}: {exc}") from None
    if config.joins and not delivery.frame.is_empty():
        delivery = RawDelivery(_joined(config, delivery.frame, companions, data_dir), delivery.unreadable)
    notes = [] if delivery.frame.is_empty() else _extra_columns(config, landed, delivery.frame.columns)
    missing = sorted(set(config.raw_columns) - set(delivery.frame.columns))
    if missing and not delivery.frame.is_empty():
        raise SourceFailed(f"{landed.file_name}: schema drift: missing column(s) {missing}")
    quarantine = unreadable_rows(delivery.unreadable, config.source, landed.file_name)
    rows_in = delivery.frame.height + len(delivery.unreadable)
    if delivery.frame.is_empty():
        return _FileRecords(pl.DataFrame(), quarantine, rows_in, 0, notes)
    records = canonical_records(
        delivery.frame, config.fields, _canonical_fields(config), config.null_values, config.date_formats
    )
    ignored = 0
    if config.kind == "filings":
        records = with_events(records, config.events, config.default_event)
        # documents unrelated to foreclosure are counted, not staged
        ignored = records.filter(pl.col("event") == Event.IGNORE.value).height
        records = records.filter(pl.col("event").ne_missing(Event.IGNORE.value))
    checked = validated(records, MODELS[config.kind], delivery.frame, config.source, landed.file_name)
    del delivery, records  # the raw text is in the quarantine rows that need it: free it before keying
    provenance = [
        pl.lit(config.source).alias("source"),
        pl.lit(landed.file_name).alias("file"),
        pl.lit(landed.delivery_date).alias("delivery_date"),
    ]
    if config.county is not None:
        provenance += [
            pl.lit(config.county.fips).alias("county_fips"),
            pl.lit(config.county.state).alias("state"),
        ]
    # the raw text of parsed fields was kept for the quarantine reasons only: staged rows are typed
    valid = checked.valid.drop(raw_text_columns(checked.valid.columns)).with_columns(provenance)
    quarantine = pl.concat([quarantine, checked.quarantine])
    del checked
    # matching keys are computed once here, not every night over the whole history
    if config.kind == "filings":
        valid = filing_match_keys(valid, config.parcel_id.digits)
    elif config.kind == "parcels":
        valid = parcel_match_keys(valid)
    return _FileRecords(valid, quarantine, rows_in, ignored, notes)


def _expected_columns(config: SourceConfig) -> set[str]:
    joined = {f"{j.prefix}{c}" for j in config.joins for c in j.columns if c != j.key}
    return set(config.format.columns or config.raw_columns) | joined | {"source_line"}


def _extra_columns(config: SourceConfig, landed: LandedFile, columns: list[str]) -> list[str]:
    """The warning for columns beyond the contract (ignored), unless the source says `extra_columns: fail`
    (then the file fails) or `ignore`."""
    extra = sorted(set(columns) - _expected_columns(config))
    if extra and config.extra_columns == "fail":
        raise SourceFailed(f"{landed.file_name}: schema drift: unexpected column(s) {extra}")
    if extra and config.extra_columns == "warn":
        return [f"{landed.file_name}: unexpected column(s) {extra} (ignored)"]
    return []


def recent_median_rows(con: duckdb.DuckDBPyConnection, source: str) -> float | None:
    """The source's normal delivery size: median rows of its last 10 staged files."""
    rows = con.execute(
        "SELECT median(rows) FROM (SELECT rows FROM raw_manifest WHERE source = ? AND status = 'staged' "
        "AND rows IS NOT NULL ORDER BY delivery_date DESC, received_at DESC LIMIT 10)",
        [source],
    ).fetchall()
    return float(rows[0][0]) if rows and rows[0][0] is not None else None


def _latest_in_file(rows: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """One row per record key within one file: the later line wins (rows arrive in line order)."""
    # no repeated hash, so no repeated key (the common case): no copy. Counting the distinct hashes costs half
    # of marking the repeated ones on a 3.3M-row roll.
    if rows.select(pl.struct(key).hash().n_unique()).item() == rows.height:
        return rows
    return rows.unique(subset=key, keep="last", maintain_order=True)


def _key_hashes(rows: pl.DataFrame | str, key: list[str]) -> pl.DataFrame:
    """Two differently seeded 64-bit hashes of each row's record key (a 128-bit fingerprint: two different keys
    are taken for one only if both hashes collide), from a frame or the key columns of a Parquet file. Used to
    count keys repeated across a batch's files and to skip the key joins when none repeats."""
    keys = rows.select(key) if isinstance(rows, pl.DataFrame) else pl.read_parquet(rows, columns=key)
    struct = pl.struct(pl.col(key).cast(pl.String))
    return keys.select(struct.hash(seed=1).alias("h1"), struct.hash(seed=2).alias("h2"))


@contextmanager
def _exposed(con: duckdb.DuckDBPyConnection, name: str, rows: pl.DataFrame | str) -> Iterator[None]:
    """`rows` as a relation named `name` for the next statements: a frame (registered as Arrow), or a Parquet
    file that DuckDB reads itself (streamed under its memory limit, never loaded into Python)."""
    if isinstance(rows, str):
        con.read_parquet(rows).create_view(name)
        with undone_after(lambda: con.execute(f"DROP VIEW IF EXISTS {ident(name)}")):
            yield
    else:
        con.register(name, duckdb_arrow(rows))
        with undone_after(lambda: con.unregister(name)):
            yield


def _upsert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: pl.DataFrame | str,
    key: list[str],
    plain: bool = False,
) -> None:
    """Replace rows with the same record key; identifiers come from allow-lists (STAGED_TABLES, canonical
    field names checked by the config model) and pass `ident`; no value is ever formatted into SQL.
    `rows` is a frame or the path of a Parquet file of one. `plain`: the caller knows no staged row shares a
    key with `rows` (a source's first load), so they are inserted without the key joins."""
    target = ident(table)
    match = " AND ".join(f"s.{ident(k)} IS NOT DISTINCT FROM i.{ident(k)}" for k in key)
    with _exposed(con, "incoming", rows):
        con.execute(f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM incoming LIMIT 0")  # noqa: S608
        if plain:
            con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM incoming")  # noqa: S608
            return
        # a row from an older delivery never overwrites a newer one (late or out-of-order deliveries)
        con.execute(
            f"DELETE FROM {target} s USING incoming i WHERE s.source = i.source AND {match} "  # noqa: S608
            "AND i.delivery_date >= s.delivery_date"
        )
        con.execute(
            f"INSERT INTO {target} BY NAME SELECT * FROM incoming i WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {target} s WHERE s.source = i.source AND {match})"
        )


@dataclass
class FilePart:
    """One landed main file read, canonicalized, validated and keyed: its staged rows (one per record key,
    None when none is valid) and its quarantine rows (QUARANTINE_SCHEMA; the run id is added at commit)."""

    files: list[LandedFile]  # the main file and its delivery's companions: marked staged with it
    staged: pl.DataFrame | None
    quarantine: pl.DataFrame


def prepared_parts(
    config: SourceConfig,
    files: list[LandedFile],
    data_dir: Path,
    norm_rows: float | None,
    result: StageResult,
) -> Iterator[FilePart]:
    """The landed main files of one source, one at a time, oldest delivery first (no database: runs in any
    process that sees data/raw; one file's rows in memory at a time). Counts and warnings accumulate in
    `result` (rows_staged and rows_duplicate within each file; the commit adds those across files);
    `norm_rows` is the source's recent median delivery size. A part's frames are released when the next one
    is asked for. Raises SourceFailed to fail the source."""
    mains = sorted((f for f in files if f.role == "main"), key=lambda f: (f.delivery_date, f.file_name))

    def companions(landed: LandedFile) -> list[LandedFile]:
        return [f for f in files if f.role == "companion" and f.delivery_date == landed.delivery_date]

    for landed in mains:
        read = _file_records(config, landed, data_dir, companions(landed))
        valid, quarantine, rows_in, ignored = read.valid, read.quarantine, read.rows_in, read.rows_ignored
        result.warnings += read.notes
        del read
        if norm_rows is not None and norm_rows >= VOLUME_MIN_NORM and rows_in < VOLUME_WARN_RATIO * norm_rows:
            result.warnings.append(
                f"{landed.file_name}: {rows_in} rows, far below the recent median of {norm_rows:.0f} "
                "(shrunk delivery?)"
            )
        result.rows_per_file[landed.sha256] = rows_in
        result.rows_in += rows_in
        result.rows_ignored += ignored
        rejected = quarantine.select("file", "source_line").unique().height
        result.rows_quarantined += rejected
        considered = rows_in - ignored
        if considered and rejected / considered > config.reject_rate_max:
            raise SourceFailed(
                f"{landed.file_name}: {rejected} of {considered} rows rejected "
                f"({rejected / considered:.1%} > reject_rate_max {config.reject_rate_max:.1%})"
            )
        for check, count in quarantine.group_by("check_name").len().iter_rows():
            result.quarantine_by_check[check] = result.quarantine_by_check.get(check, 0) + count
        staged = None
        if not valid.is_empty():
            staged = _latest_in_file(valid, config.record_key)
            result.rows_duplicate += valid.height - staged.height
            result.rows_staged += staged.height
        del valid
        part = FilePart([landed, *companions(landed)], staged, quarantine)
        del staged, quarantine
        yield part
        # the consumer asks for the next file once it has written this one: free its rows before reading on
        # (whatever still refers to the part, e.g. a consumer's loop variable)
        part.staged = None
        part.quarantine = pl.DataFrame()
        del part


@dataclass(frozen=True)
class PartFiles:
    """A FilePart written to Parquet: what crosses a process or machine boundary (paths, never frames)."""

    files: list[LandedFile]
    staged_path: str | None
    quarantine_path: str | None


@dataclass(frozen=True)
class PreparedFiles:
    """One source prepared on a worker: its counts and warnings, each file's Parquet parts in order, and the
    one-line reason when a file failed its checks (the parts before it are kept, as in-process)."""

    result: StageResult
    parts: list[PartFiles] | list[FilePart]
    failure: str | None = None


def prepared_source(
    config: SourceConfig, files: list[LandedFile], data_dir: Path, norm_rows: float | None, folder: Path
) -> PreparedFiles:
    """Prepare one source's landed files into Parquet parts under `folder` (a scratch folder of this run),
    for `commit_prepared` in the process that owns the state database."""
    folder.mkdir(parents=True, exist_ok=True)
    result = StageResult()
    parts = []
    try:
        # lz4: scratch files live minutes; half zstd's write time for a somewhat larger file
        for number, part in enumerate(prepared_parts(config, files, data_dir, norm_rows, result)):
            staged_path = quarantine_path = None
            if part.staged is not None:
                staged_path = str(folder / f"staged-{number:04d}.parquet")
                part.staged.write_parquet(staged_path, compression="lz4")
            if not part.quarantine.is_empty():
                quarantine_path = str(folder / f"quarantine-{number:04d}.parquet")
                part.quarantine.write_parquet(quarantine_path, compression="lz4")
            parts.append(PartFiles(part.files, staged_path, quarantine_path))
    except SourceFailed as exc:
        return PreparedFiles(result, parts, str(exc))
    return PreparedFiles(result, parts)


def prepared_in_memory(
    config: SourceConfig, files: list[LandedFile], data_dir: Path, norm_rows: float | None
) -> PreparedFiles:
    """Prepare one source's landed files in this process and keep the parts in memory, for `commit_prepared`
    later in the run (no database: safe on a side thread). For small sources only: every file's rows are
    held until the commit."""
    result = StageResult()
    parts: list[FilePart] = []
    try:
        for part in prepared_parts(config, files, data_dir, norm_rows, result):
            # a copy: the generator empties the part it yielded once the next one is asked for
            parts.append(FilePart(part.files, part.staged, part.quarantine))
    except SourceFailed as exc:
        return PreparedFiles(result, parts, str(exc))
    return PreparedFiles(result, parts)


@dataclass
class _Batch:
    """What the commit of one source's parts knows about the parts committed before it in this run."""

    first_load: bool  # the staged table held no row of this source when the batch began (filings)
    root: Path | None  # the feeds folder, for a feed (see leads.feeds)
    key_hashes: pl.DataFrame | None = None  # of every part written so far (see _key_hashes)
    files_committed: int = 0


def _commit_part(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    part: FilePart | PartFiles,
    run_id: str,
    batch: _Batch,
    result: StageResult,
) -> None:
    """Write one landed file in one transaction: its staged rows (upserted by record key; a feed's new
    resolved files, written just before, are listed), its quarantine rows and its manifest status. A record
    key that an earlier file of the batch also carried is a duplicate (the later file wins, as it would in one
    sorted frame)."""
    if isinstance(part, PartFiles):
        staged, quarantine = part.staged_path, part.quarantine_path
    else:
        staged = part.staged
        quarantine = None if part.quarantine.is_empty() else part.quarantine
    hashes = None if staged is None else _key_hashes(staged, config.record_key)
    repeated = 0
    if hashes is not None and batch.key_hashes is not None:
        repeated = hashes.join(batch.key_hashes, on=["h1", "h2"], how="semi").height
    feed_files: list[feeds.FeedFile] = []
    if staged is not None and config.kind in feeds.FEED_TABLES:
        # a feed's new resolved files are written first, under new names, and listed by the commit below
        with _exposed(con, "incoming", staged):
            frame = staged if isinstance(staged, pl.DataFrame) else None
            feed_files = feeds.written_files(
                con, config.kind, config.source, frame, config.record_key, batch.root
            )
    try:
        with unordered_inserts(con), transaction(con):
            if staged is not None and config.kind not in feeds.FEED_TABLES:
                # equal keys hash equal: no repeated hash means no repeated key, and the key joins can be skipped
                plain = batch.first_load and not repeated
                _upsert(con, STAGED_TABLES[config.kind], staged, config.record_key, plain=plain)
            feeds.recorded(con, feed_files)
            if quarantine is not None:
                with _exposed(con, "q", quarantine):
                    con.execute("INSERT INTO quarantine BY NAME SELECT *, ? AS run_id FROM q", [run_id])
            _mark_staged(con, part.files, result)
    except BaseException:
        if feed_files:
            feeds.discarded_unless_listed(con, batch.root, feed_files)
        raise
    if feed_files:
        feeds.released(batch.root, feed_files)
        feeds.create_views(con, batch.root)
    result.rows_duplicate += repeated
    result.rows_staged -= repeated
    if hashes is not None:
        batch.key_hashes = hashes if batch.key_hashes is None else pl.concat([batch.key_hashes, hashes])
    batch.files_committed += 1


def _source_has_rows(con: duckdb.DuckDBPyConnection, config: SourceConfig) -> bool:
    table = ident(STAGED_TABLES[config.kind])
    rows = con.execute(f"SELECT 1 FROM {table} WHERE source = ? LIMIT 1", [config.source]).fetchall()  # noqa: S608
    return bool(rows)


def _mark_staged(con: duckdb.DuckDBPyConnection, files: list[LandedFile], result: StageResult) -> None:
    for landed in files:
        con.execute(
            "UPDATE raw_manifest SET status = 'staged', rows = ?, message = NULL WHERE source = ? AND sha256 = ?",
            [result.rows_per_file.get(landed.sha256), landed.source, landed.sha256],
        )


def _sorted_counts(result: StageResult) -> StageResult:
    result.quarantine_by_check = dict(sorted(result.quarantine_by_check.items()))
    return result


def _committed_parts(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    parts: Iterable[FilePart | PartFiles],
    run_id: str,
    result: StageResult,
    failure: str | None = None,
) -> StageResult:
    """Commit each part in order; `failure`: a file after the last part failed its checks (from a worker)."""
    if config.kind in feeds.FEED_TABLES:
        batch = _Batch(first_load=False, root=feeds.feeds_root(con))
    else:
        batch = _Batch(first_load=not _source_has_rows(con, config), root=None)
    try:
        for part in parts:
            _commit_part(con, config, part, run_id, batch, result)
            del part  # free this file's rows before the next one is taken
        if failure is not None:
            raise SourceFailed(failure)
    except SourceFailed as exc:
        if batch.files_committed:
            raise SourceFailed(f"{exc} (the {batch.files_committed} file(s) before it were staged)") from None
        raise
    return _sorted_counts(result)


def commit_prepared(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    prepared: PreparedFiles,
    run_id: str,
) -> StageResult:
    """Commit the parts prepared elsewhere, one landed file per transaction (as `staged_source`): by a worker
    as Parquet (DuckDB reads the parts directly; the rows never enter this process as frames) or on a side
    thread in memory. Raises SourceFailed, after committing the parts before it, when a file failed its
    checks."""
    return _committed_parts(con, config, _drained(prepared.parts), run_id, prepared.result, prepared.failure)


def _drained(parts: list[PartFiles] | list[FilePart]) -> Iterator[PartFiles | FilePart]:
    """The parts in order, each removed from the list as it is taken (a part held in memory is freed once
    committed, not when the whole source is)."""
    while parts:
        yield parts.pop(0)


def staged_source(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    files: list[LandedFile],
    data_dir: Path,
    run_id: str,
) -> StageResult:
    """Stage the landed files of one source, one file at a time: each file's rows, quarantine rows and
    manifest status commit together (DuckDB holds a transaction's new rows in memory until COMMIT, so one
    transaction per source would hold a whole bulk load). Raises SourceFailed to fail the source: the failing
    file and those after it stay in raw, marked failed, and are retried next run."""
    if not files:
        return StageResult()
    result = StageResult()
    parts = prepared_parts(config, files, data_dir, recent_median_rows(con, config.source), result)
    return _committed_parts(con, config, parts, run_id, result)


def mark_failed(con: duckdb.DuckDBPyConnection, files: list[LandedFile], message: str) -> None:
    """Landed files of a failed source stay in raw and are retried next run (files it staged before the
    failing one stay staged)."""
    for landed in files:
        con.execute(
            "UPDATE raw_manifest SET status = 'failed', message = ? "
            "WHERE source = ? AND sha256 = ? AND status <> 'staged'",
            [message, landed.source, landed.sha256],
        )
