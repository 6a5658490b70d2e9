"""Audit the candidate leads, then publish them in one atomic step; write exports for other systems.

Publish = build a complete new DuckDB file beside the published one, CHECKPOINT, close, fsync, and
`os.replace` it over data/warehouse/leads.duckdb. The new file starts as a copy of the last one when it can:
only the leads scored tonight and this run's slices of the growing tables are written into it. Readers holding the old file keep a consistent snapshot;
new connections see the new one; a crash at any point leaves the old file whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl

from leads.db import ident, sql_text
from leads.errors import LeadsError
from leads.files import fsync_dir
from leads.lead_tables import last_publish, published_candidates
from leads.settings import Settings
from schemas.leads import EXPORT_SCHEMA_VERSION, PublishedLead
from transforms.cases import FINAL_STATUSES

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
    # the contract is checked on tonight's scored rows: the carried ones passed it when they were published
    leads = con.sql("SELECT * FROM candidate_rows").pl()
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


def commit_publish(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Record this run's snapshot, history and change feed in the state database, in one transaction.

    Tonight's scored leads replace theirs in the snapshot `published_leads` (lead_tables.published_candidates);
    the view `candidate_leads` then shows the snapshot as published. Idempotent: a retried publish replaces the
    run's rows instead of adding them twice.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM lead_history WHERE run_id = ?", [run_id])
        con.execute("DELETE FROM lead_events WHERE run_id = ?", [run_id])
        con.execute("INSERT INTO lead_history BY NAME SELECT * FROM candidate_history")
        con.execute("INSERT INTO lead_events BY NAME SELECT * FROM candidate_events")
        published_candidates(con)
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
    fsync_dir(target.parent)
    con.execute("UPDATE runs SET status = ? WHERE run_id = ?", [status, run_id])
    return target


# Tables that only grow, one slice per run: a new file starts as a copy of the previous publish and receives only
# the slices that changed (normally this run's), so a publish does not rewrite the whole history every night.
# Each is laid out run after run (a new slice lands at the end, as a full build would place it).
PER_RUN_TABLES = {
    "lead_history": "as_of, run_id, lead_id",
    "lead_events": "as_of, run_id, lead_id",
    "quarantine": "run_id, source, file, source_line",
}
# A previous file with more free space than this share is not reused: the full build compacts it.
MAX_FREE_SHARE = 0.5


def _build(
    con: duckdb.DuckDBPyConnection, settings: Settings, building: Path, run_id: str, status: str
) -> None:
    reused = _copy_of_previous(con, settings.published_db, building)

    def per_run(table: str) -> None:
        order = PER_RUN_TABLES[table]
        if reused:
            _sync_run_slices(con, table, order)
        else:
            con.execute(f"CREATE TABLE pub.{table} AS SELECT * FROM {table} ORDER BY {order}")  # noqa: S608

    con.execute("ATTACH ? AS pub", [str(building)])
    try:
        if reused:
            for table in ("runs", "run_sources"):
                con.execute(f"DROP TABLE pub.{table}")
            con.execute("CHECKPOINT pub")  # their blocks are free again: the new tables reuse them
            _sync_leads(con)
        else:
            con.execute("CREATE TABLE pub.leads AS SELECT * FROM published_leads ORDER BY lead_id")
            con.execute(
                f"CREATE TABLE pub.lead_filings AS {LEAD_FILINGS} ORDER BY l.lead_id, f.recorded_date, f.record_id"
            )
        per_run("lead_history")
        per_run("lead_events")
        con.execute("CREATE TABLE pub.runs AS SELECT * FROM runs ORDER BY started_at")
        con.execute("UPDATE pub.runs SET status = ? WHERE run_id = ?", [status, run_id])
        con.execute("CREATE TABLE pub.run_sources AS SELECT * FROM run_sources ORDER BY run_id, source")
        per_run("quarantine")
    finally:
        con.execute("DETACH pub")
    views = duckdb.connect(str(building))
    try:
        for view in sorted((settings.sql_dir / "views").glob("*.sql")):
            views.execute(view.read_text(encoding="utf-8"))
        views.execute("CHECKPOINT")
    finally:
        views.close()


# Every document behind each published lead (the published table `lead_filings`).
LEAD_FILINGS = (
    "SELECT l.lead_id, f.source, f.record_id, f.doc_type, f.event, f.recorded_date, f.case_number, "
    "f.sale_date, f.amount_due, f.joined_by, f.case_key, f.match_method, f.match_confidence, "
    "f.match_note, f.parcel_apn AS apn "
    "FROM case_filings f JOIN published_leads l ON l.case_id = f.case_id"
)


def _sync_leads(con: duckdb.DuckDBPyConnection) -> None:
    """Bring `pub.leads` and `pub.lead_filings` (a copy of the last publish) to the snapshot: a lead's row
    changes only when it is scored again, which gives it a new run_id (lead_tables), so the leads to rewrite
    are those whose (lead_id, run_id) differs on either side — normally tonight's scored ones. A lead's filings
    change only with its lead (their digest is among what it is scored from)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE synced AS "
        "SELECT s.lead_id FROM published_leads s "
        "ANTI JOIN pub.leads p ON p.lead_id = s.lead_id AND p.run_id = s.run_id "
        "UNION "
        "SELECT p.lead_id FROM pub.leads p "
        "ANTI JOIN published_leads s ON s.lead_id = p.lead_id AND s.run_id = p.run_id"
    )
    con.execute("DELETE FROM pub.leads WHERE lead_id IN (SELECT lead_id FROM synced)")
    con.execute(
        "INSERT INTO pub.leads SELECT * FROM published_leads WHERE lead_id IN (SELECT lead_id FROM synced) "
        "ORDER BY lead_id"
    )
    con.execute("DELETE FROM pub.lead_filings WHERE lead_id IN (SELECT lead_id FROM synced)")
    con.execute(
        f"INSERT INTO pub.lead_filings {LEAD_FILINGS} WHERE l.lead_id IN (SELECT lead_id FROM synced) "  # noqa: S608
        "ORDER BY l.lead_id, f.recorded_date, f.record_id"
    )
    con.execute("DROP TABLE synced")


def _copy_of_previous(con: duckdb.DuckDBPyConnection, previous: Path, building: Path) -> bool:
    """Start `building` as a byte copy of the published file when that file can be brought up to date slice by
    slice: it opens, holds exactly the published tables with the state's columns, and is not mostly free
    space. Its views are dropped (the build creates them). False (and no file) means: build from scratch."""
    if not previous.is_file() or Path(f"{previous}.wal").exists():
        return False
    try:
        shutil.copyfile(previous, building)
        con.execute("ATTACH ? AS pub", [str(building)])
        try:
            usable = _reusable(con)
            if usable:
                for (view,) in con.execute(
                    "SELECT view_name FROM duckdb_views() WHERE database_name = 'pub' AND NOT internal"
                ).fetchall():
                    con.execute(f"DROP VIEW pub.{ident(view)}")
        finally:
            con.execute("DETACH pub")
    except (duckdb.Error, OSError, ValueError):  # unreadable, no space for the copy, an unexpected view name
        usable = False
    if not usable:
        building.unlink(missing_ok=True)
        Path(f"{building}.wal").unlink(missing_ok=True)
    return usable


def _reusable(con: duckdb.DuckDBPyConnection) -> bool:
    """The attached previous file (`pub`) has the published tables, its per-run tables and its leads have the
    state's columns and types, and it is not mostly free space."""
    tables = "SELECT table_name FROM duckdb_tables() WHERE database_name = 'pub'"
    if {name for (name,) in con.execute(tables).fetchall()} != set(PUBLISHED_TABLES):
        return False
    state = con.execute("SELECT current_database()").fetchall()[0][0]
    columns = (
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND table_name = ? "
    )
    columns += "ORDER BY column_index"
    for table in PER_RUN_TABLES:
        if con.execute(columns, ["pub", table]).fetchall() != con.execute(columns, [state, table]).fetchall():
            return False
    leads = con.execute(columns, ["pub", "leads"]).fetchall()
    if leads != con.execute(columns, [state, "published_leads"]).fetchall():
        return False
    filings = [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE {LEAD_FILINGS}").fetchall()]
    if con.execute(columns, ["pub", "lead_filings"]).fetchall() != filings:
        return False
    size = "SELECT total_blocks, free_blocks FROM pragma_database_size() WHERE database_name = 'pub'"
    total, free = con.execute(size).fetchall()[0]
    return not total or free / total <= MAX_FREE_SHARE


def _sync_run_slices(con: duckdb.DuckDBPyConnection, table: str, order: str) -> None:
    """Bring `pub.<table>` to the state's rows: the runs whose row counts differ (normally only this run, new)
    are deleted from the copy and written again from the state, in `order`."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE changed_runs AS "  # noqa: S608
        f"SELECT run_id FROM (SELECT run_id, count(*) AS n FROM pub.{table} GROUP BY run_id) p "
        f"FULL JOIN (SELECT run_id, count(*) AS n FROM {table} GROUP BY run_id) s USING (run_id) "
        "WHERE p.n IS DISTINCT FROM s.n"
    )
    con.execute(f"DELETE FROM pub.{table} WHERE run_id IN (SELECT run_id FROM changed_runs)")  # noqa: S608
    con.execute(
        f"INSERT INTO pub.{table} SELECT * FROM {table} "  # noqa: S608
        f"WHERE run_id IN (SELECT run_id FROM changed_runs) ORDER BY {order}"
    )
    con.execute("DROP TABLE changed_runs")


def _written_temp(path: Path, write: callable) -> tuple[Path, str]:
    """`write` into the temp name of `path` (a hidden `.part` file beside it); the temp path and its sha256."""
    temp = path.with_name(f".{path.name}.part")
    write(temp)
    with temp.open("rb") as handle:
        return temp, hashlib.file_digest(handle, "sha256").hexdigest()


def _renamed_in(temp: Path, path: Path) -> None:
    _fsync(temp)
    os.replace(temp, path)


def _atomic_write(path: Path, write: callable) -> str:
    """Write via a temp file, fsync, rename; return the file's sha256."""
    temp, digest = _written_temp(path, write)
    _renamed_in(temp, path)
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


def _write_all_formats(frame: pl.DataFrame, folder: Path, stem: str, side_by_side: bool) -> dict[str, dict]:
    """Parquet, spreadsheet-safe CSV and JSON Lines of one frame, each written atomically.

    `side_by_side`: the three temp files are written (and hashed) at the same time, outside the GIL; they are
    then fsynced and renamed in one after the other, in the same order as when written one by one."""
    writers = {
        f"{stem}.parquet": lambda p: frame.write_parquet(p),
        f"{stem}.csv": lambda p: spreadsheet_safe(frame).write_csv(p, quote_style="non_numeric"),
        f"{stem}.jsonl": lambda p: frame.write_ndjson(p),
    }
    if not side_by_side:
        digests = {name: _atomic_write(folder / name, w) for name, w in writers.items()}
    else:
        with ThreadPoolExecutor(max_workers=len(writers)) as pool:
            futures = {name: pool.submit(_written_temp, folder / name, w) for name, w in writers.items()}
            temps = {name: future.result() for name, future in futures.items()}
        digests = {}
        try:
            for name, (temp, digest) in temps.items():
                _renamed_in(temp, folder / name)
                digests[name] = digest
        finally:
            for temp, _ in temps.values():
                temp.unlink(missing_ok=True)  # left only when a rename failed
    return {name: {"rows": frame.height, "sha256": digest} for name, digest in digests.items()}


# meta key: the as-of date and folder (under exports/) of the last full snapshot (`leads.*`)
FULL_EXPORT_KEY = "full_export"


def _last_full_export(con: duckdb.DuckDBPyConnection) -> dict | None:
    found = con.execute("SELECT value FROM meta WHERE key = ?", [FULL_EXPORT_KEY]).fetchall()
    return json.loads(found[0][0]) if found else None


def full_export_due(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date) -> bool:
    """Whether an export of the leads published as of `as_of` carries the full snapshot: on the first export;
    when the last full one is `settings.full_export_days` old (by as-of date, either way: a backfill's earlier
    date counts too); and when the published leads were scored from other inputs than the last full snapshot
    (new scoring code or config, reference data, the opt-out list: every row changed, and an opt-out must reach
    the snapshot), also when the export of the night that scored them again did not finish."""
    last = _last_full_export(con)
    if last is None or settings.full_export_days == 0:
        return True
    scored = last_publish(con)
    if scored is not None and scored["inputs"] != last.get("inputs"):
        return True
    return abs((as_of - dt.date.fromisoformat(last["as_of"])).days) >= settings.full_export_days


def _export_leads(con: duckdb.DuckDBPyConnection, settings: Settings, open_only: bool) -> pl.DataFrame:
    params = {"open_only": open_only, "final": FINAL_STATUSES}
    return con.sql(sql_text(settings, "export_leads"), params=params).pl()


def export_snapshot(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, since_run: str | None = None
) -> Path:
    """The published leads for other systems, suppressed owners excluded: the open leads (`open_leads.*`), the
    change feed (`changes.*`: this run's events, or every event after `since_run`, with the lead's row) and,
    when due (`full_export_due`), the full snapshot of every lead (`leads.*`). The manifest's `as_of` is the
    published leads' as-of date; `full_snapshot` names the export holding the latest full snapshot.

    The full snapshot holds all history (sold, cancelled and stale cases too): writing it every night would
    make the night's cost grow with the history, not with the night's work (issue 8)."""
    published = last_publish(con)
    if published is None:
        raise LeadsError("no published leads to export: run `leads refresh` first")
    as_of = dt.date.fromisoformat(published["as_of"])
    folder = settings.exports_dir / (run_id if since_run is None else f"{run_id}-since-{since_run}")
    folder.mkdir(parents=True, exist_ok=True)
    last = _last_full_export(con)
    # a retry of an export that finished writes its full snapshot again (its manifest lists every file)
    full = full_export_due(con, settings, as_of) or (last is not None and last["folder"] == folder.name)
    if full:
        leads = _export_leads(con, settings, open_only=False)
        open_leads = leads.filter(~pl.col("status").is_in(FINAL_STATUSES))
    else:
        leads, open_leads = None, _export_leads(con, settings, open_only=True)
    changes = con.sql(CHANGES_SQL, params={"since": since_run}).pl().filter(~pl.col("suppressed"))
    # the snapshots are big: their files are written side by side; the change feed is small
    files = {}
    if leads is not None:
        files.update(_write_all_formats(leads, folder, "leads", side_by_side=True))
    files.update(_write_all_formats(open_leads, folder, "open_leads", side_by_side=True))
    files.update(_write_all_formats(changes, folder, "changes", side_by_side=False))
    if leads is not None:
        last = {"folder": folder.name, "as_of": as_of.isoformat(), "rows": leads.height}
    last_full = None if last is None else {key: last[key] for key in ("folder", "as_of", "rows")}
    manifest = {
        "run_id": run_id,
        "since_run": since_run,
        "as_of": as_of.isoformat(),
        "schema_version": EXPORT_SCHEMA_VERSION,
        "full_snapshot": last_full,
        "open_rows": open_leads.height,
        "change_rows": changes.height,
        "files": files,
        "columns": {name: str(dtype) for name, dtype in open_leads.schema.items()},
    }
    _atomic_write(
        folder / "manifest.json", lambda p: p.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    )
    fsync_dir(folder)
    if since_run is None and leads is not None:
        # what the next exports compare with (a catch-up export since an older run does not move it)
        value = {**last_full, "inputs": published["inputs"]}
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [FULL_EXPORT_KEY, json.dumps(value)])
    if since_run is None:
        # the events now in an export are not exported again
        con.execute(
            "INSERT INTO exported_runs SELECT DISTINCT run_id, ? FROM lead_events "
            "WHERE run_id NOT IN (SELECT run_id FROM exported_runs)",
            [run_id],
        )
    return folder
