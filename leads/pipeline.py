"""The steps of the nightly refresh as plain functions (I/O + transform calls); flows/ wraps them as tasks.

Working state lives in data/state/pipeline.duckdb. Each step reads tables, calls pure transforms, and writes
tables; nothing here touches the published file except `publish`.
"""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import Executor, Future
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from leads import feeds
from leads.connectors import connector_token, fetched_delivery
from leads.db import ident, registered, transaction
from leads.errors import SourceFailed
from leads.landing import LandedFile, Receiver, files_to_receive, landed_deliveries
from leads.settings import Settings
from leads.sources import HttpJsonConnector, SourceConfig
from leads.staging import (
    STAGED_TABLES,
    PreparedFiles,
    StageResult,
    commit_prepared,
    mark_failed,
    prepared_in_memory,
    recent_median_rows,
    staged_source,
)
from schemas.inputs import MODELS
from schemas.vocabulary import FEED_FIELDS, FILING_FIELDS
from transforms.canonical import canonical_records, raw_text_columns
from transforms.changes import TRACKED, lead_events, lead_history_rows


@dataclass
class SourceOutcome:
    source: str
    kind: str
    status: str  # ok | no_new_files | failed
    message: str | None = None
    files_landed: int = 0
    files_skipped: int = 0
    rows_in: int = 0
    rows_ignored: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_staged: int = 0
    last_delivery_date: dt.date | None = None
    freshness_days: int | None = None
    warnings: list[str] = field(default_factory=list)
    quarantine_by_check: dict[str, int] = field(default_factory=dict)


def new_run_id(as_of: dt.date, started_at: dt.datetime) -> str:
    return f"{as_of:%Y%m%d}-{started_at:%Y%m%dT%H%M%S%f}"


def reconcile_unfinished_runs(con: duckdb.DuckDBPyConnection, published_db: Path | None) -> list[str]:
    """Runs left `running` / `publishing` by a crash: `published` / `partial` when the published file holds them
    (the crash came after the swap), else `interrupted`. Called under the refresh lock. Returns their ids."""
    unfinished = [
        r[0]
        for r in con.execute(
            "SELECT run_id FROM runs WHERE status IN ('running', 'publishing') ORDER BY started_at"
        ).fetchall()
    ]
    if not unfinished:
        return []
    landed: dict[str, str] = {}
    if published_db is not None and published_db.exists():
        reader = duckdb.connect(str(published_db), read_only=True)
        try:
            landed = dict(reader.execute("SELECT run_id, status FROM runs").fetchall())
        finally:
            reader.close()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for run_id in unfinished:
        status = landed.get(run_id) if landed.get(run_id) in ("published", "partial") else "interrupted"
        con.execute(
            "UPDATE runs SET status = ?, finished_at = coalesce(finished_at, ?), "
            "message = coalesce(message, 'the run stopped before it finished (killed or crashed)') WHERE run_id = ?",
            [status, now, run_id],
        )
    return unfinished


def start_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    as_of: dt.date,
    started_at: dt.datetime,
    published_db: Path | None = None,
) -> None:
    reconcile_unfinished_runs(con, published_db)
    con.execute(
        "INSERT INTO runs (run_id, as_of, started_at, status) VALUES (?, ?, ?, 'running')",
        [run_id, as_of, started_at],
    )


def ensure_staged_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every staged table (empty) so joins work before a feed has ever delivered: the filings' DuckDB
    table, and each feed's schema file and view (leads.feeds). Feed files a killed run left unlisted go."""
    schemas = {}
    for kind, table in STAGED_TABLES.items():
        fields = FILING_FIELDS if kind == "filings" else FEED_FIELDS[kind]
        empty = canonical_records(
            pl.DataFrame(
                {"source_line": [], **{f: [] for f in fields}},
                schema={"source_line": pl.Int64, **{f: pl.String for f in fields}},
            ),
            {f: f for f in fields},
            fields,
            [],
            ["%Y-%m-%d"],
        )
        extra = [
            pl.lit(None, dtype=pl.String).alias("source"),
            pl.lit(None, dtype=pl.String).alias("file"),
            pl.lit(None, dtype=pl.Date).alias("delivery_date"),
        ]
        if kind == "filings":
            extra += [
                pl.lit(None, dtype=pl.String).alias(c)
                for c in ("event", "county_fips", "state", "apn_key", "legal_key", "street_key")
            ]
        if kind == "parcels":
            extra += [
                pl.lit(None, dtype=pl.String).alias(c)
                for c in ("apn_key", "legal_key", "street_key", "mailing_key")
            ]
        frame = empty.with_columns(extra)
        assert set(MODELS[kind].to_schema().columns) <= set(frame.columns)
        frame = frame.drop(raw_text_columns(frame.columns))  # validated, then typed only (see staging)
        if kind in feeds.FEED_TABLES:
            schemas[kind] = frame
            continue
        con.register("empty_frame", frame.to_arrow())
        con.execute(f"CREATE TABLE IF NOT EXISTS {ident(table)} AS SELECT * FROM empty_frame LIMIT 0")  # noqa: S608
        con.unregister("empty_frame")
    root = feeds.feeds_root(con)
    feeds.written_schema_files(root, schemas)
    feeds.removed_orphans(con, root)
    feeds.create_views(con, root)


def load_reference(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Reference data committed with the project: mortgage rates, state rules, price index."""
    ref = settings.reference_dir
    tables = {
        "ref_pmms": pl.read_csv(ref / "pmms_30y_weekly.csv", try_parse_dates=True),
        "ref_state_rules": pl.read_csv(ref / "state_rules.csv", infer_schema_length=None),
        "ref_zhvi": pl.read_csv(
            ref / "zhvi_county_monthly.csv", schema_overrides={"county_fips": pl.String}, try_parse_dates=True
        ),
        "ref_assessment": pl.read_csv(ref / "assessment_ratios.csv", infer_schema_length=None),
    }
    for name, frame in tables.items():
        con.register("ref_frame", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE {ident(name)} AS SELECT * FROM ref_frame")  # noqa: S608
        con.unregister("ref_frame")


def landed_source(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    settings: Settings,
    as_of: dt.date,
    run_id: str,
    received_at: dt.datetime,
    receiver: Receiver | None = None,
) -> tuple[SourceOutcome, list[LandedFile]]:
    """Fetch (HTTP sources) and land one source; the files to stage come back only when the outcome is `ok`
    (a failed fetch or no new delivery is already a final outcome). `receiver`: copies made ahead."""
    outcome = SourceOutcome(config.source, config.kind, "ok")
    if isinstance(config.connector, HttpJsonConnector):
        try:
            fetched_delivery(config, settings.landing, as_of, connector_token(config))
        except SourceFailed as exc:
            outcome.status = "failed"
            outcome.message = str(exc)
            return outcome, []
    landing = landed_deliveries(
        con, config, settings.landing, settings.data_dir, as_of, run_id, received_at, receiver
    )
    outcome.files_landed = sum(1 for f in landing.files if f.role == "main")
    outcome.files_skipped = landing.skipped
    outcome.last_delivery_date = landing.last_delivery_date
    if landing.refused:
        outcome.warnings.append(
            f"{len(landing.refused)} unsafe or unexpected name(s) refused in the landing folder"
        )
    if landing.last_delivery_date is not None:
        outcome.freshness_days = (as_of - landing.last_delivery_date).days
        if outcome.freshness_days > config.freshness_days:
            outcome.warnings.append(
                f"stale: last delivery {outcome.freshness_days} days ago (SLA {config.freshness_days} days)"
            )
    else:
        outcome.warnings.append("no delivery has ever arrived")
    if not landing.files:
        outcome.status = "no_new_files"
        return outcome, []
    return outcome, landing.files


def receive_ahead(
    con: duckdb.DuckDBPyConnection,
    configs: list[SourceConfig],
    settings: Settings,
    as_of: dt.date,
    receiver: Receiver,
) -> int:
    """Queue the copy into raw of every new delivery file of these sources, in the order they will land (the
    copies are disk work; they run while the sources before stage). Returns the number of files queued.

    Best effort: a source whose folder cannot be listed now is left to its landing (which reports it). Left
    out: HTTP sources (their delivery is fetched when they land) and a rebuild from data/raw (each copy
    would be a throwaway duplicate of a raw file, all of them on disk at once)."""
    if settings.landing.resolve().is_relative_to(settings.raw_dir.resolve()):
        return 0
    queued = 0
    for config in configs:
        if isinstance(config.connector, HttpJsonConnector):
            continue
        try:
            files = files_to_receive(con, config, settings.landing, settings.data_dir, as_of)
        except OSError:
            continue
        for path, folder in files:
            receiver.ahead(path, folder)
            queued += 1
    return queued


def source_failed(
    con: duckdb.DuckDBPyConnection, outcome: SourceOutcome, files: list[LandedFile], message: str
) -> SourceOutcome:
    """A source whose staging failed: its landed files are marked failed (retried next run)."""
    mark_failed(con, files, message)
    outcome.status = "failed"
    outcome.message = message
    return outcome


def source_staged(outcome: SourceOutcome, staged: StageResult) -> SourceOutcome:
    """The outcome of a landed source with its staging counts and warnings."""
    outcome.rows_in = staged.rows_in
    outcome.rows_ignored = staged.rows_ignored
    outcome.rows_quarantined = staged.rows_quarantined
    outcome.rows_duplicate = staged.rows_duplicate
    outcome.rows_staged = staged.rows_staged
    outcome.quarantine_by_check = staged.quarantine_by_check
    outcome.warnings += staged.warnings
    return outcome


def run_source(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    settings: Settings,
    as_of: dt.date,
    run_id: str,
    received_at: dt.datetime,
    receiver: Receiver | None = None,
) -> SourceOutcome:
    """Land and stage one source; a failure is recorded on the outcome, never raised to the other sources.

    (flows/scale_out.py runs the same steps with the staging split: landing and the commit here, the
    database-free `prepared_source` on a Dask worker.)"""
    outcome, files = landed_source(con, config, settings, as_of, run_id, received_at, receiver)
    if outcome.status != "ok":
        return outcome
    try:
        staged = staged_source(con, config, files, settings.data_dir, run_id)
    except SourceFailed as exc:
        return source_failed(con, outcome, files, str(exc))
    return source_staged(outcome, staged)


def sources_ahead(configs: list[SourceConfig]) -> list[SourceConfig]:
    """The sources landed first and prepared on a side thread while the others stage: the filing sources.
    A filing delivery is small but its addresses are parsed in Python (usaddress: one core), while a feed
    (parcel roll, loans, valuations) keeps Polars and DuckDB busy on both cores; side by side the parsing
    takes up the core the feeds leave idle (state tier full refresh ~108 -> ~104 s, bench/README.md)."""
    return [c for c in configs if c.kind == "filings"]


def landing_order(configs: list[SourceConfig]) -> list[SourceConfig]:
    """The order the sources land in (and their files are copied into raw ahead): the sources prepared ahead
    first, then the others in config order."""
    early = sources_ahead(configs)
    return early + [c for c in configs if c not in early]


@dataclass
class Ahead:
    """A source landed before its turn to stage, with its preparation running on a side thread (None: the
    landing outcome is final: no new delivery, or a failed fetch)."""

    outcome: SourceOutcome
    files: list[LandedFile]
    prepared: Future[PreparedFiles] | None
    committing: bool = False  # set by the first commit: a retry stages from the landing instead


def landed_ahead(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    settings: Settings,
    as_of: dt.date,
    run_id: str,
    received_at: dt.datetime,
    side: Executor,
    receiver: Receiver | None = None,
) -> Ahead:
    """Land one source now and hand its preparation (read, validate, key: no database) to `side`."""
    outcome, files = landed_source(con, config, settings, as_of, run_id, received_at, receiver)
    if outcome.status != "ok":
        return Ahead(outcome, files, None)
    norm_rows = recent_median_rows(con, config.source)
    return Ahead(outcome, files, side.submit(prepared_in_memory, config, files, settings.data_dir, norm_rows))


def staged_ahead(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    settings: Settings,
    as_of: dt.date,
    run_id: str,
    received_at: dt.datetime,
    ahead: Ahead,
) -> SourceOutcome:
    """Commit a source landed ahead once its preparation is done; a failure is recorded on the outcome, as
    in `run_source` (an unexpected error of the preparation is raised here). Called again for the same
    source (a retried task), it lands and stages from scratch: the files the first try committed are skipped
    as staged, where a second commit of the prepared parts would add their quarantine rows twice."""
    if ahead.committing:
        return run_source(con, config, settings, as_of, run_id, received_at)
    ahead.committing = True
    if ahead.prepared is None:
        return ahead.outcome
    prepared = ahead.prepared.result()
    ahead.prepared = None  # nothing else holds the rows: each part is freed once committed (commit_prepared)
    try:
        staged = commit_prepared(con, config, prepared, run_id)
    except SourceFailed as exc:
        return source_failed(con, ahead.outcome, ahead.files, str(exc))
    return source_staged(ahead.outcome, staged)


def record_source(con: duckdb.DuckDBPyConnection, run_id: str, outcome: SourceOutcome) -> None:
    con.execute(
        "INSERT INTO run_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            outcome.source,
            outcome.kind,
            outcome.status,
            outcome.message,
            outcome.files_landed,
            outcome.files_skipped,
            outcome.rows_in,
            outcome.rows_ignored,
            outcome.rows_quarantined,
            outcome.rows_duplicate,
            outcome.rows_staged,
            outcome.last_delivery_date,
            outcome.freshness_days,
            json.dumps(outcome.warnings),
            json.dumps(outcome.quarantine_by_check, sort_keys=True),
        ],
    )


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    with registered(con, frame_in=frame), transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE {ident(table)} AS SELECT * FROM frame_in")  # noqa: S608


def build_changes(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date) -> dict[str, int]:
    """History rows and change-feed events of this run against the last published snapshot."""
    # only tonight's scored leads can differ from their published row (lead_tables: the others are carried),
    # and only the compared columns cross into Polars (the leads tables are wide)
    compared = ", ".join(ident(c) for c in ["lead_id", *TRACKED])
    previous = con.sql(
        f"SELECT {compared} FROM published_leads WHERE lead_id IN (SELECT lead_id FROM candidate_rows)"  # noqa: S608
    ).pl()
    current = con.sql(f"SELECT {compared} FROM candidate_rows").pl()  # noqa: S608
    history = lead_history_rows(previous, current, run_id, as_of)
    events = lead_events(previous, current, run_id, as_of)
    _write(con, "candidate_history", history)
    _write(con, "candidate_events", events)
    con.execute("CREATE TABLE IF NOT EXISTS lead_history AS SELECT * FROM candidate_history LIMIT 0")
    con.execute("CREATE TABLE IF NOT EXISTS lead_events AS SELECT * FROM candidate_events LIMIT 0")
    return {"history_rows": history.height, "change_events": events.height}


def outcome_dict(outcome: SourceOutcome) -> dict:
    data = asdict(outcome)
    data["last_delivery_date"] = (
        outcome.last_delivery_date.isoformat() if outcome.last_delivery_date else None
    )
    return data


def run_summary(
    run_id: str,
    as_of: dt.date,
    outcomes: list[SourceOutcome],
    stage_counts: dict[str, int],
    audit_failures: list[str],
    timings: dict[str, float],
) -> dict:
    """What the run did, in counts and names only (no personal data): goes to `runs`, logs and the CLI."""
    failed = [o for o in outcomes if o.status == "failed"]
    warnings = [f"{o.source}: {w}" for o in outcomes for w in o.warnings]
    status = "failed" if audit_failures else ("partial" if failed else "published")
    return {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "status": status,
        "message": "; ".join(audit_failures + [f"{o.source}: {o.message}" for o in failed]) or None,
        "sources_ok": len(outcomes) - len(failed),
        "sources_failed": len(failed),
        "failed_sources": [o.source for o in failed],
        "warnings": warnings,
        "stage_counts": {
            "rows_in": sum(o.rows_in for o in outcomes),
            "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
            "rows_staged": sum(o.rows_staged for o in outcomes),
            **stage_counts,
        },
        "sources": [outcome_dict(o) for o in outcomes],
        "timings": timings,
    }


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, summary: dict) -> None:
    con.execute(
        "UPDATE runs SET finished_at = ?, status = ?, message = ?, sources_ok = ?, sources_failed = ?, "
        "leads_published = ?, warnings = ?, stage_counts = ?, timings = ? WHERE run_id = ?",
        [
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            status,
            summary["message"],
            summary["sources_ok"],
            summary["sources_failed"],
            summary["stage_counts"].get("leads", 0) if status != "failed" else 0,
            json.dumps(summary["warnings"]),
            json.dumps(summary["stage_counts"], sort_keys=True),
            json.dumps(summary["timings"], sort_keys=True),
            run_id,
        ],
    )
