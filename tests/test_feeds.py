"""Staged feeds as resolved Parquet files (leads/feeds.py): one file per source and county holding the latest row
per record key, listed in the state in the same transaction as its landed file, views for the readers."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from leads import feeds, staging
from leads.db import state_db, state_reader
from leads.errors import LeadsError, StateDamaged
from leads.landing import landed_deliveries
from leads.pipeline import ensure_staged_tables
from leads.settings import Settings
from leads.sources import SourceConfig
from leads.staging import commit_prepared, prepared_source, staged_source

AS_OF = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 27, 6, 0)
HEADER = "county_fips,apn,vacant,checked_date\n"

VACANCY = SourceConfig.model_validate(
    {
        "source": "usps_test",
        "kind": "vacancy",
        "format": {"type": "delimited", "glob": "vacancy_*.csv", "header": True},
        "fields": {
            "county_fips": "county_fips",
            "apn": "apn",
            "vacant": "vacant",
            "checked_date": "checked_date",
        },
        "record_key": ["county_fips", "apn"],
    }
)


def _deliver(landing: Path, day: str, name: str, rows: list[str]) -> None:
    path = landing / "usps_test" / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(r + "\n" for r in rows))


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", landing_dir=tmp_path / "landing")


def _stage(settings: Settings, run_id: str) -> staging.StageResult:
    with state_db(settings) as con:
        ensure_staged_tables(con)
        files = landed_deliveries(con, VACANCY, settings.landing, settings.data_dir, AS_OF, run_id, NOW).files
        return staged_source(con, VACANCY, files, settings.data_dir, run_id)


def _rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT county_fips, apn, vacant, delivery_date FROM staged_vacancy ORDER BY county_fips, apn"
    ).fetchall()


def _listed(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT county_fips, path FROM feed_files WHERE kind = 'vacancy'").fetchall())


def _files_on_disk(settings: Settings) -> set[str]:
    root = settings.state_dir / "feeds"
    return {
        str(p.relative_to(root)) for p in (root / "vacancy").rglob("*.parquet") if p.name != feeds.SCHEMA_FILE
    }


D25, D26 = dt.date(2026, 11, 25), dt.date(2026, 11, 26)


def test_a_feed_keeps_one_resolved_file_per_county_and_the_newest_row_per_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    landing = settings.landing
    _deliver(landing, "2026-11-25", "vacancy_12057.csv", ["12057,A1,N,2026-11-20", "12057,A2,N,2026-11-20"])
    _deliver(landing, "2026-11-25", "vacancy_48201.csv", ["48201,B1,Y,2026-11-20"])
    first = _stage(settings, "run-1")
    assert first.rows_staged == 3
    with state_db(settings) as con:
        before = _listed(con)
    assert set(before) == {"12057", "48201"}

    # the next day's file for one county: A2 changes, A3 is new; the other county's file is not touched
    _deliver(landing, "2026-11-26", "vacancy_12057.csv", ["12057,A2,Y,2026-11-25", "12057,A3,Y,2026-11-25"])
    _stage(settings, "run-2")
    # a late file dated before it (a vendor's re-send): A2's newer row stays, A9 is new
    _deliver(landing, "2026-11-24", "vacancy_12057.csv", ["12057,A2,N,2026-11-19", "12057,A9,N,2026-11-19"])
    _stage(settings, "run-3")

    with state_db(settings) as con:
        assert _rows(con) == [
            ("12057", "A1", False, D25),
            ("12057", "A2", True, D26),
            ("12057", "A3", True, D26),
            ("12057", "A9", False, dt.date(2026, 11, 24)),
            ("48201", "B1", True, D25),
        ]
        after = _listed(con)
        counts = dict(
            con.execute("SELECT county_fips, rows FROM feed_files WHERE kind = 'vacancy'").fetchall()
        )
    assert after["48201"] == before["48201"]
    assert after["12057"] != before["12057"]
    assert counts == {"12057": 4, "48201": 1}
    assert _files_on_disk(settings) == set(after.values())  # the replaced files are gone


def test_parts_prepared_on_a_worker_make_the_same_feed_files(tmp_path: Path) -> None:
    for name in ("here", "worker"):
        _deliver(
            tmp_path / name / "landing", "2026-11-25", "vacancy_12057.csv", ["12057,A1,N,", "12057,A2,Y,"]
        )
        _deliver(
            tmp_path / name / "landing", "2026-11-26", "vacancy_12057.csv", ["12057,A2,N,", "12057,A3,Y,"]
        )
    here = _settings(tmp_path / "here")
    _stage(here, "run-1")
    worker = _settings(tmp_path / "worker")
    with state_db(worker) as con:
        ensure_staged_tables(con)
        files = landed_deliveries(con, VACANCY, worker.landing, worker.data_dir, AS_OF, "run-1", NOW).files
        prepared = prepared_source(VACANCY, files, worker.data_dir, None, tmp_path / "scratch")
        assert all(isinstance(p.staged_path, str) for p in prepared.parts)  # Parquet parts, not frames
        result = commit_prepared(con, VACANCY, prepared, "run-1")
        assert (result.rows_staged, result.rows_duplicate) == (3, 1)
        from_worker = _rows(con)
    with state_db(here) as con:
        assert _rows(con) == from_worker
    assert [r[1:3] for r in from_worker] == [("A1", False), ("A2", False), ("A3", True)]


def test_a_failed_commit_removes_its_new_file_and_keeps_the_listed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    _deliver(settings.landing, "2026-11-25", "vacancy_12057.csv", ["12057,A1,N,2026-11-20"])
    _stage(settings, "run-1")
    _deliver(settings.landing, "2026-11-26", "vacancy_12057.csv", ["12057,A1,Y,2026-11-25"])

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(staging, "_mark_staged", disk_full)
    with pytest.raises(OSError, match="No space"):
        _stage(settings, "run-2")
    monkeypatch.undo()
    with state_db(settings) as con:
        assert _rows(con) == [("12057", "A1", False, D25)]
        listed = _listed(con)
    assert _files_on_disk(settings) == set(listed.values())  # the new file went with the rollback
    _stage(settings, "run-3")  # the file is still landed, not staged: the next run stages it
    with state_db(settings) as con:
        assert _rows(con) == [("12057", "A1", True, D26)]


def test_files_a_killed_run_left_unlisted_are_removed_by_the_next_run(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _deliver(settings.landing, "2026-11-25", "vacancy_12057.csv", ["12057,A1,N,2026-11-20"])
    _stage(settings, "run-1")
    folder = settings.state_dir / "feeds" / "vacancy" / "usps_test"
    listed = next(folder.glob("*.parquet"))
    stray = folder / "12057.0123456789ab.parquet"  # written, never listed: the kill came before the commit
    shutil.copy(listed, stray)
    with state_db(settings) as con:
        assert len(_rows(con)) == 1  # an unlisted file is never read
        ensure_staged_tables(con)
    assert not stray.exists() and listed.exists()


def test_a_feed_never_delivered_reads_empty_with_its_columns_and_the_data_dir_can_move(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    _deliver(settings.landing, "2026-11-25", "vacancy_12057.csv", ["12057,A1,N,2026-11-20"])
    _stage(settings, "run-1")
    with state_db(settings) as con:
        columns = [r[0] for r in con.execute("DESCRIBE staged_loans").fetchall()]
        assert {"county_fips", "apn", "loan_id", "original_amount", "delivery_date"} <= set(columns)
        assert con.execute("SELECT count(*) FROM staged_loans").fetchall() == [(0,)]
    moved = tmp_path / "moved"
    shutil.move(settings.data_dir, moved)
    con = state_reader(moved / "state" / "pipeline.duckdb")
    try:
        assert _rows(con) == [("12057", "A1", False, D25)]
    finally:
        con.close()


def test_a_version_2_state_has_its_feed_tables_moved_to_files(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with state_db(settings) as con:
        ensure_staged_tables(con)
        # the state as version 2 kept it: the feed rows in DuckDB tables
        con.execute("DELETE FROM meta WHERE key = 'state_version'")
        con.execute("INSERT INTO meta VALUES ('state_version', '2')")
        con.execute(
            "CREATE TABLE main.staged_vacancy AS SELECT * FROM (VALUES "
            "('12057', 'A1', false, 'usps_test', DATE '2026-11-25'), "
            "('48201', 'B1', true, 'usps_test', DATE '2026-11-25'), "
            "('48201', 'B2', true, 'other', DATE '2026-11-26')) "
            "t(county_fips, apn, vacant, source, delivery_date)"
        )
    with state_db(settings) as con:
        version = con.execute("SELECT value FROM meta WHERE key = 'state_version'").fetchall()
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        assert version == [("3",)] and "staged_vacancy" not in tables
        assert _rows(con) == [
            ("12057", "A1", False, D25),
            ("48201", "B1", True, D25),
            ("48201", "B2", True, D26),
        ]
        assert con.execute("SELECT count(*) FROM feed_files").fetchall() == [(3,)]


def test_an_error_after_the_commit_keeps_the_files_the_list_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupt can arrive after COMMIT, on the way out of the block: the new file is the feed's now."""
    settings = _settings(tmp_path)
    _deliver(settings.landing, "2026-11-25", "vacancy_12057.csv", ["12057,A1,N,2026-11-20"])

    @contextlib.contextmanager
    def interrupted_on_exit(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
        yield
        raise KeyboardInterrupt

    monkeypatch.setattr(staging, "unordered_inserts", interrupted_on_exit)
    with pytest.raises(KeyboardInterrupt):
        _stage(settings, "run-1")
    monkeypatch.undo()
    with state_db(settings) as con:
        assert _rows(con) == [("12057", "A1", False, D25)]
        assert _files_on_disk(settings) == set(_listed(con).values())


def test_a_listed_feed_file_gone_is_a_damaged_state_with_the_rebuild_command(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _deliver(settings.landing, "2026-11-25", "vacancy_12057.csv", ["12057,A1,N,2026-11-20"])
    _stage(settings, "run-1")
    for path in (settings.state_dir / "feeds" / "vacancy" / "usps_test").glob("*.parquet"):
        path.unlink()
    with pytest.raises(StateDamaged) as info, state_db(settings):
        pass
    message = str(info.value)
    assert "\n" not in message and "--rebuild" in message and "12057" in message


def test_a_data_directory_with_glob_characters_is_refused_in_one_line(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "leads[prod]", landing_dir=tmp_path / "landing")
    with pytest.raises(LeadsError, match=r"must not contain any of \*\?\[\]\{\}"), state_db(settings) as con:
        ensure_staged_tables(con)


def test_a_county_feed_keyed_without_its_county_is_a_config_error() -> None:
    fields = {"county_fips": "county_fips", "apn": "apn", "vacant": "vacant"}
    with pytest.raises(ValueError, match="record_key of a vacancy feed must include county_fips"):
        SourceConfig.model_validate(
            {
                "source": "usps_test",
                "kind": "vacancy",
                "format": {"type": "delimited"},
                "fields": fields,
                "record_key": ["apn"],
            }
        )
