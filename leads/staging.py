"""Stage one source: read its landed files, canonicalize, validate, quarantine, and upsert by record key.

Two halves: `prepared_source` does the CPU work without the database (so it can run in another process or
on another machine, see docs/scale-out.md), `commit_prepared` writes the result. All of a source's changes
(staged rows, quarantine rows, manifest statuses) commit in one transaction, so a crash leaves the source
either fully staged for this run or untouched. `staged_source` does both in this process.
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from leads.db import ident
from leads.errors import SourceFailed
from leads.landing import LandedFile
from leads.readers import RawDelivery, read_delivery
from leads.sources import SourceConfig
from leads.validation import QUARANTINE_SCHEMA, unreadable_rows, validated
from schemas.inputs import MODELS
from schemas.vocabulary import FEED_FIELDS, FILING_FIELDS, Event
from transforms.canonical import canonical_records, with_companion, with_events
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


def _file_records(
    config: SourceConfig, landed: LandedFile, data_dir: Path, companions: list[LandedFile]
) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    """(valid canonical rows, quarantine rows, rows read, rows ignored) for one landed main file."""
    try:
        delivery = read_delivery(data_dir / landed.raw_path, config.format)
    except SourceFailed as exc:
        raise SourceFailed(f"{landed.file_name}: {exc}") from None
    if config.joins and not delivery.frame.is_empty():
        delivery = RawDelivery(_joined(config, delivery.frame, companions, data_dir), delivery.unreadable)
    if not delivery.frame.is_empty():
        _check_extra_columns(config, landed, delivery.frame.columns)
    missing = sorted(set(config.raw_columns) - set(delivery.frame.columns))
    if missing and not delivery.frame.is_empty():
        raise SourceFailed(f"{landed.file_name}: schema drift: missing column(s) {missing}")
    quarantine = unreadable_rows(delivery.unreadable, config.source, landed.file_name)
    rows_in = delivery.frame.height + len(delivery.unreadable)
    if delivery.frame.is_empty():
        return pl.DataFrame(), quarantine, rows_in, 0
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
    valid = checked.valid.with_columns(provenance)
    # matching keys are computed once here, not every night over the whole history
    if config.kind == "filings":
        valid = filing_match_keys(valid, config.parcel_id.digits)
    elif config.kind == "parcels":
        valid = parcel_match_keys(valid)
    return valid, pl.concat([quarantine, checked.quarantine]), rows_in, ignored


class ExtraColumns(Warning):
    """Columns beyond the contract; a warning unless the source says `extra_columns: fail`."""


def _expected_columns(config: SourceConfig) -> set[str]:
    joined = {f"{j.prefix}{c}" for j in config.joins for c in j.columns if c != j.key}
    return set(config.format.columns or config.raw_columns) | joined | {"source_line"}


def _check_extra_columns(config: SourceConfig, landed: LandedFile, columns: list[str]) -> None:
    extra = sorted(set(columns) - _expected_columns(config))
    if extra and config.extra_columns == "fail":
        raise SourceFailed(f"{landed.file_name}: schema drift: unexpected column(s) {extra}")
    if extra and config.extra_columns == "warn":
        warnings.warn(
            f"{landed.file_name}: unexpected column(s) {extra} (ignored)", ExtraColumns, stacklevel=2
        )


def recent_median_rows(con: duckdb.DuckDBPyConnection, source: str) -> float | None:
    """The source's normal delivery size: median rows of its last 10 staged files."""
    rows = con.execute(
        "SELECT median(rows) FROM (SELECT rows FROM raw_manifest WHERE source = ? AND status = 'staged' "
        "AND rows IS NOT NULL ORDER BY delivery_date DESC, received_at DESC LIMIT 10)",
        [source],
    ).fetchall()
    return float(rows[0][0]) if rows and rows[0][0] is not None else None


def _latest_per_key(rows: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """One row per record key: the latest delivery wins, then the later file, then the later line."""
    return rows.sort(["delivery_date", "file", "source_line"]).unique(
        subset=key, keep="last", maintain_order=True
    )


@contextmanager
def _exposed(con: duckdb.DuckDBPyConnection, name: str, rows: pl.DataFrame | str) -> Iterator[None]:
    """`rows` as a relation named `name` for the next statements: a frame (registered as Arrow), or a Parquet
    file that DuckDB reads itself (streamed under its memory limit, never loaded into Python)."""
    if isinstance(rows, str):
        con.read_parquet(rows).create_view(name)
        try:
            yield
        finally:
            con.execute(f"DROP VIEW IF EXISTS {ident(name)}")
    else:
        con.register(name, rows.to_arrow())
        try:
            yield
        finally:
            con.unregister(name)


def _upsert(con: duckdb.DuckDBPyConnection, table: str, rows: pl.DataFrame | str, key: list[str]) -> None:
    """Replace rows with the same record key; identifiers come from allow-lists (STAGED_TABLES, canonical
    field names checked by the config model) and pass `ident`; no value is ever formatted into SQL.
    `rows` is a frame or the path of a Parquet file of one."""
    target = ident(table)
    match = " AND ".join(f"s.{ident(k)} IS NOT DISTINCT FROM i.{ident(k)}" for k in key)
    with _exposed(con, "incoming", rows):
        con.execute(f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM incoming LIMIT 0")  # noqa: S608
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
class PreparedSource:
    """One source's landed files read, canonicalized, validated and keyed, without the database.

    `staged` has one row per record key (the latest delivery wins) or is None when nothing is valid;
    `quarantine` has QUARANTINE_SCHEMA rows (the run id is added at commit). `result` already carries every
    count (rows_staged and rows_duplicate included) and the warnings.
    """

    result: StageResult
    rows_per_file: dict[str, int]  # sha256 of each main file -> rows read (the manifest's `rows`)
    staged: pl.DataFrame | None
    quarantine: pl.DataFrame


@dataclass(frozen=True)
class PreparedFiles:
    """A PreparedSource written to Parquet: what crosses a process or machine boundary (paths and counts,
    never frames)."""

    result: StageResult
    rows_per_file: dict[str, int]
    staged_path: str | None
    quarantine_path: str | None


def prepared_source(
    config: SourceConfig, files: list[LandedFile], data_dir: Path, norm_rows: float | None
) -> PreparedSource:
    """Read and check the landed files of one source (no database: runs in any process that sees
    data/raw); `norm_rows` is the source's recent median delivery size. Raises SourceFailed to fail it."""
    result = StageResult()
    valid_parts: list[pl.DataFrame] = []
    quarantine_parts: list[pl.DataFrame] = []
    rows_per_file: dict[str, int] = {}
    for landed in [f for f in files if f.role == "main"]:
        companions = [f for f in files if f.role == "companion" and f.delivery_date == landed.delivery_date]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExtraColumns)
            valid, quarantine, rows_in, ignored = _file_records(config, landed, data_dir, companions)
        result.warnings += [str(w.message) for w in caught if issubclass(w.category, ExtraColumns)]
        if norm_rows is not None and norm_rows >= VOLUME_MIN_NORM and rows_in < VOLUME_WARN_RATIO * norm_rows:
            result.warnings.append(
                f"{landed.file_name}: {rows_in} rows, far below the recent median of {norm_rows:.0f} "
                "(shrunk delivery?)"
            )
        rows_per_file[landed.sha256] = rows_in
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
        if not valid.is_empty():
            valid_parts.append(valid)
        quarantine_parts.append(quarantine)
    quarantined = pl.concat(quarantine_parts) if quarantine_parts else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    result.quarantine_by_check = dict(quarantined.group_by("check_name").len().sort("check_name").iter_rows())
    latest = None
    if valid_parts:
        rows = pl.concat(valid_parts, how="diagonal_relaxed")
        latest = _latest_per_key(rows, config.record_key)
        result.rows_duplicate = rows.height - latest.height
        result.rows_staged = latest.height
    return PreparedSource(result, rows_per_file, latest, quarantined)


def write_prepared(prepared: PreparedSource, folder: Path) -> PreparedFiles:
    """Write a prepared source's frames as Parquet into `folder` (a scratch folder of this run)."""
    folder.mkdir(parents=True, exist_ok=True)
    staged_path = quarantine_path = None
    # lz4: scratch files live minutes; half zstd's write time for a somewhat larger file
    if prepared.staged is not None:
        staged_path = str(folder / "staged.parquet")
        prepared.staged.write_parquet(staged_path, compression="lz4")
    if not prepared.quarantine.is_empty():
        quarantine_path = str(folder / "quarantine.parquet")
        prepared.quarantine.write_parquet(quarantine_path, compression="lz4")
    return PreparedFiles(prepared.result, prepared.rows_per_file, staged_path, quarantine_path)


def commit_prepared(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    files: list[LandedFile],
    prepared: PreparedSource | PreparedFiles,
    run_id: str,
) -> StageResult:
    """Upsert the staged rows, add the quarantine rows and mark the files staged, in one transaction.
    From a PreparedFiles, DuckDB reads the Parquet files directly (the frames never enter this process)."""
    if isinstance(prepared, PreparedFiles):
        staged, quarantine = prepared.staged_path, prepared.quarantine_path
    else:
        staged = prepared.staged
        quarantine = None if prepared.quarantine.is_empty() else prepared.quarantine
    con.execute("BEGIN TRANSACTION")
    try:
        if staged is not None:
            _upsert(con, STAGED_TABLES[config.kind], staged, config.record_key)
        if quarantine is not None:
            with _exposed(con, "q", quarantine):
                con.execute("INSERT INTO quarantine BY NAME SELECT *, ? AS run_id FROM q", [run_id])
        for landed in files:
            con.execute(
                "UPDATE raw_manifest SET status = 'staged', rows = ?, message = NULL WHERE source = ? AND sha256 = ?",
                [prepared.rows_per_file.get(landed.sha256), landed.source, landed.sha256],
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return prepared.result


def staged_source(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    files: list[LandedFile],
    data_dir: Path,
    run_id: str,
) -> StageResult:
    """Stage the landed files of one source in one transaction; raise SourceFailed to fail it cleanly."""
    if not files:
        return StageResult()
    prepared = prepared_source(config, files, data_dir, recent_median_rows(con, config.source))
    return commit_prepared(con, config, files, prepared, run_id)


def mark_failed(con: duckdb.DuckDBPyConnection, files: list[LandedFile], message: str) -> None:
    """Landed files of a failed source stay in raw and are retried next run."""
    for landed in files:
        con.execute(
            "UPDATE raw_manifest SET status = 'failed', message = ? WHERE source = ? AND sha256 = ?",
            [message, landed.source, landed.sha256],
        )
