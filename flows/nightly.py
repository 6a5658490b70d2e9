"""The nightly refresh: extract -> validate -> stage -> match -> cases -> join -> score -> audit -> publish -> export.

The flow only orchestrates; each task is a thin wrapper around a function in leads/ (I/O) that calls pure
transforms in transforms/. Tasks pass dates, names and counts, never frames (no caching, no PII in Prefect).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from flows.artifacts import publish_artifacts
from leads import case_tables, lead_tables, pipeline
from leads.db import ensure_state_readable, state_db
from leads.errors import LeadsError, StateDamaged
from leads.html_report import write_report
from leads.landing import Receiver
from leads.locks import refresh_lock
from leads.publish import audit_failures, export_snapshot, publish
from leads.scoring import load_scoring
from leads.settings import Settings, get_settings
from leads.sources import SourceConfig, load_sources


@task(name="load-configs", cache_policy=NO_CACHE)
def load_configs(settings: Settings, sources: list[str] | None) -> list[SourceConfig]:
    return load_sources(settings.sources_dir, sources or settings.selected_sources)


@task(name="start-run", cache_policy=NO_CACHE)
def start_run(settings: Settings, run_id: str, as_of: dt.date, started_at: dt.datetime) -> None:
    with state_db(settings) as con:
        pipeline.start_run(con, run_id, as_of, started_at, settings.published_db)
        pipeline.ensure_staged_tables(con)
        pipeline.load_reference(con, settings)


@task(name="receive-ahead", cache_policy=NO_CACHE)
def receive_ahead(settings: Settings, configs: list[SourceConfig], as_of: dt.date, receiver: Receiver) -> int:
    with state_db(settings) as con:
        return pipeline.receive_ahead(con, configs, settings, as_of, receiver)


@task(name="extract-validate-stage", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def stage_source(
    settings: Settings,
    config: SourceConfig,
    as_of: dt.date,
    run_id: str,
    received_at: dt.datetime,
    receiver: Receiver | None = None,
    ahead: pipeline.Ahead | None = None,
) -> pipeline.SourceOutcome:
    """Land and stage one source (`ahead`: landed earlier and prepared on the side thread: commit it)."""
    with state_db(settings) as con:
        if ahead is None:
            outcome = pipeline.run_source(con, config, settings, as_of, run_id, received_at, receiver)
        else:
            outcome = pipeline.staged_ahead(con, config, settings, as_of, run_id, received_at, ahead)
        pipeline.record_source(con, run_id, outcome)
    log_outcome(outcome)
    return outcome


@task(name="land-ahead", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def land_ahead(
    settings: Settings,
    config: SourceConfig,
    as_of: dt.date,
    run_id: str,
    received_at: dt.datetime,
    side: Executor,
    receiver: Receiver | None = None,
) -> pipeline.Ahead:
    """Land one source before its turn and start its preparation on the side thread."""
    with state_db(settings) as con:
        return pipeline.landed_ahead(con, config, settings, as_of, run_id, received_at, side, receiver)


def log_outcome(outcome: pipeline.SourceOutcome) -> None:
    """One log line per source (counts only) and one per warning."""
    logger = get_run_logger()
    logger.info(
        "source %s: %s, files %d new / %d skipped, rows in %d, quarantined %d, staged %d",
        outcome.source,
        outcome.status,
        outcome.files_landed,
        outcome.files_skipped,
        outcome.rows_in,
        outcome.rows_quarantined,
        outcome.rows_staged,
    )
    for warning in outcome.warnings:
        logger.warning("source %s: %s", outcome.source, warning)


# How a flow lands and stages its sources: (settings, configs, as_of, run_id, received_at) -> outcomes.
StageSources = Callable[
    [Settings, list[SourceConfig], dt.date, str, dt.datetime], list[pipeline.SourceOutcome]
]


def stage_in_process(
    settings: Settings, configs: list[SourceConfig], as_of: dt.date, run_id: str, received_at: dt.datetime
) -> list[pipeline.SourceOutcome]:
    """Each source landed and staged in this process. The delivery files of the sources still to come are
    copied into raw meanwhile (disk work overlapping the CPU-bound staging), and the filing sources are
    landed first and prepared on one side thread while the feeds stage, then committed after them
    (`pipeline.sources_ahead`). Outcomes in config order."""
    order = pipeline.landing_order(configs)
    early = pipeline.sources_ahead(configs)
    with Receiver() as receiver, ThreadPoolExecutor(max_workers=1, thread_name_prefix="ahead") as side:
        try:
            receive_ahead(settings, order, as_of, receiver)
            ahead = {
                c.source: land_ahead(settings, c, as_of, run_id, received_at, side, receiver) for c in early
            }
            outcomes = {
                c.source: stage_source(settings, c, as_of, run_id, received_at, receiver)
                for c in order
                if c.source not in ahead
            }
            for c in early:
                outcomes[c.source] = stage_source(
                    settings, c, as_of, run_id, received_at, receiver, ahead[c.source]
                )
        except BaseException:
            side.shutdown(wait=False, cancel_futures=True)  # the run fails: prepare nothing more
            raise
        return [outcomes[c.source] for c in configs]


@task(name="match-and-assemble-cases", cache_policy=NO_CACHE)
def assemble_cases(settings: Settings, as_of: dt.date, full: bool = False) -> dict[str, int]:
    with state_db(settings) as con:
        return case_tables.build_cases(con, settings, as_of, full=full)


@task(name="join-and-score", cache_policy=NO_CACHE)
def score_leads(settings: Settings, as_of: dt.date, run_id: str, full: bool = False) -> dict[str, int]:
    scoring = load_scoring(settings.config_dir / "scoring.yaml")
    with state_db(settings) as con:
        return lead_tables.build_leads(con, settings, scoring, as_of, run_id, full=full)


@task(name="changes", cache_policy=NO_CACHE)
def changes(settings: Settings, run_id: str, as_of: dt.date) -> dict[str, int]:
    with state_db(settings) as con:
        return pipeline.build_changes(con, run_id, as_of)


@task(name="audit", cache_policy=NO_CACHE)
def audit(settings: Settings) -> list[str]:
    with state_db(settings) as con:
        return [f"{f.audit}: {f.detail}" for f in audit_failures(con, settings)]


@task(name="publish", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def publish_leads(settings: Settings, run_id: str, status: str, summary: dict) -> str:
    with state_db(settings) as con:
        pipeline.finish_run(con, run_id, "publishing", summary)
        return str(publish(con, settings, run_id, status))


@task(name="export", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def export(settings: Settings, run_id: str) -> str:
    with state_db(settings) as con:
        return str(export_snapshot(con, settings, run_id))


@task(name="report", cache_policy=NO_CACHE)
def report(settings: Settings, summary: dict) -> str | None:
    """Prefect artifacts and the HTML morning report (data/reports/<run_id>.html)."""
    if settings.published_db.exists():
        if summary["status"] != "failed":
            publish_artifacts(settings, summary)
        return str(write_report(settings.published_db, settings.reports_dir, summary["run_id"]))
    return None


@task(name="finish-run", cache_policy=NO_CACHE)
def finish_run(settings: Settings, run_id: str, status: str, summary: dict) -> None:
    with state_db(settings) as con:
        pipeline.finish_run(con, run_id, status, summary)


@flow(name="nightly-refresh", log_prints=False, persist_result=False)
def nightly_refresh(
    as_of: dt.date | None = None,
    sources: list[str] | None = None,
    landing_dir: str | None = None,
    full: bool = False,
) -> dict:
    """Refresh the published leads for `as_of` (default: today in the schedule's timezone) from every source,
    or the named ones; `landing_dir` overrides where deliveries are read (a rebuild replays data/raw); `full`
    rebuilds every case and scores every lead, final ones included (after a corrected dimension delivery)."""
    return refresh(as_of, sources, landing_dir, stage_in_process, full)


def refresh(
    as_of: dt.date | None,
    sources: list[str] | None,
    landing_dir: str | None,
    stage_sources: StageSources,
    full: bool = False,
) -> State:
    """The body of a refresh flow (called inside the flow run); `stage_sources` lands and stages the sources
    (in this process, or prepared on a Dask cluster: flows/scale_out.py). Everything after staging is
    central."""
    settings = get_settings()
    if landing_dir:
        settings = settings.model_copy(update={"landing_dir": Path(landing_dir)})
    as_of = as_of or dt.datetime.now(ZoneInfo(settings.schedule_timezone)).date()
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_id = pipeline.new_run_id(as_of, started_at)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        timings[step] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()

    if not settings.landing.is_dir():
        raise LeadsError(f"landing folder {settings.landing} does not exist (set LEADS_LANDING_DIR)")
    with refresh_lock(settings):
        try:
            ensure_state_readable(settings)  # (the CLI checked too; a scheduled run has no CLI)
        except StateDamaged as exc:
            get_run_logger().error("%s", exc)
            return Failed(message=str(exc))
        configs = load_configs(settings, sources)
        start_run(settings, run_id, as_of, started_at)
        outcomes = stage_sources(settings, configs, as_of, run_id, started_at)
        lap("extract_validate_stage")
        case_counts = assemble_cases(settings, as_of, full)
        lap("match_and_cases")
        lead_counts = score_leads(settings, as_of, run_id, full)
        lap("join_and_score")
        lead_counts |= changes(settings, run_id, as_of)
        lap("changes")
        failures = audit(settings)
        lap("audit")
        summary = pipeline.run_summary(
            run_id, as_of, outcomes, {**case_counts, **lead_counts}, failures, timings
        )
        if failures:
            finish_run(settings, run_id, "failed", summary)
            report(settings, summary)
            return Failed(message=f"audit failed, previous publish kept: {'; '.join(failures)}", data=summary)
        publish_leads(settings, run_id, summary["status"], summary)
        lap("publish")
        summary["exports"] = export(settings, run_id)
        lap("export")
        summary["timings"] = timings
        finish_run(settings, run_id, summary["status"], summary)
        report(settings, summary)
    get_run_logger().info("run %s %s: %s", run_id, summary["status"], json.dumps(summary["stage_counts"]))
    return Completed(message=summary["status"], data=summary)
