"""Operations: the deployment definition (no server), backfill = nightly, rebuild from raw, status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from leads.db import analyst_connection, state_db
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


def _assert_published_equals_a_full_build(data_dir: Path) -> None:
    """The published file (built from a copy of the previous one, per-run tables brought up to date slice by
    slice, leads lead by lead) holds what a build from scratch of the same state holds; the per-run tables laid
    out the same way (the leads rewritten in the copy are appended, so those two tables compare by key)."""
    from leads.publish import PER_RUN_TABLES, _build

    settings = Settings()
    scratch = data_dir.parent / "full-build"
    scratch.mkdir(exist_ok=True)
    full = scratch / "full.duckdb"
    full.unlink(missing_ok=True)
    with state_db(settings) as con:
        (run_id,) = con.execute("SELECT max(run_id) FROM runs").fetchall()[0]
        # no previous file under the scratch data dir: the build starts from scratch
        _build(con, settings.model_copy(update={"data_dir": scratch}), full, run_id, "published")
    published = duckdb.connect(str(data_dir / "warehouse" / "leads.duckdb"), read_only=True)
    rebuilt = duckdb.connect(str(full), read_only=True)
    try:
        for table in PER_RUN_TABLES:
            query = f"SELECT * FROM {table} ORDER BY rowid"  # noqa: S608 (physical order)
            assert_frame_equal(published.sql(query).pl(), rebuilt.sql(query).pl())
        for table, key in (("leads", "lead_id"), ("lead_filings", "lead_id, recorded_date, record_id")):
            query = f"SELECT * FROM {table} ORDER BY {key}"  # noqa: S608
            assert_frame_equal(published.sql(query).pl(), rebuilt.sql(query).pl())
    finally:
        published.close()
        rebuilt.close()


def test_publish_reuses_the_previous_file_only_when_it_fits(tmp_path: Path) -> None:
    from leads.publish import LEAD_FILINGS, PUBLISHED_TABLES, _copy_of_previous

    con = duckdb.connect(str(tmp_path / "state.duckdb"))
    previous = tmp_path / "previous.duckdb"
    building = tmp_path / "building.duckdb"
    for table in ("lead_history", "lead_events", "quarantine"):
        con.execute(f"CREATE TABLE {table} (run_id VARCHAR)")
    con.execute("CREATE TABLE published_leads (lead_id VARCHAR, case_id VARCHAR, run_id VARCHAR)")
    con.execute(
        "CREATE TABLE case_filings (case_id VARCHAR, source VARCHAR, record_id VARCHAR, doc_type VARCHAR, "
        "event VARCHAR, recorded_date DATE, case_number VARCHAR, sale_date DATE, amount_due DOUBLE, "
        "joined_by VARCHAR, case_key VARCHAR, match_method VARCHAR, match_confidence DOUBLE, "
        "match_note VARCHAR, parcel_apn VARCHAR)"
    )
    shapes = {
        "leads": "lead_id VARCHAR, case_id VARCHAR, run_id VARCHAR",
        "lead_filings": ", ".join(
            f"{n} {t}" for n, t, *_ in con.execute(f"DESCRIBE {LEAD_FILINGS}").fetchall()
        ),
    }

    def make_previous(extra_column: bool = False, skip: str = "", leads: str = shapes["leads"]) -> None:
        previous.unlink(missing_ok=True)
        pub = duckdb.connect(str(previous))
        for table in PUBLISHED_TABLES:
            if table != skip:
                extra = ", note VARCHAR" if extra_column and table == "lead_history" else ""
                shape = leads if table == "leads" else shapes.get(table, "run_id VARCHAR")
                pub.execute(f"CREATE TABLE {table} ({shape}{extra})")
        pub.execute("CREATE VIEW old_view AS SELECT * FROM runs")
        pub.close()

    assert not _copy_of_previous(con, previous, building)  # nothing published yet
    make_previous()
    assert _copy_of_previous(con, previous, building)
    copy = duckdb.connect(str(building), read_only=True)
    views = copy.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    copy.close()
    assert views == []  # the build creates the views of this version
    # a per-run table or the leads of another shape (a changed contract), a table missing: built from scratch
    for kind in (
        {"extra_column": True},
        {"skip": "lead_filings"},
        {"leads": "lead_id VARCHAR, run_id VARCHAR"},
    ):
        building.unlink(missing_ok=True)
        make_previous(**kind)
        assert not _copy_of_previous(con, previous, building), kind
        assert not building.exists()
    con.close()


def test_backfill_and_rebuild_equal_nightly_runs(prefect_harness: None, data_dir: Path) -> None:
    from flows.backfill import backfill
    from flows.nightly import nightly_refresh

    for day in DAYS:
        assert nightly_refresh(as_of=day, return_state=True).is_completed()
    nightly = _published(data_dir)
    _assert_published_equals_a_full_build(data_dir)

    # the same dates replayed from the immutable raw landing, working state set aside
    state = backfill(start=DAYS[0], end=DAYS[-1], rebuild=True, return_state=True)
    assert state.is_completed()
    assert [s["status"] for s in state.result()] == ["published"] * 3
    rebuilt = _published(data_dir)
    assert_frame_equal(nightly[0], rebuilt[0])
    assert_frame_equal(nightly[1], rebuilt[1])
    _assert_published_equals_a_full_build(data_dir)  # every run replaced: the previous file's slices went
    assert list((data_dir / "state").glob("pipeline.before-rebuild-*.duckdb"))
    # the old state's feed files went aside with it; the rebuilt state has its own
    assert list((data_dir / "state").glob("feeds.before-rebuild-*/parcels/*/*.parquet"))
    assert list((data_dir / "state" / "feeds").glob("parcels/*/*.parquet"))


def test_status_tells_the_last_runs(prefect_harness: None, data_dir: Path) -> None:
    from flows.nightly import nightly_refresh
    from leads.cli import app

    assert nightly_refresh(as_of=DAYS[-1], return_state=True).is_completed()
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert (
        "published" in result.output and "tx_harris" in result.output and "Published leads" in result.output
    )


def test_a_scheduled_run_on_a_damaged_state_fails_with_the_rebuild_command(
    prefect_harness: None, data_dir: Path
) -> None:
    """A deployment run has no CLI preflight: the flow itself checks the state before its first task and
    fails with the one line (no run starts, the published file stays)."""
    from flows.nightly import nightly_refresh

    assert nightly_refresh(as_of=DAYS[0], return_state=True).is_completed()
    published = (data_dir / "warehouse" / "leads.duckdb").read_bytes()
    with (data_dir / "state" / "pipeline.duckdb").open("r+b") as f:  # block 0, after three 4 KiB headers
        f.seek(3 * 4096 + 4096)
        f.write(b"\xff" * 64)
    state = nightly_refresh(as_of=DAYS[1], return_state=True)
    assert state.is_failed()
    assert "is damaged (Corrupt database file" in state.message
    assert state.message.endswith(f"`leads backfill --from {DAYS[0]} --to {DAYS[0]} --rebuild`")
    assert (data_dir / "warehouse" / "leads.duckdb").read_bytes() == published
