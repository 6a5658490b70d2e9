"""Security: SQL injection, path traversal, CSV formula injection, canaries in logs, analyst sandboxing.

Rows 20-25 of ../shared/reference/reliability.md. Covered elsewhere and not repeated here:
- suppressed owners never exported (row 25): test_end_to_end.py::test_suppressed_owners_never_reach_an_export;
- `leads query` cannot write or reach files (row 24, through the CLI): test_cli.py::test_query_cannot_write_or_reach_files;
- unsafe delivery folder names and symlinks (row 22): test_landing.py::test_unexpected_folder_names_are_refused_unread,
  test_symlinked_files_and_folders_are_refused; unsafe report run ids: test_html_report.py::test_unsafe_run_ids_are_refused;
- the API token in the connector's own logs and errors (row 23): test_http_connector.py::
  test_the_token_reaches_the_server_and_nothing_else.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from leads import pipeline
from leads.cli import EXIT_USAGE, app
from leads.db import analyst_connection, ident, state_db, state_reader
from leads.errors import ConfigError
from leads.settings import Settings
from leads.sources import SourceConfig, is_safe_name, load_source, load_sources

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = PROJECT_ROOT / "data" / "sample"
AS_OF = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 27, 6, 0)
runner = CliRunner()

SQL_PAYLOADS = [
    "x' OR 1=1 --",
    "'; DROP TABLE leads; --",
    '"; DROP TABLE leads; --',
    "1; ATTACH '/tmp/evil.duckdb' AS e",
    "leads WHERE 1=1 UNION SELECT * FROM runs",
    "$as_of",
    "?",
    "2026-11-27' OR '1'='1",
    "2026-11-27; DROP TABLE leads",
    "\x00",
]
HOSTILE_IDENTIFIERS = [
    'leads"; DROP TABLE leads; --',
    "leads; DROP TABLE leads",
    "x' OR 1=1 --",
    "Leads",
    "1leads",
    "lead id",
    "lead-id",
    "lead.id",
    "../leads",
    "",
    "a" * 64,
    "leads\n",
    "ｌｅａｄｓ",  # full-width letters
]
TRAVERSAL = [
    "../x",
    "..",
    "/etc/passwd",
    "a/b",
    "x/../../etc",
    "~root",
    ".hidden",
    "a\\b",
    "a\nb",
    "a b",
    "-rf",
]


def _one_line_error(result: object) -> str:
    text = result.output.strip()  # type: ignore[attr-defined]
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    return text


# ------------------------------------------------------------------------------------ 21: SQL injection


@pytest.mark.parametrize("name", HOSTILE_IDENTIFIERS)
def test_ident_refuses_every_identifier_outside_the_allow_list(name: str) -> None:
    with pytest.raises(ValueError, match="refusing SQL identifier"):
        ident(name)


def test_ident_quotes_allowed_names() -> None:
    assert ident("staged_filings") == '"staged_filings"'
    assert ident("_x1") == '"_x1"'


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
@pytest.mark.parametrize(
    "command",
    [
        ["refresh", "--as-of"],
        ["backfill", "--to", "2026-11-27", "--from"],
        ["backfill", "--from", "2026-11-26", "--to"],
        ["sample", "--out", "/nonexistent/never-written", "--as-of"],
    ],
)
def test_date_options_take_only_dates(
    command: list[str], payload: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, [*command, payload])
    assert result.exit_code == EXIT_USAGE
    assert "is not a date" in _one_line_error(result)
    assert not (tmp_path / "data" / "state").exists()


@pytest.mark.parametrize("payload", [p for p in [*SQL_PAYLOADS, *TRAVERSAL] if "\n" not in p])
def test_source_option_and_variable_take_only_known_ids(
    payload: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--source and LEADS_SOURCES are checked against the config ids before anything runs (no SQL, no path)."""
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["refresh", "--as-of", "2026-11-27", "--source", payload])
    assert result.exit_code == EXIT_USAGE
    assert "unknown source(s)" in _one_line_error(result)
    if "," not in payload and payload.strip() and "\x00" not in payload:
        monkeypatch.setenv("LEADS_SOURCES", payload)
        result = runner.invoke(app, ["refresh", "--as-of", "2026-11-27"])
        assert result.exit_code == EXIT_USAGE
        assert "unknown source(s)" in _one_line_error(result)
    assert not (tmp_path / "data" / "state").exists()


def test_a_newline_in_a_source_id_cannot_forge_a_second_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["refresh", "--as-of", "2026-11-27", "--source", "x\nerror: all sources ok"])
    assert result.exit_code == EXIT_USAGE
    _one_line_error(result)


GOOD = {
    "source": "fl_test",
    "kind": "filings",
    "county": {"name": "Test", "state": "FL", "fips": "12999"},
    "format": {"type": "delimited", "delimiter": ",", "header": True, "glob": "*.csv"},
    "fields": {"record_id": "id", "doc_type": "type", "recorded_date": "date"},
    "record_key": ["record_id"],
    "events": {"LP": "LIS_PENDENS"},
}


def _config_file(tmp_path: Path, name: str, **changes: object) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**GOOD, **changes}), encoding="utf-8")
    return path


@pytest.mark.parametrize("payload", [*SQL_PAYLOADS, *TRAVERSAL, "FL_TEST", "fl-test"])
def test_source_ids_in_configs_are_refused_unless_snake_case(tmp_path: Path, payload: str) -> None:
    """A source id names a folder and a table value: only [a-z][a-z0-9_]* passes, one line names the key."""
    with pytest.raises(ConfigError) as info:
        load_source(_config_file(tmp_path, "fl_test", source=payload))
    assert "\n" not in str(info.value) and "source" in str(info.value)


@pytest.mark.parametrize("payload", HOSTILE_IDENTIFIERS[:8])
def test_canonical_names_and_record_keys_are_allow_listed(tmp_path: Path, payload: str) -> None:
    """Canonical field names and record keys become SQL identifiers: only the vocabulary's names pass."""
    with pytest.raises(ConfigError, match="unknown canonical field"):
        load_source(_config_file(tmp_path, "fl_test", fields={**GOOD["fields"], payload: "col"}))
    with pytest.raises(ConfigError, match="record_key names unmapped field"):
        load_source(_config_file(tmp_path, "fl_test", record_key=[payload]))


HOSTILE_COLUMNS = {  # (no `"` in them: polars keeps a header's doubled quotes, so those could never match)
    "record_id": "'; DROP TABLE staged_filings; --",
    "recorded_date": "x' OR 1=1 --",
    "doc_type": "doc type); DELETE FROM raw_manifest; --",
}


def test_hostile_column_names_and_values_are_data_never_sql(tmp_path: Path) -> None:
    """Raw column names in a config (and the delivery's header) are Polars column names, never SQL: a hostile
    header stages like any other; staged tables get canonical columns only; values with payloads are stored
    verbatim and every table survives."""
    landing = tmp_path / "landing"
    settings = Settings(data_dir=tmp_path / "data", landing_dir=landing)
    config = SourceConfig.model_validate(
        {**GOOD, "fields": {**HOSTILE_COLUMNS, "case_number": "case"}, "date_formats": ["%Y-%m-%d"]}
    )
    folder = landing / "fl_test" / "2026-11-26"
    folder.mkdir(parents=True)
    frame = pl.DataFrame(
        {
            HOSTILE_COLUMNS["record_id"]: ["x' OR 1=1 --", "'; DROP TABLE leads; --"],
            HOSTILE_COLUMNS["recorded_date"]: ["2026-11-20", "2026-11-21"],
            HOSTILE_COLUMNS["doc_type"]: ["LP", "LP"],
            "case": ['"; DROP TABLE staged_filings; --', "1' UNION SELECT * FROM runs --"],
        }
    )
    frame.write_csv(folder / "a.csv")
    with state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        outcome = pipeline.run_source(con, config, settings, AS_OF, "run-1", NOW)
        assert (outcome.status, outcome.rows_staged) == ("ok", 2), outcome.message
        staged = con.execute(
            "SELECT record_id, case_number FROM staged_filings ORDER BY recorded_date"
        ).fetchall()
        columns = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns()").fetchall()}
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert staged == list(zip(frame[HOSTILE_COLUMNS["record_id"]], frame["case"], strict=True))
    assert not any(c in columns for c in HOSTILE_COLUMNS.values())
    assert {"staged_filings", "raw_manifest", "runs", "quarantine"} <= tables


@pytest.mark.parametrize("pattern", ["/etc/*", "../*", "../../vendor_parcels/*/*"])
def test_a_glob_that_leaves_the_delivery_folder_is_a_config_error(tmp_path: Path, pattern: str) -> None:
    with pytest.raises(ConfigError, match="glob"):
        load_source(_config_file(tmp_path, "fl_test", format={**GOOD["format"], "glob": pattern}))


@pytest.mark.parametrize("pattern", ["../*/*.csv", "../../*/*/*.csv", "../2026-11-25/*"])
def test_relative_globs_are_refused_before_any_read(pattern: str) -> None:
    """Row 22: a `../` pattern that could reach other dates or sources never loads as a config."""
    with pytest.raises(ValidationError, match="inside the delivery folder"):
        SourceConfig.model_validate({**GOOD, "format": {**GOOD["format"], "glob": pattern}})


@pytest.mark.parametrize("pattern", ["../*/*.csv", "../../*/*/*.csv", "../2026-11-25/*"])
def test_a_relative_glob_past_validation_still_reads_nothing_outside(tmp_path: Path, pattern: str) -> None:
    """Defence in depth for row 22: with such a glob forced past the config model (model_copy skips
    validation), landing still refuses every file outside the delivery folder it was found from."""
    landing = tmp_path / "landing"
    settings = Settings(data_dir=tmp_path / "data", landing_dir=landing)
    good = SourceConfig.model_validate(GOOD)
    config = good.model_copy(update={"format": good.format.model_copy(update={"glob": pattern})})
    for day in ("2026-11-25", "2026-11-26"):
        (landing / "fl_test" / day).mkdir(parents=True)
    (landing / "fl_test" / "2026-11-25" / "a.csv").write_text("id,type,date\n1,LP,2026-11-20\n")
    (landing / "other" / "2026-11-25").mkdir(parents=True)
    (landing / "other" / "2026-11-25" / "b.csv").write_text("id,type,date\n2,LP,2026-11-20\n")
    with state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        outcome = pipeline.run_source(con, config, settings, AS_OF, "run-1", NOW)
        staged = con.execute("SELECT record_id FROM staged_filings").fetchall()
    # only the source's own delivery folders: a file reached through `..` from elsewhere is refused unread
    assert staged in ([], [("1",)]) and ("2",) not in staged
    assert any("refused" in w for w in outcome.warnings)
    assert not (settings.raw_dir / "fl_test" / "2026-11-26").exists()
    assert not (settings.raw_dir / "other").exists()


# ----------------------------------------------------------------------------------- 22: path traversal


@pytest.mark.parametrize("name", [*TRAVERSAL, "", "a" * 300, "x\x00y", "file.csv/..", "..."])
def test_unsafe_delivery_names_are_refused(name: str) -> None:
    assert not is_safe_name(name)


@pytest.mark.parametrize("name", ["OR_20261127.txt", "riverside_foreclosure_2026-11-27.csv", "a.b-c_d"])
def test_plain_delivery_names_pass(name: str) -> None:
    assert is_safe_name(name)


def test_a_symlinked_source_folder_is_never_read(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    outside = tmp_path / "outside" / "2026-11-26"
    outside.mkdir(parents=True)
    (outside / "a.csv").write_text("id,type,date\n1,LP,2026-11-20\n")
    landing.mkdir()
    (landing / "fl_test").symlink_to(tmp_path / "outside", target_is_directory=True)
    settings = Settings(data_dir=tmp_path / "data", landing_dir=landing)
    with state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        outcome = pipeline.run_source(con, SourceConfig.model_validate(GOOD), settings, AS_OF, "run-1", NOW)
    assert (outcome.files_landed, outcome.rows_staged) == (0, 0)
    assert not (settings.raw_dir / "fl_test").exists()


def test_a_config_file_named_with_traversal_cannot_pass_its_id(tmp_path: Path) -> None:
    """load_sources only reads <sources_dir>/*.yaml and the id must equal the file name."""
    (tmp_path / "sub").mkdir()
    _config_file(tmp_path / "sub", "fl_test")
    with pytest.raises(ConfigError, match="unknown source"):
        load_sources(tmp_path, ["../sub/fl_test"])
    assert load_sources(tmp_path) == []


# ------------------------------------------------------------------------------------ 24: analyst access


@pytest.fixture
def published(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse" / "leads.duckdb"
    path.parent.mkdir(parents=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE leads AS SELECT 'L1' AS lead_id, 'ZZCANARY OWNERNAME' AS owner_name")
    con.close()
    state = tmp_path / "state" / "pipeline.duckdb"
    state.parent.mkdir()
    duckdb.connect(str(state)).close()
    return path


def _refused_statements(tmp_path: Path) -> list[str]:
    """Statements an analyst must not get through (paths are test-owned, the text is the test's own)."""
    out = tmp_path / "stolen"
    return [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_blob('/etc/passwd')",
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT * FROM read_json('/etc/passwd')",
        "SELECT * FROM sniff_csv('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM '/etc/passwd'",
        f"SELECT * FROM '{tmp_path / 'state' / 'pipeline.duckdb'}'",  # noqa: S608
        f"COPY leads TO '{out}.csv'",
        f"COPY (SELECT * FROM leads) TO '{out}.parquet' (FORMAT parquet)",  # noqa: S608
        f"EXPORT DATABASE '{out}_dir'",
        f"ATTACH '{out}.duckdb' AS stolen",
        f"ATTACH '{tmp_path / 'state' / 'pipeline.duckdb'}' AS state (READ_ONLY)",
        "INSTALL httpfs",
        "LOAD httpfs",
        f"LOAD '{out}.duckdb_extension'",
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "SET allowed_directories = ['/']",
        "SET temp_directory = '/tmp'",
        "CREATE SECRET (TYPE s3, KEY_ID 'a', SECRET 'b')",
        "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
        "SELECT getenv('LEADS_CANARY_SECRET')",
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO leads VALUES ('L2', 'x')",
        "UPDATE leads SET owner_name = 'x'",
        "DELETE FROM leads",
        "DROP TABLE leads",
        "CREATE MACRO m(x) AS x",
        f"SELECT 1; COPY leads TO '{out}_2.csv'",
    ]


def test_analyst_connections_cannot_read_or_write_files(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 24 (the connection itself, every way out we know of): files, COPY/EXPORT, ATTACH, extensions,
    secrets, settings, environment variables, writes."""
    monkeypatch.setenv("LEADS_CANARY_SECRET", "canary-secret-7d1e")
    con = analyst_connection(published)
    try:
        allowed = []
        for statement in _refused_statements(tmp_path):
            try:
                con.execute(statement).fetchall()
            except duckdb.Error:
                continue
            allowed.append(statement)
        assert allowed == []
        assert con.execute("SELECT count(*) FROM leads").fetchall() == [(1,)]  # reading the database works
        settings = dict(con.execute("SELECT name, value FROM duckdb_settings()").fetchall())
        assert settings["enable_external_access"] == "false" and settings["lock_configuration"] == "true"
    finally:
        con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state", "warehouse"]  # nothing written
    assert "canary-secret-7d1e" not in str(settings)


# ---------------------------------------------------------- 20, 23: formula injection and canaries, real run

CANARY_OWNER = "ZZCANARY OWNERNAME"
CANARY_SECRET = "canary-secret-7d1e"
FORMULAS = [
    '=HYPERLINK("http://x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
    '";=1+2',
    "=1+2",
    "x' OR 1=1 --",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


class _Api(BaseHTTPRequestHandler):
    """/ok answers one short page of records; /down refuses with a body that echoes the bearer token."""

    seen: list[str] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization", ""))
        if self.path.startswith("/down"):
            body, status = json.dumps({"error": f"bad token {self.headers.get('Authorization')}"}), 401
        else:
            body, status = json.dumps([{"file_no": "API-1", "filed": "2026-11-27", "doc_type": "OTHER"}]), 200
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


API_SOURCE = """
source: {name}
kind: filings
county: {{name: Api, state: TX, fips: "48999"}}
connector: {{type: http_json, url: "{url}", page_size: 50, token_env: LEADS_TEST_API_TOKEN, retries: 0}}
format: {{type: jsonl, glob: "api_*.jsonl"}}
fields: {{record_id: file_no, recorded_date: filed, doc_type: doc_type}}
record_key: [record_id]
"""


def _seed_parcel_roll(landing: Path) -> dict[str, str]:
    """Owner names and mailing addresses of parcels that become exported leads -> formula payloads and the
    canary owner. Returns apn -> seeded owner name."""
    golden = pl.read_csv(PROJECT_ROOT / "tests" / "golden" / "leads_sample.csv", infer_schema=False)
    targets = (
        golden.filter((pl.col("actionable") == "true") & pl.col("apn").is_not_null())
        .sort("lead_id")
        .select("county_fips", "apn")
        .head(len(FORMULAS) + 1)
        .rows()
    )
    owners = [CANARY_OWNER, *FORMULAS]
    seeded: dict[str, str] = {}
    for (county, apn), owner in zip(targets, owners, strict=True):
        path = landing / "vendor_parcels" / "2026-11-25" / f"parcels_{county}.csv"
        roll = pl.read_csv(path, infer_schema=False)
        roll = roll.with_columns(
            pl.when(pl.col("apn") == apn)
            .then(pl.lit(owner))
            .otherwise(pl.col("owner_name"))
            .alias("owner_name"),
            pl.when(pl.col("apn") == apn)
            .then(pl.lit(owner if owner != CANARY_OWNER else "1 CANARY WAY"))
            .otherwise(pl.col("mailing_address"))
            .alias("mailing_address"),
        )
        roll.write_csv(path)
        seeded[apn] = owner
    return seeded


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(f"{record.name} {record.getMessage()} {record.args!r} {record.exc_text or ''}")
        except Exception as exc:  # a record that cannot be formatted is still looked at
            self.lines.append(f"{record.name} {record.msg!r} {record.args!r} ({exc})")


@pytest.fixture(scope="module")
def seeded_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The real flow once on the sample with formula payloads and a canary owner seeded into the parcel roll,
    two http_json sources whose token (env var named by token_env) and an unrelated env var hold the canary
    secret; every log record (root, leads.*, Prefect's flow and task run loggers at DEBUG) is collected."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    from flows.nightly import nightly_refresh

    root = tmp_path_factory.mktemp("seeded")
    landing = root / "landing"
    shutil.copytree(SAMPLE / "deliveries", landing)
    seeded = _seed_parcel_roll(landing)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    config = root / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    (config / "sources" / "tx_api_ok.yaml").write_text(API_SOURCE.format(name="tx_api_ok", url=f"{base}/ok"))
    (config / "sources" / "tx_api_down.yaml").write_text(
        API_SOURCE.format(name="tx_api_down", url=f"{base}/down")
    )
    handler = _Records()
    loggers = [
        logging.getLogger(n) for n in ("", "prefect", "prefect.flow_runs", "prefect.task_runs", "leads")
    ]
    levels = [lg.level for lg in loggers]
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "LEADS_DATA_DIR": str(root / "data"),
            "LEADS_LANDING_DIR": str(landing),
            "LEADS_CONFIG_DIR": str(config),
            "LEADS_ENVIRONMENT": "test",
            "LEADS_TEST_API_TOKEN": CANARY_SECRET,
            "LEADS_UNRELATED_SETTING": CANARY_SECRET,
            "NO_PROXY": "127.0.0.1",
        }.items():
            mp.setenv(key, value)
        for lg in loggers:
            lg.addHandler(handler)
            lg.setLevel(logging.DEBUG)
        try:
            state = nightly_refresh(as_of=AS_OF, return_state=True)
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.removeHandler(handler)
                lg.setLevel(level)
            server.shutdown()
            server.server_close()
        summary = state.result(raise_on_failure=False)
        flow_run_id = state.state_details.flow_run_id
        APILogWorker.drain_all(timeout=15)  # run logs reach the API in background batches
        with get_client(sync_client=True) as client:
            api_logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )
            artifacts = [a for a in client.read_artifacts() if a.flow_run_id == flow_run_id]
        yield {
            "root": root,
            "data_dir": root / "data",
            "landing": landing,
            "config": config,
            "state": state,
            "summary": summary,
            "seeded": seeded,
            "logs": handler.lines,
            "api_logs": [f"{log.name} {log.message}" for log in api_logs],
            "artifacts": [json.dumps(a.data, default=str) + (a.description or "") for a in artifacts],
            "env": {k: os.environ[k] for k in ("LEADS_DATA_DIR", "LEADS_LANDING_DIR", "LEADS_CONFIG_DIR")},
        }


def test_the_seeded_run_publishes_and_uses_the_secret(seeded_run: dict) -> None:
    """The canaries were really in play: the token reached the API, the down source failed, the canary owner
    and the payload owners are published leads."""
    summary = seeded_run["summary"]
    assert summary["status"] == "partial" and summary["failed_sources"] == ["tx_api_down"]
    assert f"Bearer {CANARY_SECRET}" in _Api.seen
    owners = {r[0] for r in _sql(seeded_run, "SELECT owner_name FROM leads")}
    assert CANARY_OWNER in owners
    assert len([o for o in owners if o and o.startswith(FORMULA_START)]) >= 4
    assert seeded_run["logs"] and seeded_run["api_logs"], "logs were captured"
    assert any("source vendor_parcels" in line for line in seeded_run["api_logs"])
    assert seeded_run["artifacts"], "artifacts were captured"


def _sql(run: dict, sql: str, db: str = "warehouse/leads.duckdb", params: list | None = None) -> list[tuple]:
    path = run["data_dir"] / db
    # the state's staged feeds are views over its Parquet files (leads/feeds.py)
    con = state_reader(path) if db.startswith("state/") else duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _canaries(text: str) -> list[str]:
    upper = text.upper()
    return [c for c in (CANARY_OWNER, CANARY_SECRET.upper(), "ZZCANARY") if c in upper]


def test_no_canary_in_logs_artifacts_or_errors(seeded_run: dict) -> None:
    """Row 23: neither the owner canary nor the secret appears in any log record (Python loggers, Prefect's
    run logs as stored by the API), any Prefect artifact, the flow's state message or the run summary."""
    assert _canaries("\n".join(seeded_run["logs"])) == []
    assert _canaries("\n".join(seeded_run["api_logs"])) == []
    assert _canaries("\n".join(seeded_run["artifacts"])) == []
    assert (
        _canaries(json.dumps(seeded_run["summary"], default=str) + (seeded_run["state"].message or "")) == []
    )


def _tables(run: dict, db: str) -> list[str]:
    query = "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
    return sorted(r[0] for r in _sql(run, query, db))


def _rows_with(run: dict, db: str, table: str, needle: str) -> int:
    """Rows of `table` whose text (every column, cast to one string) contains `needle`, case-insensitively."""
    query = f"SELECT count(*) FROM {ident(table)} t WHERE contains(upper(t::VARCHAR), ?)"  # noqa: S608
    return _sql(run, query, db, [needle.upper()])[0][0]


def test_no_canary_in_run_records_and_the_secret_nowhere_in_the_databases(seeded_run: dict) -> None:
    """runs / run_sources (messages, warnings) hold neither canary; the secret is in no table of the published
    or the state database; the owner name only where personal data belongs."""
    owner_tables = {
        "leads",
        "quarantine",
        "published_leads",
        "candidate_leads",
        "candidate_rows",
        "staged_parcels",
        "staged_suppression",  # the opt-out list: owners who asked not to be contacted
        "case_inputs",
    }
    for db in ("warehouse/leads.duckdb", "state/pipeline.duckdb"):
        for table in _tables(seeded_run, db):
            assert _rows_with(seeded_run, db, table, CANARY_SECRET.upper()) == 0, (db, table)
            if table not in owner_tables:
                assert _rows_with(seeded_run, db, table, "ZZCANARY") == 0, (db, table)
    messages = _sql(seeded_run, "SELECT message FROM run_sources WHERE source = 'tx_api_down'")
    assert messages and "401" in messages[0][0]


def test_no_secret_in_any_file_and_the_owner_only_where_it_belongs(seeded_run: dict) -> None:
    """Every file the run wrote (raw landing, exports, reports, state, Prefect home of the data dir): the secret
    in none; the owner canary only in the raw parcel roll and the exports (and inside DuckDB files and the
    staged parcel and opt-out Parquet files, which are checked table by table above)."""
    tables = _tables(seeded_run, "state/pipeline.duckdb")
    assert {"staged_parcels", "staged_suppression"} <= set(tables)  # the feed views are checked there
    for path in sorted(p for p in seeded_run["data_dir"].rglob("*") if p.is_file()):
        data = path.read_bytes().upper()
        assert CANARY_SECRET.upper().encode() not in data, path
        relative = path.relative_to(seeded_run["data_dir"]).parts
        owner_feed = relative[:3] in (("state", "feeds", "parcels"), ("state", "feeds", "suppression"))
        if (
            relative[0] not in ("raw", "exports")
            and path.suffix not in (".duckdb", ".wal")
            and not owner_feed
        ):
            assert b"ZZCANARY" not in data, path
    reports = seeded_run["data_dir"] / "reports"
    if reports.is_dir():
        for page in reports.glob("*.html"):
            assert _canaries(page.read_text(encoding="utf-8")) == [], page


def test_no_canary_in_the_prefect_server_database(seeded_run: dict) -> None:
    """Whatever Prefect stored (flow and task runs, parameters, states, logs, artifacts) holds no canary:
    the harness's SQLite database is searched byte for byte."""
    from prefect.settings import get_current_settings

    url = get_current_settings().server.database.connection_url or ""
    url = url.get_secret_value() if hasattr(url, "get_secret_value") else str(url)
    path = Path(url.split("///", 1)[-1]) if url.startswith("sqlite") else None
    if path is None or not path.exists():
        pytest.skip(f"the Prefect database is not a local SQLite file ({url.split(':', 1)[0]})")
    stored = b""
    for file in path.parent.glob(path.name + "*"):
        data = file.read_bytes().upper()
        stored += data
        assert b"ZZCANARY" not in data and CANARY_SECRET.upper().encode() not in data, file
    assert b"SOURCE VENDOR_PARCELS: OK" in stored, "the run's logs are in the database searched"


def test_html_report_of_the_seeded_run_has_no_canary(seeded_run: dict, tmp_path: Path) -> None:
    html_report = pytest.importorskip("leads.html_report")
    page = html_report.write_report(
        seeded_run["data_dir"] / "warehouse" / "leads.duckdb", tmp_path / "reports"
    )
    assert _canaries(page.read_text(encoding="utf-8")) == []


def test_cli_output_has_no_canary(seeded_run: dict) -> None:
    """`leads status` and the summary `leads refresh` prints (its top ten) carry ids and counts only."""
    env = {
        **seeded_run["env"],
        "LEADS_TEST_API_TOKEN": CANARY_SECRET,
        "LEADS_UNRELATED_SETTING": CANARY_SECRET,
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        status = runner.invoke(app, ["status"])
        from rich.console import Console

        from leads.report import print_summary
        from leads.settings import get_settings

        buffer = io.StringIO()
        print_summary(Console(file=buffer, width=200), get_settings(), seeded_run["summary"])
    assert status.exit_code == 0, status.output
    assert _canaries(status.output + buffer.getvalue()) == []
    assert "Top ten" in buffer.getvalue()


def test_csv_exports_neutralize_formulas_and_round_trip(seeded_run: dict) -> None:
    """Row 20: in every CSV export (leads and changes) no text cell starts with = + - @ tab CR; each seeded
    payload comes back as `'` + the published value; every text field is quoted; values round-trip."""
    folder = next((seeded_run["data_dir"] / "exports").glob("*/manifest.json")).parent
    con = duckdb.connect(str(seeded_run["data_dir"] / "warehouse" / "leads.duckdb"), read_only=True)
    try:
        published = con.sql("SELECT * FROM leads WHERE NOT suppressed ORDER BY lead_id").pl()
    finally:
        con.close()
    text_columns = [c for c, t in published.schema.items() if t == pl.String]
    for name in ("leads.csv", "changes.csv"):
        frame = pl.read_csv(folder / name, infer_schema=False)
        assert frame.height > 0, name
        for column in text_columns:
            values = frame[column].drop_nulls()
            assert not values.str.contains(r"^[=+\-@\t\r\n]").any(), (name, column)
        back = frame.select("lead_id", "owner_name", "mailing_address").join(
            published.select(
                "lead_id", pl.col("owner_name").alias("want"), pl.col("mailing_address").alias("want_m")
            ),
            on="lead_id",
        )
        assert back.height == frame.select("lead_id").unique().height
        for owner, want in back.select("owner_name", "want").iter_rows():
            expected = None if want is None else ("'" + want if want.startswith(FORMULA_START) else want)
            assert owner == expected, (name, owner, want)
    raw = (folder / "leads.csv").read_text(encoding="utf-8")
    assert '"\'=HYPERLINK(""http://x"")"' in raw and '""";=1+2"' in raw and '"\'+1"' in raw
    seeded_out = [
        o for o in pl.read_csv(folder / "leads.csv", infer_schema=False)["owner_name"].to_list() if o
    ]
    assert "'@SUM(A1)" in seeded_out and "'-1" in seeded_out and '";=1+2' in seeded_out


def test_leads_query_csv_is_spreadsheet_safe(seeded_run: dict) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEADS_DATA_DIR", str(seeded_run["data_dir"]))
        result = runner.invoke(
            app, ["query", "select owner_name from leads order by lead_id", "--format", "csv"]
        )
    assert result.exit_code == 0
    cells = pl.read_csv(io.StringIO(result.output), infer_schema=False)["owner_name"].drop_nulls()
    assert not cells.str.contains(r"^[=+\-@\t\r]").any(), cells.filter(
        cells.str.contains(r"^[=+\-@]")
    ).to_list()


def test_refresh_subprocess_output_has_no_canary(seeded_run: dict) -> None:
    """The CLI in its own process (stdout + stderr, Prefect's console logs included): a same-day re-run."""
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        **seeded_run["env"],
        "LEADS_TEST_API_TOKEN": CANARY_SECRET,
        "LEADS_UNRELATED_SETTING": CANARY_SECRET,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_LOGGING_LEVEL": "DEBUG",
        "NO_PROXY": "127.0.0.1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "leads.cli", "refresh", "--as-of", AS_OF.isoformat()],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 3, result.stderr[-2000:]  # partial: the API source is down (no server now)
    assert "run " in result.stdout and "DEBUG" in result.stderr
    assert _canaries(result.stdout + result.stderr) == []
