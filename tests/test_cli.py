"""CLI behaviour that needs no Prefect run: one-line errors, exit codes, read-only queries."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from leads.cli import EXIT_USAGE, app

runner = CliRunner()


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny published database in a temporary data dir."""
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path))
    path = tmp_path / "warehouse" / "leads.duckdb"
    path.parent.mkdir(parents=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE leads AS SELECT 'L1' AS lead_id, 'A' AS tier UNION ALL SELECT 'L2', 'B'")
    con.close()
    return path


def _one_line_error(result: object) -> str:
    text = result.output.strip()  # type: ignore[attr-defined]
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    return text


@pytest.mark.parametrize("command", [["refresh"], ["sample"], ["query"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_bad_as_of_date_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["refresh", "--as-of", "2026-13-45"])
    assert result.exit_code == EXIT_USAGE
    assert "not a date" in _one_line_error(result)


def test_missing_landing_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADS_LANDING_DIR", str(tmp_path / "nowhere"))
    result = runner.invoke(app, ["refresh", "--as-of", "2026-11-27"])
    assert result.exit_code == EXIT_USAGE
    assert "does not exist" in _one_line_error(result)


def test_unknown_source_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["refresh", "--as-of", "2026-11-27", "--source", "zz_nowhere"])
    assert result.exit_code == EXIT_USAGE
    assert "unknown source(s) 'zz_nowhere'" in _one_line_error(result)


def test_unknown_county_for_sample_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sample", "--out", str(tmp_path / "s"), "--counties", "ny_atlantis"])
    assert result.exit_code == EXIT_USAGE
    assert "unknown county ny_atlantis" in _one_line_error(result)


def test_query_answers_read_only(published: Path) -> None:
    result = runner.invoke(
        app, ["query", "select tier, count(*) as n from leads group by 1 order by 1", "--format", "csv"]
    )
    assert result.exit_code == 0
    assert result.output.splitlines() == ["tier,n", "A,1", "B,1"]


@pytest.mark.parametrize(
    "sql",
    [
        "delete from leads",
        "create table x as select 1",
        "select * from read_csv('/etc/passwd')",
        "copy leads to '/tmp/leads_stolen.csv'",
        "attach '/tmp/other.duckdb' as other",
        "set enable_external_access = true",
    ],
)
def test_query_cannot_write_or_reach_files(published: Path, sql: str) -> None:
    result = runner.invoke(app, ["query", sql])
    assert result.exit_code == EXIT_USAGE
    assert "query failed" in _one_line_error(result)
    assert not Path("/tmp/leads_stolen.csv").exists()


def test_query_without_a_published_database_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["query", "select 1"])
    assert result.exit_code == EXIT_USAGE
    assert "run `leads refresh` first" in _one_line_error(result)


def test_a_damaged_state_is_one_line_naming_the_rebuild(published: Path) -> None:
    """A state file whose first block no longer matches its checksum (a checkpoint torn by a crash): refresh
    and backfill stop before Prefect starts, with the rebuild command over the published as-of dates."""
    from leads.db import state_db
    from leads.settings import get_settings

    con = duckdb.connect(str(published))
    con.execute(
        "CREATE TABLE runs AS SELECT * FROM (VALUES (DATE '2026-11-25', 'published'), "
        "(DATE '2026-11-26', 'partial'), (DATE '2026-11-27', 'failed')) AS t(as_of, status)"
    )
    con.close()
    settings = get_settings()
    with state_db(settings) as state:
        state.execute("CHECKPOINT")
    with settings.state_db.open("r+b") as f:  # block 0 starts after three 4 KiB headers
        f.seek(3 * 4096 + 4096)
        f.write(b"\xff" * 64)
    for command in (
        ["refresh", "--as-of", "2026-11-27"],
        ["backfill", "--from", "2026-11-27", "--to", "2026-11-27"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, result.output
        line = _one_line_error(result)
        assert f"the pipeline state {settings.state_db} is damaged (Corrupt database file" in line
        assert line.endswith("`leads backfill --from 2026-11-25 --to 2026-11-26 --rebuild`")
