"""Staging one file at a time inside one transaction: duplicates across files, first loads, worker parts."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from leads import pipeline
from leads.db import state_db, transaction, unordered_inserts
from leads.errors import SourceFailed
from leads.landing import landed_deliveries
from leads.settings import Settings
from leads.sources import SourceConfig
from leads.staging import commit_prepared, prepared_source, staged_source

AS_OF = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 27, 6, 0)
HEADER = "DocNumber,RecDate,DocType,TSNumber,APN,AmountDue\n"


def _deliver(landing: Path, day: str, name: str, rows: list[str]) -> None:
    path = landing / "ca_test" / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(r + "\n" for r in rows))


def _nod(record: str, amount: int) -> str:
    return f"{record},2026-11-20,NOD,TS-{record},{record}11,${amount}"


@pytest.fixture
def config(ca_test_source: SourceConfig) -> SourceConfig:
    return ca_test_source


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    landing = tmp_path / "landing"
    # two deliveries, three files: b.csv repeats record 2 (twice: the later line wins), 2026-11-26 repeats 1 and 3
    _deliver(landing, "2026-11-25", "a.csv", [_nod("1", 100), _nod("2", 200)])
    _deliver(landing, "2026-11-25", "b.csv", [_nod("2", 210), _nod("3", 300), _nod("2", 220)])
    _deliver(landing, "2026-11-26", "a.csv", [_nod("1", 150), _nod("3", 350), _nod("4", 400)])
    return Settings(data_dir=tmp_path / "data", landing_dir=landing)


def _staged(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT record_id, amount_due, file, delivery_date FROM staged_filings ORDER BY record_id"
    ).fetchall()


EXPECTED = [
    ("1", 150.0, "a.csv", dt.date(2026, 11, 26)),
    ("2", 220.0, "b.csv", dt.date(2026, 11, 25)),
    ("3", 350.0, "a.csv", dt.date(2026, 11, 26)),
    ("4", 400.0, "a.csv", dt.date(2026, 11, 26)),
]


def _landed(con: duckdb.DuckDBPyConnection, settings: Settings, config: SourceConfig) -> list:
    pipeline.ensure_staged_tables(con)
    return landed_deliveries(con, config, settings.landing, settings.data_dir, AS_OF, "run-1", NOW).files


def test_one_batch_of_files_keeps_the_latest_row_per_key_and_counts_every_duplicate(
    settings: Settings,
    config: SourceConfig,
) -> None:
    with state_db(settings) as con:
        result = staged_source(con, config, _landed(con, settings, config), settings.data_dir, "run-1")
        assert _staged(con) == EXPECTED
    # 8 valid rows, 4 keys: one repeat inside b.csv, one across a/b, two across the deliveries
    assert (result.rows_in, result.rows_duplicate, result.rows_staged) == (8, 4, 4)


def test_a_first_load_and_a_load_on_top_of_staged_rows_agree(
    settings: Settings, config: SourceConfig
) -> None:
    with state_db(settings) as con:
        staged_source(con, config, _landed(con, settings, config), settings.data_dir, "run-1")
        first = _staged(con)
    # the same files staged again over existing rows take the key-join path, and change nothing
    with state_db(settings) as con:
        con.execute("UPDATE raw_manifest SET status = 'landed'")
        files = _landed(con, settings, config)
        again = staged_source(con, config, files, settings.data_dir, "run-2")
        assert _staged(con) == first == EXPECTED
    assert (again.rows_duplicate, again.rows_staged) == (4, 4)


def test_parts_prepared_on_a_worker_commit_to_the_same_rows(
    settings: Settings, config: SourceConfig, tmp_path: Path
) -> None:
    with state_db(settings) as con:
        files = _landed(con, settings, config)
        prepared = prepared_source(config, files, settings.data_dir, None, tmp_path / "prepared")
        assert len(prepared.parts) == 3 and all(p.staged_path for p in prepared.parts)
        result = commit_prepared(con, config, prepared, "run-1")
        assert _staged(con) == EXPECTED
        statuses = con.execute("SELECT DISTINCT status FROM raw_manifest").fetchall()
    assert (result.rows_duplicate, result.rows_staged) == (4, 4)
    assert statuses == [("staged",)]


def test_a_failing_file_keeps_the_files_before_it_and_is_retried(
    settings: Settings, config: SourceConfig
) -> None:
    """A landed file is the unit of atomicity: the files staged before a failing one stay staged; the failing
    file is marked failed, keeps nothing, and is staged next run once it is fixed."""
    bad = settings.landing / "ca_test" / "2026-11-26" / "z.csv"
    _deliver(settings.landing, "2026-11-26", "z.csv", ["5,not a date,NOD,TS-5,511,$1"])  # 100 % rejected
    with state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        outcome = pipeline.run_source(con, config, settings, AS_OF, "run-1", NOW)
        assert outcome.status == "failed"
        assert "z.csv" in outcome.message and "the 3 file(s) before it were staged" in outcome.message
        assert _staged(con) == EXPECTED
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]
        statuses = con.execute("SELECT file_name, status FROM raw_manifest ORDER BY ALL").fetchall()
        assert statuses == [
            ("a.csv", "staged"),
            ("a.csv", "staged"),
            ("b.csv", "staged"),
            ("z.csv", "failed"),
        ]
    bad.unlink()
    _deliver(settings.landing, "2026-11-27", "z.csv", [_nod("5", 500)])  # the corrected file
    with state_db(settings) as con:
        outcome = pipeline.run_source(con, config, settings, AS_OF, "run-2", NOW)
        assert (outcome.status, outcome.files_landed, outcome.rows_staged) == ("ok", 1, 1)
        assert [r[0] for r in _staged(con)] == ["1", "2", "3", "4", "5"]


def test_a_file_failing_on_a_worker_leaves_the_same_state_as_in_process(
    settings: Settings, config: SourceConfig, tmp_path: Path
) -> None:
    _deliver(settings.landing, "2026-11-26", "z.csv", ["5,not a date,NOD,TS-5,511,$1"])  # 100 % rejected
    with state_db(settings) as con:
        files = _landed(con, settings, config)
        prepared = prepared_source(config, files, settings.data_dir, None, tmp_path / "prepared")
        assert len(prepared.parts) == 3 and "z.csv" in (prepared.failure or "")
        with pytest.raises(SourceFailed, match=r"z\.csv.*the 3 file\(s\) before it were staged"):
            commit_prepared(con, config, prepared, "run-1")
        assert _staged(con) == EXPECTED


def test_a_source_landed_ahead_and_prepared_on_a_side_thread_stages_the_same_rows(
    settings: Settings, config: SourceConfig
) -> None:
    """flows.nightly.stage_in_process lands a filing source first, prepares it on a side thread while the
    feeds stage, and commits it afterwards: the same rows, counts and manifest as staging it in turn."""
    assert pipeline.sources_ahead([config]) == [config]  # a filing source
    with ThreadPoolExecutor(max_workers=1) as side, state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        ahead = pipeline.landed_ahead(con, config, settings, AS_OF, "run-1", NOW, side)
        assert con.execute("SELECT DISTINCT status FROM raw_manifest").fetchall() == [("landed",)]
        outcome = pipeline.staged_ahead(con, config, settings, AS_OF, "run-1", NOW, ahead)
        assert _staged(con) == EXPECTED
        statuses = con.execute("SELECT DISTINCT status FROM raw_manifest").fetchall()
    assert (outcome.status, outcome.files_landed, outcome.rows_duplicate, outcome.rows_staged) == (
        "ok",
        3,
        4,
        4,
    )
    assert statuses == [("staged",)]


def test_a_file_failing_on_the_side_thread_fails_the_source_as_in_turn(
    settings: Settings, config: SourceConfig
) -> None:
    _deliver(settings.landing, "2026-11-26", "z.csv", ["5,not a date,NOD,TS-5,511,$1"])  # 100 % rejected
    with ThreadPoolExecutor(max_workers=1) as side, state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        ahead = pipeline.landed_ahead(con, config, settings, AS_OF, "run-1", NOW, side)
        outcome = pipeline.staged_ahead(con, config, settings, AS_OF, "run-1", NOW, ahead)
        assert outcome.status == "failed"
        assert "z.csv" in outcome.message and "the 3 file(s) before it were staged" in outcome.message
        assert _staged(con) == EXPECTED
        failed = con.execute("SELECT file_name FROM raw_manifest WHERE status = 'failed'").fetchall()
    assert failed == [("z.csv",)]


def test_a_retried_commit_of_a_source_landed_ahead_stages_from_the_landing_again(
    settings: Settings, config: SourceConfig
) -> None:
    """The stage task retries on an error: its second call must not commit the prepared parts again (their
    quarantine rows would be added twice), but land and stage what the first try left unstaged."""
    valid = [str(n) for n in range(6, 26)]  # and one bad row: 1 of 21 rejected, under the 5 % limit
    _deliver(
        settings.landing, "2026-11-26", "q.csv", [*(_nod(r, 600) for r in valid), "5,not a date,NOD,TS,5,$1"]
    )
    with ThreadPoolExecutor(max_workers=1) as side, state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        ahead = pipeline.landed_ahead(con, config, settings, AS_OF, "run-1", NOW, side)
        first = pipeline.staged_ahead(con, config, settings, AS_OF, "run-1", NOW, ahead)
        again = pipeline.staged_ahead(con, config, settings, AS_OF, "run-1", NOW, ahead)
        quarantined = con.execute("SELECT count(*) FROM quarantine").fetchall()
        staged = [r[0] for r in _staged(con)]
    assert (first.status, first.files_landed, first.rows_quarantined) == ("ok", 4, 1)
    assert (again.status, again.files_landed, again.files_skipped) == ("no_new_files", 0, 4)
    assert quarantined == [(1,)]
    assert sorted(staged) == sorted(["1", "2", "3", "4", *valid])


def _insertion_order(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]


def test_unordered_inserts_restore_the_setting_and_keep_a_failed_statements_own_error() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE staged (k INTEGER PRIMARY KEY)")
    with unordered_inserts(con), transaction(con):
        assert _insertion_order(con) is False
        con.execute("INSERT INTO staged VALUES (1)")
    assert _insertion_order(con) is True
    # the failed insert aborts the transaction: the caller sees the constraint error, not a later one
    with pytest.raises(duckdb.ConstraintException), unordered_inserts(con), transaction(con):
        con.execute("INSERT INTO staged VALUES (2), (2)")
    assert _insertion_order(con) is True
    assert con.execute("SELECT k FROM staged").fetchall() == [(1,)]


def test_an_insert_that_fails_in_its_transaction_reports_its_own_error(
    settings: Settings, config: SourceConfig
) -> None:
    with state_db(settings) as con:
        files = _landed(con, settings, config)
        # a staged column too narrow for the amounts: the insert itself fails, inside the file's transaction
        con.execute("ALTER TABLE staged_filings ALTER amount_due SET DATA TYPE DECIMAL(2, 0)")
        with pytest.raises(duckdb.ConversionException):
            staged_source(con, config, files, settings.data_dir, "run-1")
        assert _insertion_order(con) is True
        assert con.execute("SELECT count(*) FROM staged_filings").fetchall() == [(0,)]
