"""The nightly refresh with each source's prepare step on a Dask cluster (docs/scale-out.md).

Only the database-free part runs on the workers: reading a landed delivery, canonicalizing, validating and
computing match keys (`leads.staging.prepared_source`), written as Parquet under
data/state/prepared/<run_id>/<source>/. Landing (the raw manifest), the commit of each source (one
transaction, as `staged_source` does), cases, scoring, audit and publish stay in this process: the state
database has one writer. Tasks pass paths, configs and counts, never frames.

A separate flow rather than an option of `nightly-refresh`: the task runner is part of a flow's definition,
a Dask run needs a real Prefect server (worker processes cannot reach the temporary one), and the default
nightly should neither import Dask nor depend on a cluster. Everything after staging is the same code
(`flows.nightly.refresh`).

The cluster: `LEADS_DASK_ADDRESS` (an existing scheduler, e.g. tcp://10.0.0.5:8786), else a local cluster of
`LEADS_DASK_WORKERS` processes with one thread each, started and stopped with the flow run.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect_dask import DaskTaskRunner

from flows.nightly import log_outcome, refresh
from leads import pipeline
from leads.db import state_db
from leads.errors import SourceFailed
from leads.landing import LandedFile
from leads.settings import Settings, get_settings
from leads.sources import SourceConfig
from leads.staging import (
    PreparedFiles,
    commit_prepared,
    prepared_source,
    recent_median_rows,
)


def dask_task_runner(settings: Settings) -> DaskTaskRunner:
    """The scheduler at `LEADS_DASK_ADDRESS`, else a local cluster of worker processes (one thread each:
    Polars already uses every core of a process)."""
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    # the workers share this machine's cores: each one's Polars gets its share, not all of them
    polars_threads = max(1, (os.cpu_count() or 1) // settings.dask_workers)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": settings.dask_workers,
            "processes": True,
            "threads_per_worker": 1,
            "host": "127.0.0.1",
            "dashboard_address": "127.0.0.1:0",  # no fixed port 8787 to collide on
            "env": {"POLARS_MAX_THREADS": str(polars_threads)},
        }
    )


def prepared_dir(settings: Settings) -> Path:
    """The scratch folder of prepared sources, data/state/prepared/<run_id>/<source>/ (personal data: a run's
    folder is removed once committed). On a multi-machine cluster, a shared filesystem is mounted here."""
    return settings.state_dir / "prepared"


@dataclass(frozen=True)
class Landed:
    """A landed source on its way to a worker: the files to prepare and the source's normal delivery size."""

    outcome: pipeline.SourceOutcome
    files: list[LandedFile]
    norm_rows: float | None


@dataclass(frozen=True)
class Prepared:
    """What a worker sends back: the Parquet paths and counts, and why the source failed if it did."""

    files: PreparedFiles


@task(name="land", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def land_source(
    settings: Settings, config: SourceConfig, as_of: dt.date, run_id: str, received_at: dt.datetime
) -> Landed:
    """Fetch and land one source in this process (the raw manifest lives in the state database)."""
    with state_db(settings) as con:
        outcome, files = pipeline.landed_source(con, config, settings, as_of, run_id, received_at)
        if outcome.status != "ok":
            pipeline.record_source(con, run_id, outcome)
            log_outcome(outcome)
        return Landed(outcome, files, recent_median_rows(con, config.source) if files else None)


@task(name="prepare-source", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def prepare_source(
    config: SourceConfig, files: list[LandedFile], data_dir: str, norm_rows: float | None, folder: str
) -> Prepared:
    """On a Dask worker: read, canonicalize, validate and key one source's landed files into Parquet.
    Needs data/raw and the scratch folder at the same paths as the flow (a shared filesystem). A file that
    fails its checks ends the preparation; its reason travels back in the result (not as an exception)."""
    return Prepared(prepared_source(config, files, Path(data_dir), norm_rows, Path(folder)))


@task(name="commit-source", cache_policy=NO_CACHE)
def commit_source(
    settings: Settings, config: SourceConfig, landed: Landed, prepared: Prepared, run_id: str
) -> pipeline.SourceOutcome:
    """In this process: one transaction per landed file (staged rows, quarantine, manifest), then the
    source's outcome row."""
    outcome = landed.outcome
    with state_db(settings) as con:
        try:
            result = commit_prepared(con, config, prepared.files, run_id)
            outcome = pipeline.source_staged(outcome, result)
        except SourceFailed as exc:
            outcome = pipeline.source_failed(con, outcome, landed.files, str(exc))
        pipeline.record_source(con, run_id, outcome)
    log_outcome(outcome)
    return outcome


def stage_on_cluster(
    settings: Settings, configs: list[SourceConfig], as_of: dt.date, run_id: str, received_at: dt.datetime
) -> list[pipeline.SourceOutcome]:
    """Land every source here, submit the prepare steps biggest delivery first (the longest task starts
    first), commit each source as soon as it is prepared; outcomes in config order, as in-process."""
    scratch = prepared_dir(settings)
    _clear(scratch)  # a crashed run's leftovers (one refresh per data dir at a time)
    try:
        landed = {c.source: land_source(settings, c, as_of, run_id, received_at) for c in configs}
        by_size = sorted(
            (c for c in configs if landed[c.source].files),
            key=lambda c: -sum(f.bytes for f in landed[c.source].files),
        )
        futures = {
            prepare_source.submit(
                c,
                landed[c.source].files,
                str(settings.data_dir),
                landed[c.source].norm_rows,
                str(scratch / run_id / c.source),
            ): c
            for c in by_size
        }
        outcomes = {source: item.outcome for source, item in landed.items() if not item.files}
        for future in as_completed(list(futures)):
            config = futures[future]
            outcomes[config.source] = commit_source(
                settings, config, landed[config.source], future.result(), run_id
            )
        return [outcomes[c.source] for c in configs]
    finally:
        shutil.rmtree(scratch / run_id, ignore_errors=True)


def _clear(folder: Path) -> None:
    """Empty the folder but keep it: it may be the mount point of a shared filesystem."""
    if folder.is_dir():
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


@flow(
    name="nightly-refresh-dask",
    log_prints=False,
    persist_result=False,
    task_runner=dask_task_runner(get_settings()),
)
def nightly_refresh_dask(
    as_of: dt.date | None = None,
    sources: list[str] | None = None,
    landing_dir: str | None = None,
    full: bool = False,
) -> dict:
    """The nightly refresh (same parameters, same result) with each source prepared on the Dask cluster."""
    return refresh(as_of, sources, landing_dir, stage_on_cluster, full)
