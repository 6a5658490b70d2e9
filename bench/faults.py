"""Fault injection for the nightly refresh, and the fault table (`make faults`, `python -m bench.faults`).

The refresh runs here without Prefect: `refresh` calls the flow's own task functions (`Task.fn` of
flows/nightly.py) in the flow's order (tests/test_faults.py checks that order against the flow's source), so a
crash can be placed between any two steps and a child process starts in milliseconds (a fork server that has
imported the pipeline once). Every task boundary, and the inside of the tasks that write (a raw copy, a staged
upsert before its COMMIT, a source committed, `commit_publish` before and after, the built file before and
after its `os.replace`, every export file), is a numbered *point*: `LEADS_FAULT_KILL_AT=N` makes the child
SIGKILL itself at point N, `LEADS_FAULT_PAUSE_AT=N,M|all` makes it wait there for the parent (concurrency),
`LEADS_FAULT_DISK_FULL=<stage>` raises ENOSPC there once. `python -m bench.faults child --data-dir D --landing L`
runs one such refresh in a fresh interpreter.

Scenarios, with the reliability.md rows they cover (each is also a test in tests/test_faults.py):

| rows | scenario here | tests |
|---|---|---|
| 1, 2, 3 | `kill_iteration(kill_at=N)` over `default_kill_points` (soak: every point); `kill_at_random` (os.kill from the parent): the published file is exactly the previous or the next version and opens, no partial file at a final export path, then a re-run reaches the uninterrupted final state with no duplicates | test_kill_at_every_step_*, test_a_kill_mid_export_*, test_kill_at_random_moments, test_change_events_of_a_crashed_run_*, test_a_run_killed_*, test_a_killed_run_*, test_no_orphan_building_file_* |
| 16 | `concurrent_refreshes`, `simultaneous_refreshes` | test_second_refresh_*, test_two_refreshes_*, test_cli_refresh_refused_* |
| 17 | `analyst_during_refresh` | test_analyst_session_* |
| 18 | `disk_full_iteration` per stage (injected OSError / duckdb.IOException ENOSPC); `tmpfs_disk_full` (a real full tmpfs, root only) | test_disk_full_*, test_a_failed_build_* |
| 5, 10-15 | `bad_delivery_outcome` over BAD_DELIVERIES (truncated, corrupt, empty, header-only, duplicated, cp1252, 3 MB field, renamed column, placeholder storm) | test_bad_delivery_* |

Rows covered by tests only (not re-run by this command): 4 same day twice (test_end_to_end.py::
test_rerunning_the_same_day_changes_nothing); 5 same file under another name (test_landing.py::
test_the_same_content_under_another_name_is_skipped); 6-9 amended, released then re-filed, late record,
backfill of one date (test_faults.py::test_an_amended_filing_*, test_released_then_refiled_*,
test_a_late_record_*, test_backfilling_one_date_*; test_landing.py supersession tests;
test_operations.py::test_backfill_and_rebuild_equal_nightly_runs); 12 renamed CSV header
(test_end_to_end.py::test_schema_drift_fails_only_that_source); 13 type drift and reject rates
(test_landing.py::test_reject_rate_over_threshold_*, test_readers_validation.py); 19 freshness
(test_landing.py::test_a_stale_source_is_a_warning); 20-25 security (tests/test_security.py; suppression:
test_end_to_end.py::test_suppressed_owners_never_reach_an_export; analyst SQL through the CLI:
test_cli.py::test_query_cannot_write_or_reach_files); odd input to the pure transforms and the reader
(tests/test_properties.py).

"Data lost" counts runs after which the published file was neither the previous nor the next version (or did
not open, or mixed runs), a file at a final export path was partial or did not match its manifest, the re-run
left duplicates, or the final state differed from an uninterrupted run's. "Survived" also needs the run to
abort with a clear error where one was due, and the re-run to publish. The command exits 1 when any run lost data.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import errno
import gzip
import hashlib
import json
import logging
import multiprocessing
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow.parquet as pq

import leads.feeds
import leads.publish
import leads.staging
from leads import pipeline
from leads.db import analyst_connection, ident, state_reader
from leads.errors import LeadsError, StateDamaged
from leads.landing import Receiver
from leads.locks import RefreshRunning, refresh_lock
from leads.publish import PUBLISHED_TABLES
from leads.settings import Settings
from leads.staging import STAGED_TABLES
from transforms.cases import FINAL_STATUSES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DELIVERIES = PROJECT_ROOT / "data" / "sample" / "deliveries"
PREVIOUS_AS_OF = dt.date(2026, 11, 26)  # the published version a crash must fall back to
AS_OF = dt.date(2026, 11, 27)  # the run that is crashed
KILL_ENV = "LEADS_FAULT_KILL_AT"
PAUSE_ENV = "LEADS_FAULT_PAUSE_AT"
CONTROL_ENV = "LEADS_FAULT_CONTROL_DIR"
POINT_LOG_ENV = "LEADS_FAULT_POINT_LOG"
DISK_FULL_ENV = "LEADS_FAULT_DISK_FULL"  # a key of DISK_FULL_AT: raise ENOSPC at that stage, once
CHILD_TIMEOUT_S = 120.0
EXIT_REFUSED = 75  # a child refused by the refresh lock
FIRST_BLOCK_OFFSET = 3 * 4096  # a DuckDB file: its main header and two database headers, then block 0


# ---------------------------------------------------------------------------------------------- settings


def fault_settings(data_dir: Path, landing: Path, config_dir: Path | None = None) -> Settings:
    """Settings for one isolated run (explicit values: nothing leaks in from LEADS_* variables)."""
    return Settings(
        environment="test",
        data_dir=data_dir,
        landing_dir=landing,
        config_dir=config_dir or PROJECT_ROOT / "config",
        sources="",
        duckdb_memory_limit="1GB",
        duckdb_threads=1,
    )


def scratch_root() -> Path:
    """A scratch folder on tmpfs when there is one: a crash test does not need fsync to reach a disk (SIGKILL
    keeps the page cache), and every fsync of the pipeline costs real time on a virtual disk."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="leads-faults-", dir=shm))
    return Path(tempfile.mkdtemp(prefix="leads-faults-"))


# ------------------------------------------------------------------------------------------------ points


class Points:
    """Numbered places in a run where a fault can be injected; names make the fault table readable."""

    def __init__(
        self,
        kill_at: int | None = None,
        pause_at: set[int] | None = None,
        pause_all: bool = False,
        control: Path | None = None,
        log: Path | None = None,
        fail_at: Callable[[str], BaseException | None] | None = None,
    ) -> None:
        self.kill_at = kill_at
        self.pause_at = pause_at or set()
        self.pause_all = pause_all
        self.control = control
        self.log = log
        self.fail_at = fail_at
        self.names: list[str] = []

    @classmethod
    def from_env(cls) -> Points:
        kill = os.environ.get(KILL_ENV)
        pause = os.environ.get(PAUSE_ENV, "")
        control = os.environ.get(CONTROL_ENV)
        log = os.environ.get(POINT_LOG_ENV)
        disk_full = os.environ.get(DISK_FULL_ENV)
        return cls(
            kill_at=int(kill) if kill else None,
            pause_at={int(p) for p in pause.split(",") if p.strip().isdigit()},
            pause_all=pause.strip() == "all",
            control=Path(control) if control else None,
            log=Path(log) if log else None,
            fail_at=_once(DISK_FULL_AT[disk_full]) if disk_full else None,
        )

    def __call__(self, name: str) -> None:
        name = _RUN_ID.sub("<run>", name)
        self.names.append(name)
        number = len(self.names)
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as handle:  # page cache survives SIGKILL
                handle.write(f"{number}\t{name}\t{time.monotonic():.3f}\n")
        if self.fail_at is not None:
            error = self.fail_at(name)
            if error is not None:
                raise error
        if self.kill_at == number:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.control is not None and (self.pause_all or number in self.pause_at):
            _pause(self.control, number, name)


_RUN_ID = re.compile(r"\d{8}-\d{8}T\d{6,}")


def _once(trigger: Callable[[str], BaseException | None]) -> Callable[[str], BaseException | None]:
    """The trigger's error at the first point it matches, never again (the re-run must find space again)."""
    fired: list[str] = []

    def fail(name: str) -> BaseException | None:
        error = None if fired else trigger(name)
        if error is not None:
            fired.append(name)
        return error

    return fail


def _pause(control: Path, number: int, name: str) -> None:
    (control / f"paused-{number:04d}").write_text(name, encoding="utf-8")
    resume = control / f"resume-{number:04d}"
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while not resume.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"nobody resumed point {number} ({name})")
        time.sleep(0.002)


def no_point(name: str) -> None:
    return None


def _relative(path: str | os.PathLike[str], roots: list[Path]) -> str:
    text = str(path)
    for root in roots:
        prefix = str(root).rstrip("/") + "/"
        if text.startswith(prefix):
            return text[len(prefix) :]
    return Path(text).name


@contextlib.contextmanager
def hooks(point: Callable[[str], None], data_dir: Path) -> Iterator[None]:
    """Points inside the tasks that write: os.replace (raw copies, the published file, every export file),
    leads.publish._fsync (a built file or an export temp fully written), commit_publish (before: the run marked
    as publishing; after: the state committed, the new file not built), leads.staging._upsert (rows written
    inside the staging transaction, before its COMMIT), leads.feeds.written_files (a feed's new Parquet files
    written, not yet listed), leads.feeds.released (listed and committed, the replaced files not yet removed)
    and pipeline.record_source (a source staged and
    committed, its connection still open)."""
    roots = [data_dir.resolve(), data_dir]
    patched: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        real = getattr(owner, name, None)
        if real is not None:  # tolerate refactors: a missing hook shows up as a missing point name
            patched.append((owner, name, real))
            setattr(owner, name, make(real))

    def replace(real: Any) -> Any:
        def wrapped(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            where = _relative(dst, roots)
            point(f"replace-before:{where}")
            real(src, dst, *args, **kwargs)
            point(f"replace-after:{where}")

        return wrapped

    def fsync(real: Any) -> Any:
        def wrapped(path: Path, *args: Any, **kwargs: Any) -> Any:
            point(f"written:{_relative(path, roots)}")
            return real(path, *args, **kwargs)

        return wrapped

    def commit(real: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            point("publish:run_marked")
            result = real(*args, **kwargs)
            point("publish:committed")
            return result

        return wrapped

    def upsert(real: Any) -> Any:
        def wrapped(con: Any, table: str, rows: Any, *args: Any, **kwargs: Any) -> Any:
            result = real(con, table, rows, *args, **kwargs)
            source = table
            if isinstance(rows, pl.DataFrame) and rows.height and "source" in rows.columns:
                source = str(rows["source"][0])
            point(f"upsert-uncommitted:{source}")
            return result

        return wrapped

    def feed_written(real: Any) -> Any:
        def wrapped(con: Any, kind: str, source: str, *args: Any, **kwargs: Any) -> Any:
            result = real(con, kind, source, *args, **kwargs)
            point(f"feed-written:{source}")
            return result

        return wrapped

    def feed_released(real: Any) -> Any:
        def wrapped(root: Any, files: list, *args: Any, **kwargs: Any) -> Any:
            point(f"feed-committed:{files[0].source if files else ''}")
            return real(root, files, *args, **kwargs)

        return wrapped

    def record(real: Any) -> Any:
        def wrapped(con: Any, run_id: str, outcome: Any, *args: Any, **kwargs: Any) -> Any:
            point(f"run_source:{outcome.source}")
            return real(con, run_id, outcome, *args, **kwargs)

        return wrapped

    patch(os, "replace", replace)
    patch(leads.publish, "_fsync", fsync)
    patch(leads.publish, "commit_publish", commit)
    patch(leads.staging, "_upsert", upsert)
    patch(leads.feeds, "written_files", feed_written)
    patch(leads.feeds, "released", feed_released)
    patch(pipeline, "record_source", record)
    try:
        yield
    finally:
        for owner, name, real in reversed(patched):
            setattr(owner, name, real)


# ----------------------------------------------------------------------------------------------- the run


# The tasks' log lines (counts and names) during a run here: kept quiet; the summary carries the same facts.
RUN_LOGGER = logging.getLogger("bench.faults.run")
RUN_LOGGER.propagate = False
RUN_LOGGER.addHandler(logging.NullHandler())


@contextlib.contextmanager
def _plain_run_logger() -> Iterator[Any]:
    """flows.nightly with `get_run_logger` answering a plain logger (its tasks log outside a Prefect run)."""
    from flows import nightly

    real = nightly.get_run_logger
    nightly.get_run_logger = lambda: RUN_LOGGER
    try:
        yield nightly
    finally:
        nightly.get_run_logger = real


def refresh(
    settings: Settings,
    as_of: dt.date,
    point: Callable[[str], None] = no_point,
    started_at: dt.datetime | None = None,
) -> dict:
    """flows/nightly.py's refresh without Prefect: the flow's own task functions (`Task.fn`), called in the flow's
    order (tests/test_faults.py checks the order against the flow's source), with `point(name)` after each task.
    Left out: the `report` task (Prefect artifacts and the HTML report, written after the run is finished)."""
    started_at = started_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_id = pipeline.new_run_id(as_of, started_at)
    if not settings.landing.is_dir():
        raise LeadsError(f"landing folder {settings.landing} does not exist")
    with _plain_run_logger() as flow, refresh_lock(settings):
        point("lock")
        configs = flow.load_configs.fn(settings, None)
        point("load_configs")
        flow.start_run.fn(settings, run_id, as_of, started_at)
        point("start_run")
        staged = {}
        # as flows.nightly.stage_in_process: the filing sources landed first and prepared on a side thread,
        # the other sources staged in turn, then the filing sources committed
        with Receiver() as receiver, ThreadPoolExecutor(max_workers=1) as side:
            flow.receive_ahead.fn(settings, pipeline.landing_order(configs), as_of, receiver)
            early = pipeline.sources_ahead(configs)
            ahead = {}
            for config in early:
                ahead[config.source] = flow.land_ahead.fn(
                    settings, config, as_of, run_id, started_at, side, receiver
                )
                point(f"land_ahead:{config.source}")
            for config in [c for c in configs if c.source not in ahead] + early:
                staged[config.source] = flow.stage_source.fn(
                    settings, config, as_of, run_id, started_at, receiver, ahead.get(config.source)
                )
                point(f"stage_source:{config.source}")
        outcomes = [staged[c.source] for c in configs]
        case_counts = flow.assemble_cases.fn(settings, as_of)
        point("assemble_cases")
        lead_counts = flow.score_leads.fn(settings, as_of, run_id)
        point("score_leads")
        lead_counts |= flow.changes.fn(settings, run_id, as_of)
        point("changes")
        failures = flow.audit.fn(settings)
        point("audit")
        summary = pipeline.run_summary(run_id, as_of, outcomes, {**case_counts, **lead_counts}, failures, {})
        if failures:
            flow.finish_run.fn(settings, run_id, "failed", summary)
            point("finish_run")
            return summary
        flow.publish_leads.fn(settings, run_id, summary["status"], summary)
        point("publish")
        summary["exports"] = flow.export.fn(settings, run_id)
        point("export")
        flow.finish_run.fn(settings, run_id, summary["status"], summary)
        point("finish_run")
    return summary


def refresh_with_points(
    settings: Settings, as_of: dt.date, point: Points, started_at: dt.datetime | None = None
) -> dict:
    with hooks(point, settings.data_dir):
        return refresh(settings, as_of, point, started_at)


# ------------------------------------------------------------------------------------------ fingerprints


@dataclasses.dataclass(frozen=True)
class Version:
    leads_hash: str
    run_ids: tuple[str, ...]  # of the open leads: every publish scores them all, so exactly one
    rows: int


# The run ids of a publish's open leads. Leads in a final status keep the run that last scored them
# (leads/lead_tables.py); the open ones are scored by every run, so one publish shows one run among them.
OPEN_RUN_IDS = "SELECT DISTINCT run_id FROM leads WHERE NOT list_contains(?, status) ORDER BY 1"


def _frame(con: duckdb.DuckDBPyConnection, table: str, drop: tuple[str, ...] = ()) -> pl.DataFrame:
    """A table in a canonical order, floats rounded to 6 decimals (parallel sums may differ in the last bit)."""
    columns = con.execute(f"DESCRIBE {ident(table)}").fetchall()
    select = []
    for name, kind, *_ in columns:
        if name in drop:
            continue
        quoted = ident(name)
        select.append(f"round({quoted}, 6) AS {quoted}" if kind in ("DOUBLE", "FLOAT") else quoted)
    return con.sql(f"SELECT {', '.join(select)} FROM {ident(table)} ORDER BY ALL").pl()  # noqa: S608


def frame_hash(frame: pl.DataFrame) -> str:
    return hashlib.sha256(frame.write_ndjson().encode("utf-8")).hexdigest()[:16]


def published_version(path: Path) -> Version:
    """Hash of `SELECT * FROM leads ORDER BY lead_id` minus run_id, through an analyst connection; every
    published table and view must answer (the file opens cleanly)."""
    con = analyst_connection(path)
    try:
        for table in PUBLISHED_TABLES:
            con.execute(f"SELECT count(*) FROM {ident(table)}").fetchall()  # noqa: S608
        for (view,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall():
            con.execute(f"SELECT count(*) FROM {ident(view)}").fetchall()  # noqa: S608
        leads = _frame(con, "leads", ("run_id",))
        run_ids = tuple(r[0] for r in con.execute(OPEN_RUN_IDS, [FINAL_STATUSES]).fetchall())
        every = {r[0] for r in con.execute("SELECT DISTINCT run_id FROM leads").fetchall()}
        known = {r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()}
        if not every <= known:
            raise AssertionError(f"leads of run(s) {sorted(every - known)} not in the same file's runs")
    finally:
        con.close()
    return Version(frame_hash(leads), run_ids, leads.height)


def final_state(data_dir: Path) -> dict[str, str]:
    """Digest per table of everything a run leaves behind that must not depend on crashes or re-runs
    (run ids and arrival times aside)."""
    out: dict[str, str] = {}
    con = analyst_connection(data_dir / "warehouse" / "leads.duckdb")
    try:
        for table in ("leads", "lead_filings", "lead_events", "lead_history", "quarantine"):
            out[f"published.{table}"] = frame_hash(_frame(con, table, ("run_id",)))
    finally:
        con.close()
    con = state_reader(data_dir / "state" / "pipeline.duckdb")
    try:
        for table in sorted(STAGED_TABLES.values()):  # the feeds' through their views over Parquet
            out[f"state.{table}"] = frame_hash(_frame(con, table))
        out["state.raw_manifest"] = frame_hash(_frame(con, "raw_manifest", ("run_id", "received_at")))
        out["state.published_leads"] = frame_hash(_frame(con, "published_leads", ("run_id",)))
    finally:
        con.close()
    return out


def feed_file_problems(data_dir: Path) -> list[str]:
    """The staged feed files on disk are exactly the listed ones (leads/feeds.py), and each listed file opens:
    a crash between writing a file and committing its list, or between the commit and removing the replaced
    file, leaves an unlisted file that the next run must remove."""
    state = data_dir / "state"
    con = duckdb.connect(str(state / "pipeline.duckdb"), read_only=True)
    try:
        listed = {state / "feeds" / p for (p,) in con.execute("SELECT path FROM feed_files").fetchall()}
    finally:
        con.close()
    on_disk = {p for p in (state / "feeds").glob("*/*/*") if p.is_file()}
    problems = [f"unlisted feed file {p.relative_to(state)}" for p in sorted(on_disk - listed)]
    problems += [f"listed feed file missing: {p.relative_to(state)}" for p in sorted(listed - on_disk)]
    for path in sorted(listed & on_disk):
        try:
            pq.read_metadata(path)
        except Exception as exc:  # a torn file: any reader error
            problems.append(
                f"listed feed file {path.relative_to(state)} does not open ({type(exc).__name__})"
            )
    return problems


def duplicate_problems(data_dir: Path) -> list[str]:
    """Key uniqueness in the published file: one row per lead, one event per (run, lead, event type)."""
    con = analyst_connection(data_dir / "warehouse" / "leads.duckdb")
    try:
        checks = {
            "duplicate lead_id": "SELECT lead_id FROM leads GROUP BY ALL HAVING count(*) > 1",
            "duplicate lead_events": (
                "SELECT run_id, lead_id, event_type FROM lead_events GROUP BY ALL HAVING count(*) > 1"
            ),
            "duplicate lead_history": "SELECT run_id, lead_id FROM lead_history GROUP BY ALL HAVING count(*) > 1",
            "duplicate lead_filings": (
                "SELECT lead_id, source, record_id FROM lead_filings GROUP BY ALL HAVING count(*) > 1"
            ),
        }
        return [f"{name}: {len(rows)}" for name, q in checks.items() if (rows := con.execute(q).fetchall())]
    finally:
        con.close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_problems(data_dir: Path) -> list[str]:
    """No partial file at a final export path; every manifest's checksums match its files."""
    problems: list[str] = []
    root = data_dir / "exports"
    if not root.is_dir():
        return problems
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        manifest_path = folder / "manifest.json"
        if manifest_path.exists():
            try:
                manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            except ValueError:
                problems.append(f"{folder.name}/manifest.json is not valid JSON (partial)")
                continue
            for name, entry in manifest["files"].items():
                path = folder / name
                if not path.exists() or _sha256(path) != entry["sha256"]:
                    problems.append(f"{folder.name}/{name} does not match its manifest")
            problems += _full_snapshot_problems(root, folder, manifest)
        finals = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "manifest.json"]
        for path in finals:
            try:
                rows = _export_rows(path)
            except Exception as exc:  # a truncated Parquet / CSV / JSON Lines file
                problems.append(f"{folder.name}/{path.name} is partial ({type(exc).__name__})")
                continue
            parquet = path.with_suffix(".parquet")
            if parquet.exists() and parquet != path:
                try:
                    expected = pl.read_parquet(parquet).height
                except Exception:
                    continue
                if rows != expected:
                    problems.append(f"{folder.name}/{path.name} has {rows} rows, its parquet {expected}")
    return problems


def _full_snapshot_problems(root: Path, folder: Path, manifest: dict) -> list[str]:
    """The full snapshot a manifest names is a finished export's `leads.parquet` with that many rows (unless
    that export folder is gone altogether, as a retention clean-up would leave it)."""
    full = manifest.get("full_snapshot")
    if full is None:
        return [f"{folder.name}/manifest.json names no full snapshot"]
    named = root / full["folder"]
    if not named.exists():
        return []
    snapshot = named / "leads.parquet"
    if not (named / "manifest.json").exists() or not snapshot.exists():
        return [f"{folder.name}/manifest.json names {full['folder']}, which has no finished full snapshot"]
    if pl.read_parquet(snapshot).height != full["rows"]:
        return [f"{folder.name}/manifest.json: {full['folder']}/leads.parquet is not {full['rows']} rows"]
    return []


def _export_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        return pl.read_parquet(path).height
    if path.suffix == ".csv":
        return pl.read_csv(path, infer_schema=False).height
    if path.suffix == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        for line in lines:
            json.loads(line)
        return len(lines)
    return 0


# ----------------------------------------------------------------------------------------------- baseline


@dataclasses.dataclass
class Baseline:
    """The sample published as of PREVIOUS_AS_OF (the version a crash falls back to) and the uninterrupted
    AS_OF run on top of it (the version a crash moves forward to, and the final state every re-run must reach)."""

    root: Path
    landing: Path
    previous_dir: Path
    next_dir: Path
    previous: Version
    next: Version
    next_state: dict[str, str]
    points: list[str]  # the named points of an uninterrupted AS_OF run, in order
    run_seconds: float  # wall time of an uninterrupted AS_OF run in a child


def vacancy_redelivered(landing: Path) -> None:
    """A corrected vacancy roll for Hillsborough on AS_OF (every 7th flag flipped), so that the crashed run also
    merges a staged feed into a new Parquet file (leads/feeds.py) and the kills reach that step."""
    roll = landing / "usps_vacancy" / "2026-11-25" / "vacancy_12057.csv"  # the sample's feeds arrive that day
    header, *rows = roll.read_text(encoding="utf-8").splitlines()
    flipped = [
        row.replace(",N,", ",Y,")
        if n % 7 == 0 and ",N," in row
        else row.replace(",Y,", ",N,")
        if n % 7 == 0
        else row
        for n, row in enumerate(rows)
    ]
    corrected = landing / "usps_vacancy" / AS_OF.isoformat() / roll.name
    corrected.parent.mkdir(parents=True, exist_ok=True)
    corrected.write_text("\n".join([header, *flipped]) + "\n", encoding="utf-8")


def make_baseline(root: Path) -> Baseline:
    landing = root / "landing"
    shutil.copytree(SAMPLE_DELIVERIES, landing)
    vacancy_redelivered(landing)
    previous_dir = root / "previous" / "data"
    summary = refresh(fault_settings(previous_dir, landing), PREVIOUS_AS_OF)
    if summary["status"] != "published":
        raise RuntimeError(f"the baseline run did not publish: {summary['status']} {summary['message']}")
    next_dir = root / "next" / "data"
    shutil.copytree(previous_dir, next_dir)
    started = time.perf_counter()
    child = run_child(ChildSpec(next_dir, landing, AS_OF, root / "next"))
    seconds = time.perf_counter() - started
    if child.exitcode != 0 or child.result is None or child.result.get("status") != "published":
        raise RuntimeError(f"the uninterrupted run failed: {child}")
    return Baseline(
        root=root,
        landing=landing,
        previous_dir=previous_dir,
        next_dir=next_dir,
        previous=published_version(previous_dir / "warehouse" / "leads.duckdb"),
        next=published_version(next_dir / "warehouse" / "leads.duckdb"),
        next_state=final_state(next_dir),
        points=child.points,
        run_seconds=seconds,
    )


# ------------------------------------------------------------------------------------------------ children


@dataclasses.dataclass
class ChildSpec:
    data_dir: Path
    landing: Path
    as_of: dt.date
    work: Path  # point log, result file, control files
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    config_dir: Path | None = None


@dataclasses.dataclass
class ChildResult:
    exitcode: int | None
    points: list[str]
    result: dict | None

    @property
    def killed(self) -> bool:
        return self.exitcode == -signal.SIGKILL

    @property
    def where(self) -> str:
        return self.points[-1] if self.points else "(before the first point)"


_CONTEXT: multiprocessing.context.BaseContext | None = None
# Modules a run imports lazily (found with sys.modules before/after a run): imported once in the fork server, not
# in every child (without bytecode caches, PYTHONDONTWRITEBYTECODE=1, each costs a compile).
WARM_IMPORTS = [
    "pyarrow",
    "pyarrow.ipc",
    "pandera.api.extensions",
    "pandera.backends.polars.base",
    "pandera.backends.polars.builtin_checks",
    "pandera.backends.polars.checks",
    "pandera.backends.polars.components",
    "pandera.backends.polars.container",
    "polars._utils.parquet",
    "polars._utils.udfs",
]


def _context() -> multiprocessing.context.BaseContext:
    """A fork server that imported the pipeline once: each child starts in milliseconds, from a process that
    never ran Polars or DuckDB (forking one that did could inherit locked thread pools)."""
    global _CONTEXT
    if _CONTEXT is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["bench.faults", "flows.nightly", *WARM_IMPORTS])
        _CONTEXT = ctx
    return _CONTEXT


def _child_main(spec: ChildSpec) -> None:
    """Body of a child: one refresh with the fault points of its environment; the outcome goes to a file."""
    os.environ["POLARS_MAX_THREADS"] = "1"  # tiny data: one thread each, so that children run side by side
    os.environ.update(spec.env)
    os.environ[POINT_LOG_ENV] = str(spec.work / "points.log")
    result_file = spec.work / "result.json"
    points = Points.from_env()
    settings = fault_settings(spec.data_dir, spec.landing, spec.config_dir)
    try:
        summary = refresh_with_points(settings, spec.as_of, points)
    except RefreshRunning as exc:
        result_file.write_text(json.dumps({"status": "refused", "error": str(exc)}), encoding="utf-8")
        os._exit(EXIT_REFUSED)
    except Exception as exc:
        result_file.write_text(
            json.dumps({"status": "error", "error": f"{type(exc).__name__}: {exc}"}), encoding="utf-8"
        )
        os._exit(1)
    result_file.write_text(
        json.dumps(
            {"status": summary["status"], "run_id": summary["run_id"], "summary": summary}, default=str
        ),
        encoding="utf-8",
    )
    os._exit(0)


class Child:
    """A refresh running in a child process."""

    def __init__(self, spec: ChildSpec) -> None:
        spec.work.mkdir(parents=True, exist_ok=True)
        for name in ("points.log", "result.json"):
            (spec.work / name).unlink(missing_ok=True)
        self.spec = spec
        self.process = _context().Process(target=_child_main, args=(spec,), daemon=True)
        self.process.start()

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def wait(self, timeout: float = CHILD_TIMEOUT_S) -> ChildResult:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
            raise TimeoutError(f"child did not finish in {timeout} s (last point {self.points()[-1:]})")
        result_file = self.spec.work / "result.json"
        result = json.loads(result_file.read_text()) if result_file.exists() else None
        return ChildResult(self.process.exitcode, self.points(), result)

    def points(self) -> list[str]:
        log = self.spec.work / "points.log"
        if not log.exists():
            return []
        return [line.split("\t")[1] for line in log.read_text(encoding="utf-8").splitlines() if "\t" in line]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


def run_child(spec: ChildSpec) -> ChildResult:
    return Child(spec).wait()


class Paused:
    """Drive a child started with LEADS_FAULT_PAUSE_AT: wait for it to stop at a point, then let it go on."""

    def __init__(self, control: Path) -> None:
        self.control = control
        control.mkdir(parents=True, exist_ok=True)

    def wait(self, number: int, child: Child | None = None, timeout: float = CHILD_TIMEOUT_S) -> str | None:
        """The point's name once the child is paused there; None if the child ended first."""
        flag = self.control / f"paused-{number:04d}"
        deadline = time.monotonic() + timeout
        while not flag.exists():
            if child is not None and not child.process.is_alive():
                return None
            if time.monotonic() > deadline:
                raise TimeoutError(f"the child never reached point {number}")
            time.sleep(0.002)
        return flag.read_text(encoding="utf-8")

    def resume(self, number: int) -> None:
        (self.control / f"resume-{number:04d}").write_text("go", encoding="utf-8")


# ------------------------------------------------------------------------------------------ kill scenario


@dataclasses.dataclass
class Outcome:
    """One run of a fault scenario: where the fault hit, and what went wrong after it (empty = survived)."""

    fault: str
    where: str
    lost: list[str] = dataclasses.field(default_factory=list)  # data lost or mixed: must stay empty
    failed: list[str] = dataclasses.field(default_factory=list)  # did not recover, without loss
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def survived(self) -> bool:
        return not self.lost and not self.failed


def _published_check(base: Baseline, data_dir: Path, allowed: tuple[Version, ...], outcome: Outcome) -> None:
    path = data_dir / "warehouse" / "leads.duckdb"
    try:
        version = published_version(path)
    except Exception as exc:
        outcome.lost.append(f"published file does not open cleanly: {type(exc).__name__}: {exc}")
        return
    if version.leads_hash not in {v.leads_hash for v in allowed}:
        outcome.lost.append(
            f"published leads {version.leads_hash} are neither the previous nor the next version"
        )
    if len(version.run_ids) != 1:
        outcome.lost.append(f"published open leads mix runs {version.run_ids}")


def _after_rerun(base: Baseline, data_dir: Path, work: Path, outcome: Outcome) -> None:
    """Re-run the crashed night; it must complete with the uninterrupted final state and no duplicates.
    A state the crash left unreadable (a DuckDB checkpoint torn by the kill) must be reported as damaged, with
    readers unaffected; the documented repair (a rebuild from raw, then the night again) must then get there."""
    rerun = run_child(ChildSpec(data_dir, base.landing, AS_OF, work / "rerun"))
    if _state_damaged(rerun):
        outcome.notes.append(DAMAGED_NOTE)
        if not rebuild_from_raw(data_dir, work / "rebuild", outcome):
            return
        rerun = run_child(ChildSpec(data_dir, base.landing, AS_OF, work / "rerun-after-rebuild"))
    if rerun.exitcode != 0 or rerun.result is None or rerun.result.get("status") != "published":
        outcome.failed.append(f"re-run did not publish: exit {rerun.exitcode}, {rerun.result}")
        return
    _published_check(base, data_dir, (base.next,), outcome)
    outcome.lost += duplicate_problems(data_dir)
    outcome.lost += export_problems(data_dir)
    outcome.lost += feed_file_problems(data_dir)
    state = final_state(data_dir)
    differs = sorted(k for k in base.next_state if state.get(k) != base.next_state[k])
    if differs:
        outcome.lost.append(f"final state differs from an uninterrupted run in {differs}")


DAMAGED_NOTE = "state damaged by the kill (a torn checkpoint): rebuilt from raw, as the error message says"


def _state_damaged(child: ChildResult) -> bool:
    return str((child.result or {}).get("error", "")).startswith(f"{StateDamaged.__name__}: ")


def rebuild_from_raw(data_dir: Path, work: Path, outcome: Outcome) -> bool:
    """`leads backfill --rebuild` as the damaged-state message gives it, without Prefect: the state set aside
    (flows.backfill.state_set_aside), then the as-of dates of the published runs replayed from data/raw, one
    child each (as the backfill flow runs the nightly flow per date). False (and why) when it fails."""
    from flows.backfill import state_set_aside  # (flows import Prefect: only when a rebuild is needed)

    con = analyst_connection(data_dir / "warehouse" / "leads.duckdb")
    try:
        first, last = con.execute(
            "SELECT min(as_of), max(as_of) FROM runs WHERE status IN ('published', 'partial')"
        ).fetchall()[0]
    finally:
        con.close()
    state_set_aside(fault_settings(data_dir, data_dir / "raw"))
    for day in (first + dt.timedelta(days=n) for n in range((last - first).days + 1)):
        child = run_child(ChildSpec(data_dir, data_dir / "raw", day, work / day.isoformat()))
        if child.exitcode != 0 or (child.result or {}).get("status") != "published":
            outcome.failed.append(
                f"the rebuild of {day} did not publish: exit {child.exitcode}, {child.result}"
            )
            return False
    return True


def damaged_state_iteration(base: Baseline, work: Path) -> Outcome:
    """A metadata block of the working state torn as by a kill in mid-checkpoint (bytes changed in the file's
    first block, which DuckDB reads on open): the night must stop with the one-line damaged-state error and
    leave the published file and exports as they were; the rebuild it names, then the night, must reach the
    uninterrupted final state."""
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    shutil.copytree(base.previous_dir, data_dir)
    with (data_dir / "state" / "pipeline.duckdb").open("r+b") as f:
        f.seek(FIRST_BLOCK_OFFSET + 4096)
        torn = f.read(64)
        f.seek(FIRST_BLOCK_OFFSET + 4096)
        f.write(bytes(b ^ 0xFF for b in torn))
    child = run_child(ChildSpec(data_dir, base.landing, AS_OF, work / "damaged"))
    outcome = Outcome("state damaged (a torn checkpoint)", child.where or "(opening the state)")
    error = str((child.result or {}).get("error", ""))
    if not _state_damaged(child):
        outcome.failed.append(f"not reported as a damaged state: exit {child.exitcode}, {child.result}")
    elif f"leads backfill --from {PREVIOUS_AS_OF} --to {PREVIOUS_AS_OF} --rebuild" not in error:
        outcome.failed.append(f"the message does not give the rebuild command: {error}")
    _published_check(base, data_dir, (base.previous,), outcome)
    outcome.lost += export_problems(data_dir)
    if rebuild_from_raw(data_dir, work / "rebuild", outcome):
        _after_rerun(base, data_dir, work, outcome)
    return outcome


def kill_iteration(
    base: Baseline, work: Path, kill_at: int | None = None, kill_after_s: float | None = None
) -> Outcome:
    """Crash the AS_OF run on a copy of the previous publish: SIGKILL at point `kill_at` (the child kills
    itself) or after `kill_after_s` seconds (the parent kills it); check, re-run, check again."""
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    shutil.copytree(base.previous_dir, data_dir)
    env = {KILL_ENV: str(kill_at)} if kill_at is not None else {}
    child = Child(ChildSpec(data_dir, base.landing, AS_OF, work / "crash", env))
    if kill_after_s is not None:
        time.sleep(kill_after_s)
        child.kill()
    crashed = child.wait()
    fault = f"SIGKILL at point {kill_at}" if kill_at is not None else f"SIGKILL after {kill_after_s:.2f} s"
    outcome = Outcome(fault, crashed.where if crashed.killed else "(run had completed)")
    if kill_at is not None and not crashed.killed:
        outcome.failed.append(f"the child was not killed (exit {crashed.exitcode}, {crashed.result})")
    _published_check(base, data_dir, (base.previous, base.next), outcome)
    outcome.lost += export_problems(data_dir)
    _after_rerun(base, data_dir, work, outcome)
    return outcome


# Kill points of the default (CI) loop, besides the first staged upsert (inside its transaction) and the first and
# last source: every task boundary of the flow, and the inside of publish and export. The soak kills at all points.
DEFAULT_KILL_POINTS = (
    "start_run",
    "assemble_cases",
    "score_leads",
    "changes",
    "audit",
    "publish:run_marked",  # the run recorded as published, nothing committed yet
    "publish:committed",  # state committed, the new file not built
    "replace-before:warehouse/leads.duckdb",  # the new file built and fsynced, not swapped in
    "replace-after:warehouse/leads.duckdb",
    "written:exports/<run>/.changes.parquet.part",  # mid-export: the snapshots renamed in, changes.* not
    "replace-after:exports/<run>/manifest.json",
    "finish_run",
)


def default_kill_points(points: list[str]) -> list[int]:
    """Point numbers (1-based) of DEFAULT_KILL_POINTS plus the first upsert, the first feed file written and
    committed, and the first and last source."""
    chosen: set[int] = set()

    def numbers(prefix: str) -> list[int]:
        return [n for n, name in enumerate(points, start=1) if name.startswith(prefix)]

    stages = numbers("stage_source:")
    chosen |= {stages[0], stages[-1]} if stages else set()
    # the first upsert inside its transaction; the first feed file written (unlisted), then committed
    for prefix in ("upsert-uncommitted:", "feed-written:", "feed-committed:"):
        chosen |= set(numbers(prefix)[:1])
    chosen |= {n for n, name in enumerate(points, start=1) if name in DEFAULT_KILL_POINTS}
    return sorted(chosen)


def kill_loop(base: Baseline, work: Path, numbers: list[int], workers: int = 2) -> list[Outcome]:
    """kill_iteration for each point number, `workers` at a time (each in its own folder)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(kill_iteration, base, work / f"kill-{n:03d}", kill_at=n) for n in numbers]
        return [f.result() for f in futures]


def kill_at_random(base: Baseline, work: Path, runs: int, seed: int, workers: int = 2) -> list[Outcome]:
    """The parent SIGKILLs the child at a random moment of an uninterrupted run's duration."""
    rng = random.Random(seed)
    delays = [rng.uniform(0.0, base.run_seconds) for _ in range(runs)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(kill_iteration, base, work / f"random-{i:03d}", kill_after_s=d)
            for i, d in enumerate(delays)
        ]
        return [f.result() for f in futures]


# ------------------------------------------------------------------------------------- disk full / I/O


def enospc(where: str) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), where)


# stage -> predicate on point names: the fault is raised at the first matching point
DISK_FULL_AT: dict[str, Callable[[str], BaseException | None]] = {
    "staging (raw copy)": lambda n: enospc("raw copy") if n.startswith("replace-before:raw/") else None,
    "staging (DuckDB write)": lambda n: (
        duckdb.IOException("Could not write file: No space left on device")
        if n.startswith("upsert-uncommitted:")
        else None
    ),
    "audit": lambda n: (
        duckdb.IOException("Could not write to the temp directory: No space left on device")
        if n == "changes"
        else None
    ),
    "publish (file build)": lambda n: enospc("building file") if n.startswith("written:warehouse/") else None,
    "publish (rename)": lambda n: (
        enospc("rename") if n.startswith("replace-before:warehouse/leads.duckdb") else None
    ),
    "export": lambda n: enospc("export") if n.startswith("written:exports/") else None,
}


def disk_full_iteration(base: Baseline, work: Path, stage: str) -> Outcome:
    """ENOSPC at one stage of the AS_OF run (a child, LEADS_FAULT_DISK_FULL=<stage>): the run must abort with
    an error that says so, the published file stay whole (previous, or next once it was swapped in), no partial
    export file; then a re-run (space freed) must reach the uninterrupted final state."""
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    shutil.copytree(base.previous_dir, data_dir)
    child = run_child(ChildSpec(data_dir, base.landing, AS_OF, work / "full", {DISK_FULL_ENV: stage}))
    outcome = Outcome(f"disk full during {stage}", child.where)
    error = str((child.result or {}).get("error", ""))
    if child.exitcode == 0:
        outcome.failed.append("the run did not abort")
    elif "No space left on device" not in error:
        outcome.failed.append(f"unclear error: exit {child.exitcode} {child.result}")
    else:
        outcome.notes.append(error.splitlines()[0][:160])
    if not DISK_FULL_AT[stage](child.where):
        outcome.failed.append(f"the fault was never injected (last point {child.where})")
    swapped = _published_after([child.where])
    _published_check(base, data_dir, (base.previous, base.next) if swapped else (base.previous,), outcome)
    outcome.lost += export_problems(data_dir)
    _after_rerun(base, data_dir, work, outcome)
    return outcome


def disk_full_loop(base: Baseline, work: Path, stages: list[str], workers: int = 2) -> dict[str, Outcome]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            s: pool.submit(disk_full_iteration, base, work / f"enospc-{i}", s) for i, s in enumerate(stages)
        }
        return {s: f.result() for s, f in futures.items()}


def _published_after(fired: list[str]) -> bool:
    """True when the run had already swapped in its file at the point where it stopped."""
    return (
        bool(fired)
        and fired[0].startswith(
            (
                "replace-after:warehouse/",
                "publish",
                "written:exports/",
                "replace-before:exports/",
                "replace-after:exports/",
                "export",
                "finish_run",
            )
        )
        and fired[0] not in ("publish:run_marked", "publish:committed")
    )


@contextlib.contextmanager
def small_tmpfs(path: Path, size_mb: int) -> Iterator[Path | None]:
    """A real tmpfs of `size_mb` at `path` (root only); yields None where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        os.geteuid() == 0
        and shutil.which("mount") is not None
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )
    try:
        yield path if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _ballast(folder: Path, free_bytes: int) -> Path:
    """Fill the file system holding `folder` until only about `free_bytes` stay free."""
    stat = os.statvfs(folder)
    available = stat.f_bavail * stat.f_frsize
    ballast = folder / "ballast.bin"
    size = max(available - free_bytes, 0)
    with ballast.open("wb") as handle:
        chunk = b"\0" * (1 << 20)
        while size > 0:
            part = chunk[: min(size, len(chunk))]
            try:
                handle.write(part)
            except OSError:
                break
            size -= len(part)
    return ballast


def tmpfs_disk_full(base: Baseline, work: Path, free_kb: int, size_mb: int = 48) -> Outcome | None:
    """The AS_OF run in a child on a real tmpfs with only `free_kb` left, so that DuckDB and Python both meet a
    real ENOSPC; then free the space and re-run. None when no tmpfs can be mounted here (not root)."""
    with small_tmpfs(work / "mnt", size_mb) as fs:
        if fs is None:
            return None
        data_dir = fs / "data"
        shutil.copytree(base.previous_dir, data_dir)
        ballast = _ballast(fs, free_kb * 1024)
        child = run_child(ChildSpec(data_dir, base.landing, AS_OF, work / "run"))
        outcome = Outcome(f"real disk full ({free_kb} KB free)", child.where)
        error = str((child.result or {}).get("error", ""))
        if child.exitcode == 0:
            outcome.notes.append("completed: there was enough space")
        elif "space" not in error.lower():
            outcome.failed.append(f"unclear error: exit {child.exitcode} {child.result}")
        else:
            outcome.notes.append(error.splitlines()[0][:160])
        swapped = child.exitcode == 0 or _published_after(child.points[-1:])
        _published_check(base, data_dir, (base.previous, base.next) if swapped else (base.previous,), outcome)
        outcome.lost += export_problems(data_dir)
        ballast.unlink()
        leftovers = [p.name for p in (data_dir / "warehouse").iterdir() if ".building" in p.name]
        if leftovers:
            outcome.notes.append(f"left behind: {leftovers}")
        _after_rerun(base, data_dir, work, outcome)
        return outcome


# ------------------------------------------------------------------------------------------- concurrency


def concurrent_refreshes(base: Baseline, work: Path) -> Outcome:
    """Two refreshes of the same data dir: the second starts while the first holds the lock (paused at
    start_run); it must be refused with RefreshRunning, and the output equal one uninterrupted run."""
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    shutil.copytree(base.previous_dir, data_dir)
    control = work / "control"
    paused = Paused(control)
    hold = base.points.index("start_run") + 1
    first = Child(
        ChildSpec(
            data_dir, base.landing, AS_OF, work / "first", {PAUSE_ENV: str(hold), CONTROL_ENV: str(control)}
        )
    )
    outcome = Outcome("two refreshes at once", "second started while the first held the lock")
    try:
        if paused.wait(hold, first) is None:
            outcome.failed.append("the first refresh ended before its pause point")
        second = run_child(ChildSpec(data_dir, base.landing, AS_OF, work / "second"))
        if second.exitcode != EXIT_REFUSED or "another refresh is running" not in str(second.result):
            outcome.lost.append(f"the second refresh was not refused: exit {second.exitcode} {second.result}")
    finally:
        paused.resume(hold)
    done = first.wait()
    if done.exitcode != 0:
        outcome.failed.append(f"the first refresh failed: {done.result}")
    _published_check(base, data_dir, (base.next,), outcome)
    outcome.lost += duplicate_problems(data_dir)
    state = final_state(data_dir)
    differs = sorted(k for k in base.next_state if state.get(k) != base.next_state[k])
    if differs:
        outcome.lost.append(f"final state differs from one run in {differs}")
    return outcome


def simultaneous_refreshes(base: Baseline, work: Path) -> Outcome:
    """Two refreshes started at the same moment: each completes or is refused, the output equals one run."""
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    shutil.copytree(base.previous_dir, data_dir)
    children = [Child(ChildSpec(data_dir, base.landing, AS_OF, work / f"c{i}")) for i in range(2)]
    results = [c.wait() for c in children]
    outcome = Outcome("two refreshes started together", f"exits {[r.exitcode for r in results]}")
    if not all(r.exitcode in (0, EXIT_REFUSED) for r in results) or not any(r.exitcode == 0 for r in results):
        outcome.lost.append(f"unexpected outcomes {[r.result for r in results]}")
    _published_check(base, data_dir, (base.next,), outcome)
    outcome.lost += duplicate_problems(data_dir)
    state = final_state(data_dir)
    differs = sorted(k for k in base.next_state if state.get(k) != base.next_state[k])
    if differs:
        outcome.lost.append(f"final state differs from one run in {differs}")
    return outcome


def snapshot(con: duckdb.DuckDBPyConnection) -> tuple[str, tuple[str, ...], int]:
    """What an analyst sees: the hash of the leads (minus run_id), the run ids of the open leads, and the
    lead_filings count."""
    leads = _frame(con, "leads", ("run_id",))
    run_ids = tuple(r[0] for r in con.execute(OPEN_RUN_IDS, [FINAL_STATUSES]).fetchall())
    filings = con.execute("SELECT count(DISTINCT lead_id) FROM lead_filings").fetchall()[0][0]
    return frame_hash(leads), run_ids, filings


def fresh_snapshot(path: str) -> tuple[str, tuple[str, ...], int]:
    """What a session opened now sees (called in another process: within one process DuckDB hands a new
    connection the database instance an open connection already holds, i.e. the old snapshot)."""
    con = analyst_connection(Path(path))
    try:
        return snapshot(con)
    finally:
        con.close()


def analyst_pause_points(points: list[str]) -> list[int]:
    """Where the default analyst test looks: the kill points, and every point of the publish."""
    inside_publish = [
        n for n, name in enumerate(points, start=1) if "warehouse" in name or name.startswith("publish")
    ]
    return sorted(set(default_kill_points(points)) | set(inside_publish))


def analyst_during_refresh(base: Baseline, work: Path, numbers: list[int] | None = None) -> Outcome:
    """An analyst session opened before the run queries at every point of it: it keeps its snapshot of the
    previous publish throughout; a session opened at any point (in another process) sees the previous or the
    next version whole; the run completes."""
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    shutil.copytree(base.previous_dir, data_dir)
    published = data_dir / "warehouse" / "leads.duckdb"
    control = work / "control"
    paused = Paused(control)
    outcome = Outcome("analyst session during the run", "every point")
    versions = {base.previous.leads_hash: "previous", base.next.leads_hash: "next"}
    seen = {"previous": 0, "next": 0}
    reader = analyst_connection(published)
    with _context().Pool(1) as observer:
        try:
            before = snapshot(reader)
            numbers = numbers or list(range(1, len(base.points) + 1))
            pause = ",".join(str(n) for n in numbers)
            child = Child(
                ChildSpec(
                    data_dir, base.landing, AS_OF, work / "run", {PAUSE_ENV: pause, CONTROL_ENV: str(control)}
                )
            )
            looked = 0
            for number in numbers:
                name = paused.wait(number, child)
                if name is None:
                    outcome.failed.append(f"the run ended before point {number}")
                    break
                try:
                    if snapshot(reader) != before:
                        outcome.lost.append(f"the open session's snapshot changed at {name}")
                    leads_hash, run_ids, _ = observer.apply(fresh_snapshot, (str(published),))
                    if leads_hash in versions and len(run_ids) == 1:
                        seen[versions[leads_hash]] += 1
                    else:
                        outcome.lost.append(f"a new session saw a mix at {name}")
                finally:
                    paused.resume(number)
                looked += 1
            done = child.wait()
            if done.exitcode != 0:
                outcome.failed.append(f"the refresh failed with a reader open: {done.result}")
            if snapshot(reader) != before:
                outcome.lost.append("the open session's snapshot changed after the run")
            outcome.notes.append(
                f"{looked} points; new sessions saw previous {seen['previous']}, next {seen['next']}"
            )
        finally:
            reader.close()
    _published_check(base, data_dir, (base.next,), outcome)
    return outcome


# ---------------------------------------------------------------------------------------- bad deliveries


def _fl(landing: Path) -> Path:
    return landing / "fl_hillsborough" / "2026-11-27" / "OR_20261127.txt"


def _ca(landing: Path) -> Path:
    return landing / "ca_riverside" / "2026-11-27" / "riverside_foreclosure_2026-11-27.csv"


def _tx(landing: Path) -> Path:
    return landing / "tx_harris" / "2026-11-27" / "harris_fc_2026-11-27.jsonl"


def _ca_rows(n: int, start: int = 900_000) -> list[str]:
    """Well-formed Riverside notices of default (for files big enough to judge a reject rate)."""
    return [
        f"2026-{start + i:07d},2026-11-27,NOD,TS-26-{start + i},"
        f'{100_000_000 + i},"{1000 + i} TEST LN, CORONA CA 92883",OWNER {i},'
        "U.S. BANK NATIONAL ASSOCIATION,TRUSTEE CORP,$1000.00,,"
        for i in range(n)
    ]


def _truncated(landing: Path) -> str:
    path = _fl(landing)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])  # the last record cut mid-line
    return "fl_hillsborough"


def _truncated_csv(landing: Path) -> str:
    path = _ca(landing)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    text = header + "\n" + "\n".join(_ca_rows(40)) + "\n"
    path.write_text(text[: len(text) - 30], encoding="utf-8")  # cut inside the last record, no newline
    return "ca_riverside"


def _corrupt_gzip(landing: Path) -> str:
    path = _fl(landing)
    path.write_bytes(gzip.compress(path.read_bytes() * 50)[:4000])  # gzip bytes under a .txt name
    return "fl_hillsborough"


def _empty(landing: Path) -> str:
    for path in (_fl(landing), _ca(landing), _tx(landing)):
        path.write_bytes(b"")
    return "fl_hillsborough"


def _header_only(landing: Path) -> str:
    path = _ca(landing)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    path.write_bytes(
        header.encode("utf-8") + b"\r\n"
    )  # CRLF: not the same bytes as the header-only 11-26 file
    return "ca_riverside"


def _empty_feeds(landing: Path) -> str:
    """An empty parcel roll, AVM and loans delivery (the feeds every lead's value and payoff come from)."""
    for source in ("vendor_parcels", "vendor_avm", "vendor_loans"):
        for old in (landing / source / "2026-11-25").iterdir():
            folder = landing / source / "2026-11-27"
            folder.mkdir(parents=True, exist_ok=True)
            header = old.read_text(encoding="utf-8").splitlines()[0]
            (folder / old.name).write_text(header + "\n", encoding="utf-8")
    return "vendor_parcels"


def _duplicated(landing: Path) -> str:
    path = _fl(landing)
    data = path.read_bytes()
    path.write_bytes(data + data)  # every record twice
    copy = path.with_name("OR_20261127_copy.txt")
    copy.write_bytes(data)  # and the same file again under another name
    return "fl_hillsborough"


def _cp1252(landing: Path) -> str:
    path = _ca(landing)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    rows = _ca_rows(40)
    rows[3] = rows[3].replace("OWNER 3", "MU\u00d1OZ, JOS\u00c9")
    path.write_bytes((header + "\n" + "\n".join(rows) + "\n").encode("cp1252"))  # declared utf-8
    return "ca_riverside"


def _huge_field(landing: Path) -> str:
    path = _tx(landing)
    records = [
        {
            "file_no": f"FC-900{i}",
            "filed": "2026-11-27",
            "doc_type": "NOTICE OF TRUSTEE SALE",
            "sale_date": "2027-01-05",
            "grantor": "OWNER",
            "mortgagee": "BANK",
            "property_address": f"{i} TEST ST",
            "legal_description": "X" * 3_000_000 if i == 0 else "LT 1 BLK 1",
            "original_loan_amount": "150000",
            "hcad_account": f"{9_000_000_000_000 + i}",
        }
        for i in range(40)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return "tx_harris"


def _renamed_column(landing: Path) -> str:
    path = _tx(landing)
    record = {
        "file_no": "FC-9001",
        "filed": "2026-11-27",
        "doc_type": "NOTICE OF TRUSTEE SALE",
        "sale_date": "2027-01-05",
        "grantor": "OWNER",
        "mortgagee": "BANK",
        "property_address": "1 TEST ST",
        "legal_description": "LT 1 BLK 1",
        "original_loan_amount": "150000",
        "account_number": "9000000000001",  # was hcad_account
    }
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return "tx_harris"


def _placeholders(landing: Path) -> str:
    path = _ca(landing)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    width = header.count(",") + 1
    path.write_text(header + "\n" + "\n".join([",".join(["NA"] * width)] * 40) + "\n", encoding="utf-8")
    return "ca_riverside"


BAD_DELIVERIES: dict[str, tuple[str, Callable[[Path], str]]] = {
    # name: (reliability.md row, mutate the landing copy and return the source it hits)
    "truncated pipe file": ("10", _truncated),
    "truncated csv (no final newline)": ("10", _truncated_csv),
    "corrupt (gzip bytes in a .txt)": ("10", _corrupt_gzip),
    "empty files": ("11", _empty),
    "header-only csv": ("11", _header_only),
    "empty feeds (parcels, AVM, loans)": ("11", _empty_feeds),
    "duplicated rows and file": ("5", _duplicated),
    "cp1252 bytes, declared utf-8": ("14", _cp1252),
    "3 MB field": ("15", _huge_field),
    "column renamed": ("12", _renamed_column),
    "placeholder storm (every value NA)": ("13", _placeholders),
}


@dataclasses.dataclass
class BadDelivery:
    outcome: Outcome
    summary: dict
    source: str
    data_dir: Path
    landing: Path


def bad_delivery_outcome(base: Baseline, work: Path, name: str) -> BadDelivery:
    """The AS_OF run (a child) with one bad delivery in the landing: no crash; the hit source fails with a
    reason or quarantines; the other sources publish; the leads are never wiped."""
    _, mutate = BAD_DELIVERIES[name]
    work.mkdir(parents=True, exist_ok=True)
    landing = work / "landing"
    shutil.copytree(base.landing, landing)
    source = mutate(landing)
    data_dir = work / "data"
    shutil.copytree(base.previous_dir, data_dir)
    outcome = Outcome(f"bad delivery: {name}", source)
    child = run_child(ChildSpec(data_dir, landing, AS_OF, work / "run"))
    summary = (child.result or {}).get("summary") or {}
    if child.exitcode != 0 or not summary:
        outcome.failed.append(f"the run crashed: exit {child.exitcode} {child.result}")
        return BadDelivery(outcome, summary, source, data_dir, landing)
    hit = next(s for s in summary["sources"] if s["source"] == source)
    if hit["status"] == "failed" and not hit["message"]:
        outcome.failed.append("the source failed without a reason")
    others = [s["source"] for s in summary["sources"] if s["source"] != source and s["status"] == "failed"]
    if others:
        outcome.failed.append(f"other sources failed: {others}")
    if summary["status"] == "failed":
        outcome.failed.append(f"the audit held the publish back: {summary['message']}")
    try:
        version = published_version(data_dir / "warehouse" / "leads.duckdb")
    except Exception as exc:
        outcome.lost.append(f"published file does not open: {exc}")
        return BadDelivery(outcome, summary, source, data_dir, landing)
    if version.rows < base.previous.rows:
        outcome.lost.append(f"published leads shrank from {base.previous.rows} to {version.rows}")
    outcome.lost += duplicate_problems(data_dir)
    outcome.notes.append(
        f"{source}: {hit['status']} {hit['message'] or ''} (quarantined {hit['rows_quarantined']})".strip()
    )
    return BadDelivery(outcome, summary, source, data_dir, landing)


def bad_delivery_loop(
    base: Baseline, work: Path, names: list[str], workers: int = 2
) -> dict[str, BadDelivery]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            n: pool.submit(bad_delivery_outcome, base, work / f"bad-{i}", n) for i, n in enumerate(names)
        }
        return {n: f.result() for n, f in futures.items()}


# ------------------------------------------------------------------------------------------------ table


@dataclasses.dataclass
class Row:
    fault: str
    rows: str  # reliability.md rows
    outcomes: list[Outcome]

    @property
    def tried(self) -> int:
        return len(self.outcomes)

    @property
    def survived(self) -> int:
        return sum(o.survived for o in self.outcomes)

    @property
    def lost(self) -> int:
        return sum(bool(o.lost) for o in self.outcomes)


def fault_table(rows: list[Row]) -> str:
    lines = [
        "| fault | reliability.md | runs tried | survived | data lost |",
        "|---|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(f"| {row.fault} | {row.rows} | {row.tried} | {row.survived} | {row.lost} |")
    problems = [
        f"- {o.fault} at `{o.where}`: " + "; ".join(o.lost + o.failed)
        for r in rows
        for o in r.outcomes
        if not o.survived
    ]
    if problems:
        lines += ["", "Not survived:", *problems]
    return "\n".join(lines)


TMPFS_FREE_KB = [256, 2048, 64, 512, 1024, 1536, 3072, 4096, 6144]  # the first two in the default run


def point_kind(name: str) -> str:
    """Which part of the run a kill point is in (a row of the fault table)."""
    if (
        name.startswith(("written:exports/", "replace-before:exports/", "replace-after:exports/"))
        or name == "export"
    ):
        return "export"
    if name.startswith(
        ("publish", "written:warehouse/", "replace-before:warehouse/", "replace-after:warehouse/")
    ):
        return "publish"
    if name.startswith(
        ("upsert-uncommitted:", "run_source:", "land_ahead:", "replace-before:raw/", "replace-after:raw/")
    ):
        return "staging"
    return "step"


KILL_ROWS = {
    "step": ("SIGKILL after a task (load, start, stage, cases, score, changes, audit, finish)", "1, 2"),
    "staging": ("SIGKILL inside staging (raw copy, upsert before COMMIT, source committed)", "1, 2"),
    "publish": ("SIGKILL inside publish (run marked, state committed, file built / swapped)", "1, 2"),
    "export": ("SIGKILL mid-export (temp written, before / after each rename)", "3"),
}


def run_all(work: Path, soak: bool, seed: int, log: Callable[[str], None]) -> list[Row]:
    """Every scenario once (soak: every point, more random kills, more disk sizes); rows of the fault table."""
    started = time.perf_counter()

    def done(what: str) -> None:
        log(f"{what} ({time.perf_counter() - started:.0f} s)")

    base = make_baseline(work / "baseline")
    done(f"baseline: {len(base.points)} points, an uninterrupted run takes {base.run_seconds:.1f} s")
    numbers = list(range(1, len(base.points) + 1)) if soak else default_kill_points(base.points)
    kills = kill_loop(base, work / "kill", numbers)
    rows = [
        Row(
            title,
            ref,
            [o for o, n in zip(kills, numbers, strict=True) if point_kind(base.points[n - 1]) == kind],
        )
        for kind, (title, ref) in KILL_ROWS.items()
    ]
    done(f"kill loop over {len(numbers)} points")
    rows.append(
        Row(
            "SIGKILL at a random moment (os.kill from the parent)",
            "1, 2, 3",
            kill_at_random(base, work / "random", 40 if soak else 4, seed),
        )
    )
    done("random kills")
    rows.append(
        Row(
            "state torn in mid-checkpoint: one-line error, rebuild from raw",
            "1",
            [damaged_state_iteration(base, work / "damaged")],
        )
    )
    for stage, outcome in disk_full_loop(base, work / "enospc", list(DISK_FULL_AT)).items():
        rows.append(Row(f"disk full (injected ENOSPC) during {stage}", "18", [outcome]))
    real = [
        tmpfs_disk_full(base, work / f"tmpfs-{kb}", kb)
        for kb in (TMPFS_FREE_KB if soak else TMPFS_FREE_KB[:2])
    ]
    if all(r is not None for r in real):
        rows.append(Row("disk full on a real tmpfs (Python and DuckDB ENOSPC)", "18", [r for r in real if r]))
    else:
        log("no tmpfs could be mounted (not root): the real disk-full row is left out")
    done("disk full")
    rows.append(
        Row(
            "second refresh while one runs (refused)", "16", [concurrent_refreshes(base, work / "concurrent")]
        )
    )
    rows.append(
        Row(
            "two refreshes started together",
            "16",
            [simultaneous_refreshes(base, work / f"together-{i}") for i in range(3 if soak else 1)],
        )
    )
    pauses = None if soak else analyst_pause_points(base.points)
    rows.append(
        Row(
            "analyst session open through the run",
            "17",
            [analyst_during_refresh(base, work / "analyst", pauses)],
        )
    )
    done("concurrency")
    for name, result in bad_delivery_loop(base, work / "bad", list(BAD_DELIVERIES)).items():
        rows.append(Row(f"bad delivery: {name}", BAD_DELIVERIES[name][0], [result.outcome]))
    done("bad deliveries")
    return rows


# ------------------------------------------------------------------------------------------------- CLI


def _child_cli(args: argparse.Namespace) -> int:
    """`python -m bench.faults child ...`: one refresh in this process, with LEADS_FAULT_* from the
    environment (a separate interpreter, as a scheduler would start it)."""
    settings = fault_settings(
        Path(args.data_dir), Path(args.landing), Path(args.config_dir) if args.config_dir else None
    )
    points = Points.from_env()
    try:
        summary = refresh_with_points(settings, dt.date.fromisoformat(args.as_of), points)
    except RefreshRunning as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(json.dumps({"status": summary["status"], "run_id": summary["run_id"]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child", help="run one refresh with the fault points of the environment")
    child.add_argument("--data-dir", required=True)
    child.add_argument("--landing", required=True)
    child.add_argument("--as-of", default=AS_OF.isoformat())
    child.add_argument("--config-dir")
    table = sub.add_parser("table", help="run the fault scenarios and print the fault table (default)")
    for p in (parser, table):
        p.add_argument("--soak", action="store_true", help="every point, more random kills (LEADS_SOAK=1)")
        p.add_argument("--seed", type=int, default=int(os.environ.get("LEADS_FAULT_SEED", "7")))
        p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    if args.command == "child":
        return _child_cli(args)
    soak = args.soak or os.environ.get("LEADS_SOAK") == "1"
    work = scratch_root()
    try:
        rows = run_all(work, soak, args.seed, lambda m: print(m, file=sys.stderr, flush=True))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(fault_table(rows))
    return 1 if any(r.lost for r in rows) else 0


if __name__ == "__main__":
    # Children come from the fork server and need nothing of __main__: run the importable module's main, and
    # keep multiprocessing from re-running this file in each of them.
    sys.modules["__main__"].__spec__ = None
    del sys.modules["__main__"].__file__
    from bench.faults import main as _main

    sys.exit(_main())
