"""Backfill and rebuild: re-run a range of as-of dates in order, giving the state nightly runs would have.

A backfill replays the landing folder date by date. A rebuild first sets the working state aside and replays
the immutable raw landing (data/raw has the landing layout), so the warehouse is rebuilt from raw alone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, get_run_logger

from flows.nightly import nightly_refresh
from leads.errors import LeadsError
from leads.settings import Settings, get_settings

MAX_DAYS = 3660


def as_of_dates(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every date from start to end, inclusive, in order."""
    if end < start:
        raise LeadsError(f"backfill end {end} is before its start {start}")
    if (end - start).days >= MAX_DAYS:
        raise LeadsError(f"backfill of {(end - start).days + 1} days is over the {MAX_DAYS}-day limit")
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def state_set_aside(settings: Settings) -> Path | None:
    """Rename the working state (and its WAL: DuckDB would delete a WAL left without its database) to
    pipeline.before-rebuild-<UTC stamp>.duckdb, and its staged feed files (leads/feeds.py) to
    feeds.before-rebuild-<UTC stamp>, kept for a post-mortem; the path, or None when there was none."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    aside = None
    if settings.state_db.exists():
        aside = settings.state_db.with_name(f"pipeline.before-rebuild-{stamp}.duckdb")
        wal = settings.state_db.with_name(settings.state_db.name + ".wal")
        if wal.exists():
            wal.rename(aside.with_name(aside.name + ".wal"))
        settings.state_db.rename(aside)
    # after the database: a kill in between leaves no state listing files that are gone
    feeds = settings.state_dir / "feeds"
    if feeds.is_dir():
        feeds.rename(settings.state_dir / f"feeds.before-rebuild-{stamp}")
    return aside


@flow(name="backfill", log_prints=False, persist_result=False)
def backfill(start: dt.date, end: dt.date, rebuild: bool = False) -> list[dict]:
    """Run the nightly refresh for each as-of date in [start, end]; stop at the first failed run."""
    settings = get_settings()
    landing = None
    if rebuild:
        if not settings.raw_dir.is_dir():
            raise LeadsError(f"nothing to rebuild from: {settings.raw_dir} does not exist")
        state_set_aside(settings)
        # replay from an immutable copy's layout: data/raw/<source>/<date>/<files>
        landing = str(settings.raw_dir)
    summaries = []
    for day in as_of_dates(start, end):
        state = nightly_refresh(as_of=day, landing_dir=landing, return_state=True)
        summary = state.result(raise_on_failure=False)
        if state.is_failed() or not isinstance(summary, dict):
            get_run_logger().error("backfill stopped at %s: %s", day, state.message)
            summaries.append({"as_of": day.isoformat(), "status": "failed", "message": state.message})
            break
        summaries.append(summary)
    return summaries
