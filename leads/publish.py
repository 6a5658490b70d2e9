"""Audit the candidate leads, then publish them in one atomic step; write exports for other systems.

Publish = build a complete new DuckDB file beside the published one, CHECKPOINT, close, fsync, and
`os.replace` it over data/warehouse/leads.duckdb. Readers holding the old file keep a consistent snapshot;
new connections see the new one; a crash at any point leaves the old file whole.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl

from leads.db import sql_text
from leads.settings import Settings
from schemas.leads import EXPORT_SCHEMA_VERSION, PublishedLead

AUDITS = [
    "duplicate_lead_ids",
    "leads_without_county",
    "score_out_of_range",
    "equity_with_unknown_payoff",
    "volume_drop",
]
VOLUME_MIN_RATIO = 0.5  # a new publish below half the last one is held back as a suspected bad delivery
PUBLISHED_TABLES = [
    "leads",
    "lead_history",
    "lead_events",
    "lead_filings",
    "runs",
    "run_sources",
    "quarantine",
]


@dataclass(frozen=True)
class AuditFailure:
    audit: str
    rows: int
    detail: str  # counts and check names only: never row contents (they hold personal data)


def audit_failures(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[AuditFailure]:
    """Every failed audit of candidate_leads: the pandera contract, then the SQL audits (zero rows = pass)."""
    failures: list[AuditFailure] = []
    leads = con.sql("SELECT * FROM candidate_leads").pl()
    try:
        PublishedLead.validate(leads, lazy=True)
    except pa.errors.SchemaErrors as exc:
        checks = exc.failure_cases.group_by("column", "check").len().sort("column", "check")
        detail = "; ".join(f"{c}.{k}: {n}" for c, k, n in checks.iter_rows())
        failures.append(AuditFailure("published_lead_contract", exc.failure_cases.height, detail))
    for name in AUDITS:
        query = sql_text(settings, f"audits/{name}")
        params = {"min_ratio": VOLUME_MIN_RATIO} if "$min_ratio" in query else None
        rows = con.sql(query, params=params).fetchall()
        if rows:
            failures.append(AuditFailure(name, len(rows), f"{len(rows)} offending row(s)"))
    return failures


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_publish(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Record this run's snapshot, history and change feed in the state database, in one transaction.

    Idempotent: a retried publish replaces the run's rows instead of adding them twice.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM lead_history WHERE run_id = ?", [run_id])
        con.execute("DELETE FROM lead_events WHERE run_id = ?", [run_id])
        con.execute("INSERT INTO lead_history BY NAME SELECT * FROM candidate_history")
        con.execute("INSERT INTO lead_events BY NAME SELECT * FROM candidate_events")
        con.execute("CREATE OR REPLACE TABLE published_leads AS SELECT * FROM candidate_leads")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _remove_leftovers(target: Path) -> None:
    """Half-built files of crashed runs (the refresh lock guarantees no other run is building now)."""
    for leftover in target.parent.glob(f".{target.name}.*.building*"):
        leftover.unlink(missing_ok=True)


def publish(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, status: str = "published"
) -> Path:
    """Copy the audited tables into a new file and atomically replace the published database with it.

    The run is `publishing` in the state until the swap; the new file already records it with its final
    `status`, and the state follows right after the swap (a crash in between is reconciled by the next run).
    """
    commit_publish(con, run_id)
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    target = settings.published_db
    _remove_leftovers(target)
    building = target.with_name(f".{target.name}.{run_id}.building")
    try:
        _build(con, settings, building, run_id, status)
        _fsync(building)
        os.replace(building, target)
    except BaseException:
        building.unlink(missing_ok=True)
        Path(f"{building}.wal").unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    con.execute("UPDATE runs SET status = ? WHERE run_id = ?", [status, run_id])
    return target


def _build(
    con: duckdb.DuckDBPyConnection, settings: Settings, building: Path, run_id: str, status: str
) -> None:
    con.execute("ATTACH ? AS pub", [str(building)])
    try:
        con.execute("CREATE TABLE pub.leads AS SELECT * FROM published_leads ORDER BY lead_id")
        con.execute(
            "CREATE TABLE pub.lead_history AS SELECT * FROM lead_history ORDER BY lead_id, as_of, run_id"
        )
        con.execute(
            "CREATE TABLE pub.lead_events AS SELECT * FROM lead_events ORDER BY as_of, run_id, lead_id"
        )
        con.execute(
            "CREATE TABLE pub.lead_filings AS "
            "SELECT l.lead_id, f.source, f.record_id, f.doc_type, f.event, f.recorded_date, f.case_number, "
            "f.sale_date, f.amount_due, f.joined_by, f.case_key, f.match_method, f.match_confidence, "
            "f.match_note, f.parcel_apn AS apn "
            "FROM case_filings f JOIN candidate_leads l ON l.case_id = f.case_id "
            "ORDER BY l.lead_id, f.recorded_date, f.record_id"
        )
        con.execute("CREATE TABLE pub.runs AS SELECT * FROM runs ORDER BY started_at")
        con.execute("UPDATE pub.runs SET status = ? WHERE run_id = ?", [status, run_id])
        con.execute("CREATE TABLE pub.run_sources AS SELECT * FROM run_sources ORDER BY run_id, source")
        con.execute(
            "CREATE TABLE pub.quarantine AS SELECT * FROM quarantine ORDER BY run_id, source, file, source_line"
        )
    finally:
        con.execute("DETACH pub")
    views = duckdb.connect(str(building))
    try:
        for view in sorted((settings.sql_dir / "views").glob("*.sql")):
            views.execute(view.read_text(encoding="utf-8"))
        views.execute("CHECKPOINT")
    finally:
        views.close()


def _atomic_write(path: Path, write: callable) -> str:
    """Write via a temp file, fsync, rename; return the file's sha256."""
    temp = path.with_name(f".{path.name}.part")
    write(temp)
    _fsync(temp)
    digest = hashlib.sha256(temp.read_bytes()).hexdigest()
    os.replace(temp, path)
    return digest


_FORMULA_START = r"^[=+\-@\t\r\n]"


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading `'` (OWASP CSV injection);
    numeric columns stay numbers."""
    text_columns = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START)).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text_columns
    )


# The change feed to export: every event after `$since` when given, else every event not exported yet
# (a run that crashed after committing its events has them exported by the next run).
CHANGES_SQL = """
SELECT e.run_id AS change_run_id, e.as_of AS change_as_of, e.event_type, e.old_value, e.new_value, l.*
FROM lead_events e
JOIN published_leads l USING (lead_id)
WHERE ($since IS NOT NULL
       AND e.run_id IN (SELECT run_id FROM runs
                        WHERE started_at > (SELECT started_at FROM runs WHERE run_id = $since)))
   OR ($since IS NULL AND e.run_id NOT IN (SELECT run_id FROM exported_runs))
ORDER BY e.as_of, e.lead_id, e.event_type
"""


def _write_all_formats(frame: pl.DataFrame, folder: Path, stem: str) -> dict[str, dict]:
    """Parquet, spreadsheet-safe CSV and JSON Lines of one frame, each written atomically."""
    writers = {
        f"{stem}.parquet": lambda p: frame.write_parquet(p),
        f"{stem}.csv": lambda p: spreadsheet_safe(frame).write_csv(p, quote_style="non_numeric"),
        f"{stem}.jsonl": lambda p: frame.write_ndjson(p),
    }
    return {
        name: {"rows": frame.height, "sha256": _atomic_write(folder / name, w)} for name, w in writers.items()
    }


def export_snapshot(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, since_run: str | None = None
) -> Path:
    """The published leads for other systems, suppressed owners excluded: a full snapshot (`leads.*`) and the
    change feed (`changes.*`: this run's events, or every event after `since_run`, with the lead's row)."""
    leads = con.sql("SELECT * FROM published_leads WHERE NOT suppressed ORDER BY lead_id").pl()
    changes = con.sql(CHANGES_SQL, params={"since": since_run}).pl().filter(~pl.col("suppressed"))
    folder = settings.exports_dir / (run_id if since_run is None else f"{run_id}-since-{since_run}")
    folder.mkdir(parents=True, exist_ok=True)
    files = {**_write_all_formats(leads, folder, "leads"), **_write_all_formats(changes, folder, "changes")}
    manifest = {
        "run_id": run_id,
        "since_run": since_run,
        "schema_version": EXPORT_SCHEMA_VERSION,
        "rows": leads.height,
        "change_rows": changes.height,
        "files": files,
        "columns": {name: str(dtype) for name, dtype in leads.schema.items()},
    }
    _atomic_write(
        folder / "manifest.json", lambda p: p.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    )
    if since_run is None:
        # the events now in an export are not exported again
        con.execute(
            "INSERT INTO exported_runs SELECT DISTINCT run_id, ? FROM lead_events "
            "WHERE run_id NOT IN (SELECT run_id FROM exported_runs)",
            [run_id],
        )
    return folder
