"""The http_json connector against a real HTTP server on 127.0.0.1 (an ephemeral port, one per test)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from leads.connectors import connector_token, fetched_delivery
from leads.errors import SourceFailed
from leads.sources import SourceConfig, load_source

AS_OF = dt.date(2026, 11, 27)
CANARY = "canary-secret-9f2c"
FAST = {"backoff_seconds": 0.01}  # keeps retry tests fast; production waits 0.5 s, 1 s, 2 s


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)


@dataclass
class Api:
    """The test server: `respond(seen, n)` answers the n-th request (1-based); every request is recorded."""

    base: str
    requests: list[Seen] = field(default_factory=list)
    respond: Callable[[Seen, int], Reply] = lambda seen, n: Reply()

    @property
    def pages(self) -> list[int]:
        return [int(r.query["page"]) for r in self.requests]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # never route the loopback server through a proxy
    state = Api(base="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            seen = Seen(
                parts.path,
                {k: v[-1] for k, v in parse_qs(parts.query).items()},
                {k.lower(): v for k, v in self.headers.items()},
            )
            with lock:
                state.requests.append(seen)
                number = len(state.requests)
            reply = state.respond(seen, number)
            time.sleep(reply.delay)
            payload = json.dumps(reply.body).encode() if not isinstance(reply.body, bytes) else reply.body
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _records(count: int, start: int = 1) -> list[dict]:
    return [
        {
            "file_no": f"FRCL-{n:05d}",
            "filed": "2026-11-27",
            "doc_type": "NOTICE OF TRUSTEE SALE",
            "sale_date": "2027-01-05",
            "amount": n * 1000.5,
        }
        for n in range(start, start + count)
    ]


def _paged(records: list[dict], wrap: str | None = None) -> Callable[[Seen, int], Reply]:
    """Answer each request with the slice its page / limit parameters ask for."""

    def respond(seen: Seen, n: int) -> Reply:
        page, limit = int(seen.query["page"]), int(seen.query["limit"])
        chunk = records[(page - 1) * limit : page * limit]
        return Reply(body={wrap: chunk, "page": page} if wrap else chunk)

    return respond


def _config(url: str, **connector: object) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "source": "tx_api",
            "kind": "filings",
            "county": {"name": "Harris", "state": "TX", "fips": "48201"},
            "connector": {"type": "http_json", "url": url, "page_size": 2, **connector},
            "format": {"type": "jsonl", "glob": "api_*.jsonl"},
            "fields": {"record_id": "file_no", "recorded_date": "filed", "doc_type": "doc_type"},
            "record_key": ["record_id"],
        }
    )


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_pages_are_read_until_a_short_page(api: Api, tmp_path: Path) -> None:
    records = _records(5)
    api.respond = _paged(records)
    path = fetched_delivery(_config(f"{api.base}/filings"), tmp_path, AS_OF, None)
    assert path == tmp_path / "tx_api" / "2026-11-27" / "api_2026-11-27.jsonl"
    assert api.pages == [1, 2, 3]  # 2 + 2 + 1: the short third page ends the pull
    assert all(r.query["limit"] == "2" and r.path == "/filings" for r in api.requests)
    assert _lines(path) == records
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == json.dumps(records[0], sort_keys=True)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


def test_an_exact_multiple_of_the_page_size_ends_on_an_empty_page(api: Api, tmp_path: Path) -> None:
    api.respond = _paged(_records(4))
    path = fetched_delivery(_config(f"{api.base}/filings"), tmp_path, AS_OF, None)
    assert api.pages == [1, 2, 3]
    assert path is not None and len(_lines(path)) == 4


def test_the_as_of_date_and_the_urls_own_query_are_sent(api: Api, tmp_path: Path) -> None:
    api.respond = _paged(_records(1))
    config = _config(f"{api.base}/filings?county=48201", date_param="recorded_on")
    fetched_delivery(config, tmp_path, AS_OF, None)
    assert api.requests[0].query == {
        "county": "48201",
        "recorded_on": "2026-11-27",
        "page": "1",
        "limit": "2",
    }


def test_records_path_reads_the_list_inside_the_document(api: Api, tmp_path: Path) -> None:
    records = _records(3)
    api.respond = _paged(records, wrap="data")
    path = fetched_delivery(_config(f"{api.base}/f", records_path="data"), tmp_path, AS_OF, None)
    assert path is not None and _lines(path) == records
    assert api.pages == [1, 2]


def test_a_missing_records_path_fails_the_source(api: Api, tmp_path: Path) -> None:
    api.respond = _paged(_records(3), wrap="items")
    with pytest.raises(SourceFailed, match="no list of records at data"):
        fetched_delivery(_config(f"{api.base}/f", records_path="data"), tmp_path, AS_OF, None)


def test_a_response_that_is_not_json_fails_the_source(api: Api, tmp_path: Path) -> None:
    api.respond = lambda seen, n: Reply(body=b"<html>maintenance</html>")
    with pytest.raises(SourceFailed, match=r"^page 1 of .*/f: response is not JSON$"):
        fetched_delivery(_config(f"{api.base}/f"), tmp_path, AS_OF, None)


def test_a_500_is_retried_then_succeeds(api: Api, tmp_path: Path) -> None:
    records = _records(1)
    api.respond = lambda seen, n: Reply(status=500, body={"error": "boom"}) if n == 1 else Reply(body=records)
    path = fetched_delivery(_config(f"{api.base}/f"), tmp_path, AS_OF, None, **FAST)
    assert len(api.requests) == 2
    assert path is not None and _lines(path) == records


def test_a_permanent_500_fails_after_every_retry(api: Api, tmp_path: Path) -> None:
    api.respond = lambda seen, n: Reply(status=500, body={"error": "database on fire"})
    config = _config(f"{api.base}/filings?county=48201", retries=2, date_param="day")
    with pytest.raises(SourceFailed) as failure:
        fetched_delivery(config, tmp_path, AS_OF, CANARY, **FAST)
    assert len(api.requests) == 3  # the first attempt + 2 retries
    message = str(failure.value)
    assert message == f"HTTP 500 on page 1 of {api.base}/filings after 3 attempt(s)"
    assert "\n" not in message and CANARY not in message and "?" not in message
    assert not (tmp_path / "tx_api" / "2026-11-27" / "api_2026-11-27.jsonl").exists()


def test_429_waits_as_long_as_retry_after_says(api: Api, tmp_path: Path) -> None:
    records = _records(1)
    api.respond = lambda seen, n: (
        Reply(status=429, headers={"Retry-After": "1"}) if n == 1 else Reply(body=records)
    )
    started = time.monotonic()
    path = fetched_delivery(_config(f"{api.base}/f"), tmp_path, AS_OF, None, **FAST)
    assert time.monotonic() - started >= 0.95  # Retry-After wins over the 0.01 s backoff
    assert len(api.requests) == 2 and path is not None


def test_retry_after_is_capped(api: Api, tmp_path: Path) -> None:
    api.respond = lambda seen, n: Reply(status=429, headers={"Retry-After": "3600"}) if n == 1 else Reply()
    started = time.monotonic()
    assert (
        fetched_delivery(_config(f"{api.base}/f"), tmp_path, AS_OF, None, retry_after_cap_seconds=0.05)
        is None
    )
    assert time.monotonic() - started < 2
    assert len(api.requests) == 2


def test_a_404_fails_at_once(api: Api, tmp_path: Path) -> None:
    api.respond = lambda seen, n: Reply(status=404, body={"error": "no such dataset"})
    with pytest.raises(SourceFailed, match=r"^HTTP 404 on page 1 of http://127\.0\.0\.1:\d+/gone$"):
        fetched_delivery(_config(f"{api.base}/gone", retries=3), tmp_path, AS_OF, None, **FAST)
    assert len(api.requests) == 1


def test_a_slow_server_times_out_and_is_retried(api: Api, tmp_path: Path) -> None:
    api.respond = lambda seen, n: Reply(body=_records(1), delay=1.0)
    config = _config(f"{api.base}/slow", timeout_seconds=0.2, retries=1)
    with pytest.raises(
        SourceFailed, match=r"^timed out after 0\.2 s on page 1 of .*/slow after 2 attempt\(s\)$"
    ):
        fetched_delivery(config, tmp_path, AS_OF, None, **FAST)
    assert len(api.requests) == 2


def test_a_failure_on_a_later_page_writes_nothing(api: Api, tmp_path: Path) -> None:
    records = _records(5)
    paged = _paged(records)
    api.respond = lambda seen, n: Reply(status=403) if seen.query["page"] == "2" else paged(seen, n)
    with pytest.raises(SourceFailed, match="HTTP 403 on page 2"):
        fetched_delivery(_config(f"{api.base}/f"), tmp_path, AS_OF, None, **FAST)
    assert list((tmp_path / "tx_api" / "2026-11-27").iterdir()) == []


def test_a_server_that_never_sends_a_short_page_stops_at_max_pages(api: Api, tmp_path: Path) -> None:
    api.respond = lambda seen, n: Reply(body=_records(2, start=2 * n))
    with pytest.raises(SourceFailed, match="still returns full pages after max_pages 4"):
        fetched_delivery(_config(f"{api.base}/f", max_pages=4), tmp_path, AS_OF, None)
    assert api.pages == [1, 2, 3, 4]


def test_a_server_that_ignores_the_page_parameter_fails_fast(api: Api, tmp_path: Path) -> None:
    api.respond = lambda seen, n: Reply(body=_records(2))
    with pytest.raises(SourceFailed, match="page 2 of .* repeats page 1"):
        fetched_delivery(_config(f"{api.base}/f"), tmp_path, AS_OF, None)
    assert len(api.requests) == 2


def test_no_records_lands_nothing(api: Api, tmp_path: Path) -> None:
    api.respond = lambda seen, n: Reply(body=[])
    assert fetched_delivery(_config(f"{api.base}/f"), tmp_path, AS_OF, None) is None
    assert list((tmp_path / "tx_api" / "2026-11-27").iterdir()) == []


def test_rerunning_the_same_day_makes_no_request(api: Api, tmp_path: Path) -> None:
    api.respond = _paged(_records(3))
    config = _config(f"{api.base}/f")
    first = fetched_delivery(config, tmp_path, AS_OF, None)
    before = first.read_bytes() if first else b""
    count = len(api.requests)
    assert fetched_delivery(config, tmp_path, AS_OF, None) == first
    assert len(api.requests) == count
    assert first is not None and first.read_bytes() == before


def test_the_token_reaches_the_server_and_nothing_else(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    monkeypatch.setenv("TX_API_TOKEN", CANARY)
    records = _records(3)
    paged = _paged(records)
    api.respond = lambda seen, n: Reply(status=503) if n == 1 else paged(seen, n)
    config = _config(f"{api.base}/f", token_env="TX_API_TOKEN", date_param="day")
    token = connector_token(config)
    assert token == CANARY
    path = fetched_delivery(config, tmp_path, AS_OF, token, **FAST)
    assert path is not None and _lines(path) == records
    assert {r.headers.get("authorization") for r in api.requests} == {f"Bearer {CANARY}"}
    # then the API breaks on another day: the failure carries no token either
    api.respond = lambda seen, n: Reply(status=401, body={"error": f"bad token {CANARY}"})
    with pytest.raises(SourceFailed) as failure:
        fetched_delivery(config, tmp_path, AS_OF + dt.timedelta(days=1), token, **FAST)
    assert "401" in str(failure.value)
    written = [p for p in tmp_path.rglob("*")]
    assert all(CANARY not in str(p) for p in written)
    assert all(CANARY.encode() not in p.read_bytes() for p in written if p.is_file())
    assert CANARY not in "".join(traceback.format_exception(failure.value))
    assert caplog.records and CANARY not in caplog.text
    assert all(CANARY not in str(r.args) for r in caplog.records)


def test_no_token_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TX_API_TOKEN", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert connector_token(_config("https://example.org/f", token_env="TX_API_TOKEN")) is None
    assert connector_token(_config("https://example.org/f")) is None


def test_no_authorization_header_without_a_token(api: Api, tmp_path: Path) -> None:
    api.respond = _paged(_records(1))
    fetched_delivery(_config(f"{api.base}/f"), tmp_path, AS_OF, None)
    assert "authorization" not in api.requests[0].headers


@pytest.mark.parametrize("url", ["https://user:secret@example.org/f", "ftp://example.org/f", "example.org"])
def test_urls_with_credentials_or_other_schemes_are_config_errors(url: str) -> None:
    with pytest.raises(ValueError, match="http\\(s\\) address without user:password"):
        _config(url)


def test_a_non_jsonl_format_is_refused(tmp_path: Path) -> None:
    config = _config("https://example.org/f").model_copy(
        update={"format": _config("https://example.org/f").format.model_copy(update={"type": "json"})}
    )
    with pytest.raises(SourceFailed, match="format.type must be jsonl"):
        fetched_delivery(config, tmp_path, AS_OF, None)


HTTP_SOURCE_YAML = """
source: tx_api
kind: filings
county: {{name: Harris, state: TX, fips: "48201"}}
connector:
  type: http_json
  url: {url}/api/filings
  page_size: 2
  date_param: recorded_on
  records_path: data
  token_env: TX_API_TOKEN
  retries: 1
format: {{type: jsonl, glob: "api_*.jsonl"}}
fields:
  record_id: file_no
  recorded_date: filed
  doc_type: doc_type
  sale_date: sale_date
  amount_due: amount
record_key: [record_id]
events:
  NOTICE OF TRUSTEE SALE: NOTICE_OF_SALE
"""


def test_run_source_pulls_lands_and_stages_an_http_source(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leads.db import state_db
    from leads.pipeline import ensure_staged_tables, run_source
    from leads.settings import Settings

    sources = tmp_path / "config" / "sources"
    sources.mkdir(parents=True)
    (sources / "tx_api.yaml").write_text(HTTP_SOURCE_YAML.format(url=api.base), encoding="utf-8")
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LEADS_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("LEADS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LEADS_ENVIRONMENT", "test")
    monkeypatch.setenv("TX_API_TOKEN", CANARY)
    settings = Settings()
    config = load_source(sources / "tx_api.yaml")
    records = _records(5)
    api.respond = _paged(records, wrap="data")
    received = dt.datetime(2026, 11, 27, 6, 0)

    with state_db(settings) as con:
        ensure_staged_tables(con)
        outcome = run_source(con, config, settings, AS_OF, "run-1", received)
        assert (outcome.status, outcome.message) == ("ok", None)
        assert (outcome.files_landed, outcome.rows_in, outcome.rows_staged) == (1, 5, 5)
        assert outcome.last_delivery_date == AS_OF
        staged = con.execute(
            "SELECT record_id, event, recorded_date, amount_due, county_fips FROM staged_filings "
            "WHERE source = 'tx_api' ORDER BY record_id"
        ).fetchall()
        assert [row[0] for row in staged] == [r["file_no"] for r in records]
        assert staged[0][1:] == ("NOTICE_OF_SALE", AS_OF, 1000.5, "48201")
        assert {r.query["recorded_on"] for r in api.requests} == {"2026-11-27"}
        assert {r.headers["authorization"] for r in api.requests} == {f"Bearer {CANARY}"}

        # the same day again: no request, nothing new to land
        count = len(api.requests)
        again = run_source(con, config, settings, AS_OF, "run-2", received)
        assert len(api.requests) == count
        assert again.status == "no_new_files" and again.files_skipped == 1

        # the next day the API is down: the source fails with a one-line message, nothing raised
        api.respond = lambda seen, n: Reply(status=502)
        down = run_source(con, config, settings, AS_OF + dt.timedelta(days=1), "run-3", received)
        assert down.status == "failed"
        assert down.message == f"HTTP 502 on page 1 of {api.base}/api/filings after 2 attempt(s)"
        assert CANARY not in down.message
        raw = list((tmp_path / "data" / "raw" / "tx_api").rglob("*.jsonl"))
        assert [p.name for p in raw] == ["api_2026-11-27.jsonl"]
