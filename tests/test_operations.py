"""Operations: the deployment definition (no server), backfill = nightly, rebuild from raw, status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from leads.db import analyst_connection
from leads.errors import ConfigError, LeadsError
from leads.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DAYS = [dt.date(2026, 11, 25), dt.date(2026, 11, 26), dt.date(2026, 11, 27)]


def test_deployment_entrypoint_loads_and_parameters_validate() -> None:
    from prefect.flows import load_flow_from_entrypoint

    flow = load_flow_from_entrypoint(str(ROOT / "flows" / "nightly.py") + ":nightly_refresh")
    params = flow.validate_parameters({"as_of": "2026-11-27", "sources": ["tx_harris"]})
    assert params["as_of"] == dt.date(2026, 11, 27)
    with pytest.raises(Exception, match="as_of"):
        flow.validate_parameters({"as_of": "not-a-date"})


def test_deployment_schedule_and_concurrency() -> None:
    from flows.deployment import ENTRYPOINT, nightly_deployment

    deployment = nightly_deployment(Settings())
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "30 4 * * *"
    assert schedule.schedule.timezone == "America/New_York"
    assert schedule.active
    assert deployment.concurrency_limit == 1
    assert deployment.concurrency_options.collision_strategy.value == "ENQUEUE"
    assert deployment.entrypoint == ENTRYPOINT


@pytest.mark.parametrize(
    ("cron", "zone", "message"),
    [
        ("30 2 * * *", "America/New_York", "DST gap"),
        ("not a cron", "America/New_York", "not a valid cron"),
        ("30 4 * * *", "Mars/Olympus", "not a known timezone"),
    ],
)
def test_bad_schedules_are_refused(cron: str, zone: str, message: str) -> None:
    from flows.deployment import nightly_schedule

    with pytest.raises(ConfigError, match=message):
        nightly_schedule(Settings(schedule_cron=cron, schedule_timezone=zone))


def test_backfill_range_is_checked() -> None:
    from flows.backfill import as_of_dates

    assert as_of_dates(DAYS[0], DAYS[-1]) == DAYS
    with pytest.raises(LeadsError, match="before its start"):
        as_of_dates(DAYS[-1], DAYS[0])


def _published(data_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    con = analyst_connection(data_dir / "warehouse" / "leads.duckdb")
    try:
        leads = con.sql("SELECT * EXCLUDE (run_id) FROM leads ORDER BY lead_id").pl()
        events = con.sql(
            "SELECT as_of, lead_id, event_type, old_value, new_value FROM lead_events "
            "ORDER BY as_of, lead_id, event_type"
        ).pl()
    finally:
        con.close()
    return leads, events


def test_backfill_and_rebuild_equal_nightly_runs(prefect_harness: None, data_dir: Path) -> None:
    from flows.backfill import backfill
    from flows.nightly import nightly_refresh

    for day in DAYS:
        assert nightly_refresh(as_of=day, return_state=True).is_completed()
    nightly = _published(data_dir)

    # the same dates replayed from the immutable raw landing, working state set aside
    state = backfill(start=DAYS[0], end=DAYS[-1], rebuild=True, return_state=True)
    assert state.is_completed()
    assert [s["status"] for s in state.result()] == ["published"] * 3
    rebuilt = _published(data_dir)
    assert_frame_equal(nightly[0], rebuilt[0])
    assert_frame_equal(nightly[1], rebuilt[1])
    assert list((data_dir / "state").glob("pipeline.before-rebuild-*.duckdb"))


def test_status_tells_the_last_runs(prefect_harness: None, data_dir: Path) -> None:
    from flows.nightly import nightly_refresh
    from leads.cli import app

    assert nightly_refresh(as_of=DAYS[-1], return_state=True).is_completed()
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert (
        "published" in result.output and "tx_harris" in result.output and "Published leads" in result.output
    )
