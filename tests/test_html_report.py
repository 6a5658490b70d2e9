"""The HTML morning report: written atomically, valid HTML, its JSON data equal to SQL counts, no personal data,
every string escaped, and (when Debian's chromium is installed) rendered by a real browser with its charts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import polars as pl
import pytest

from leads.errors import LeadsError
from leads.html_report import write_report
from schemas.leads import LEAD_COLUMNS, PublishedLead
from transforms.changes import EVENT_SCHEMA, EVENT_TYPES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CANARY_OWNER = "CANARY OWNER ZZQX"
CANARY_ADDRESS = "123 CANARY ST"
EVIL = "<script>alert(1)</script>"
EVIL_MESSAGE = "schema drift: <img src=x onerror=alert(2)>"
AS_OF = dt.date(2026, 11, 27)
OLD, NEW = "20261126-r1", "20261127-r2"
CHARTS = [
    "leads_by_tier_and_county",
    "days_to_auction",
    "equity_pct",
    "quarantine_by_check",
    "source_freshness",
    "events_by_type",
]
VOID = {"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "wbr", "source", "track", "embed"}
SVG_LEAVES = {"rect", "line", "path", "circle"}  # drawn as explicit pairs here, but self-closing is valid SVG


def _lead(i: int, county: tuple[str, str], tier: str, **overrides: object) -> dict:
    actionable = tier != "inactive"
    row = {
        "lead_id": f"L{i:016x}",
        "case_id": f"C{i:016x}",
        "state": county[0],
        "county_fips": county[1],
        "source": "fl_test",
        "apn": f"APN-{i}",
        "parcel_count": 1,
        "match_method": "parcel_id",
        "match_confidence": 1.0,
        "situs_address": f"{CANARY_ADDRESS}, TAMPA FL 33601",
        "owner_name": CANARY_OWNER,
        "mailing_address": f"{CANARY_ADDRESS}, TAMPA FL 33601",
        "owner_occupied": True,
        "occupancy": "owner_occupied",
        "occupancy_confidence": 0.9,
        "plaintiff": CANARY_OWNER,
        "plaintiff_type": "individual_other",
        "lane": "mortgage",
        "lane_confidence": 0.9,
        "equity_confidence": None,
        "stage": "NOTICE_OF_SALE" if actionable else "SALE_RESULT",
        "status": "sale_scheduled" if actionable else "sold",
        "actionable": actionable,
        "first_filing_date": dt.date(2026, 6, 1),
        "latest_filing_date": dt.date(2026, 11, 1),
        "filing_count": 2,
        "auction_date": AS_OF + dt.timedelta(days=10 * i),
        "auction_date_low": None,
        "auction_date_high": None,
        "auction_date_source": "recorded",
        "days_to_auction": 10 * i,
        "estimated_value": 300_000.0,
        "value_low": 270_000.0,
        "value_high": 330_000.0,
        "value_source": "avm",
        "value_confidence": 0.8,
        "estimated_payoff": 300_000.0 * (1 - 0.08 * i),
        "payoff_low": None,
        "payoff_high": None,
        "payoff_source": "amortized_loans",
        "equity_amount": 300_000.0 * 0.08 * i,
        "equity_pct": 0.08 * i,
        "ltv": 1 - 0.08 * i,
        "equity_band": "healthy",
        "strategy": "standard_purchase",
        "distress_count": 0,
        "distress_signals": "",
        "score": (90 - 5 * i) if actionable else 0,
        "tier": tier,
        "suppressed": False,
        "reasons": "equity_healthy +30",
        "score_version": "1",
        "as_of": AS_OF,
        "run_id": NEW,
    }
    return row | overrides


def _leads_frame() -> pl.DataFrame:
    fl, ca, tx = ("FL", "12057"), ("CA", "06065"), ("TX", "48201")
    rows = [
        _lead(1, fl, "A"),
        _lead(2, fl, "B"),
        _lead(3, fl, "C", days_to_auction=-3),  # sale date passed but still actionable: the "past" bucket
        _lead(
            4, ca, "A", estimated_payoff=None, payoff_source="unknown", equity_amount=None, equity_pct=None
        ),
        _lead(5, ca, "D", equity_pct=-0.6, equity_amount=-10.0, equity_band="negative"),
        _lead(6, tx, "B", suppressed=True),
        _lead(7, tx, "C", days_to_auction=None, auction_date=None, auction_date_source=None),
        _lead(8, fl, "inactive"),
        _lead(9, ca, "inactive"),
        _lead(10, tx, "inactive"),
        _lead(11, tx, "inactive", source=EVIL),
    ]
    schema = {name: column.dtype.type for name, column in PublishedLead.to_schema().columns.items()}
    frame = pl.DataFrame(rows, schema=schema).select(LEAD_COLUMNS)
    return PublishedLead.validate(frame)  # the fixture mirrors the published contract


def _events() -> pl.DataFrame:
    rows = [
        (OLD, AS_OF - dt.timedelta(days=1), f"L{i:016x}", "new_lead", None, "active") for i in range(1, 11)
    ]
    rows += [(NEW, AS_OF, f"L{11:016x}", "new_lead", None, "sold")]
    rows += [(NEW, AS_OF, f"L{i:016x}", "tier_changed", "C", "B") for i in (2, 6)]
    rows += [(NEW, AS_OF, f"L{i:016x}", "sale_scheduled", None, "2026-12-07") for i in (1, 2, 3)]
    rows += [(NEW, AS_OF, f"L{8:016x}", "sold", "sale_scheduled", "sold")]
    return pl.DataFrame(rows, schema=EVENT_SCHEMA, orient="row")


def _source(run_id: str, source: str, status: str = "ok", **overrides: object) -> dict:
    row = {
        "run_id": run_id,
        "source": source,
        "kind": "filings",
        "status": status,
        "message": None,
        "files_landed": 1,
        "files_skipped": 0,
        "rows_in": 100,
        "rows_ignored": 10,
        "rows_quarantined": 0,
        "rows_duplicate": 0,
        "rows_staged": 90,
        "last_delivery_date": AS_OF,
        "freshness_days": 0,
        "warnings": "[]",
        "quarantined_by_check": "{}",
    }
    return row | overrides


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small published database: the state schema's runs / run_sources / quarantine, leads as per the
    contract, the change feed; with canary personal data and hostile names. Built once per module."""
    path = tmp_path_factory.mktemp("warehouse") / "leads.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute((PROJECT_ROOT / "sql" / "state_schema.sql").read_text(encoding="utf-8"))
        leads, events = _leads_frame(), _events()
        con.register("leads_frame", leads)
        con.register("events_frame", events)
        con.execute("CREATE TABLE leads AS SELECT * FROM leads_frame")
        con.execute("CREATE TABLE lead_events AS SELECT * FROM events_frame")
        run_sql = (
            "INSERT INTO runs (run_id, as_of, started_at, finished_at, status, message, sources_ok, "
            "sources_failed, leads_published, warnings, stage_counts, timings) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        con.execute(
            run_sql,
            [OLD, AS_OF - dt.timedelta(days=1), dt.datetime(2026, 11, 26, 6), dt.datetime(2026, 11, 26, 6, 1)]
            + ["published", None, 3, 0, 10, "[]", '{"leads": 10}', '{"audit": 0.1}'],
        )
        con.execute(
            run_sql,
            [NEW, AS_OF, dt.datetime(2026, 11, 27, 6), dt.datetime(2026, 11, 27, 6, 2, 5), "partial"]
            + [f"{EVIL}: {EVIL_MESSAGE}", 2, 1, 11]
            + [json.dumps([f"{EVIL}: stale: last delivery 9 days ago (SLA 3 days)"])]
            + [
                '{"actionable": 7, "leads": 11, "rows_in": 360}',
                '{"audit": 0.25, "extract_validate_stage": 1.5}',
            ],
        )
        sources = [
            _source(OLD, "fl_test", rows_quarantined=5),
            _source(NEW, "fl_test", rows_quarantined=3),
            _source(NEW, "ca_test", rows_quarantined=3, freshness_days=None, last_delivery_date=None),
            _source(
                NEW,
                EVIL,
                status="failed",
                message=EVIL_MESSAGE,
                freshness_days=9,
                rows_quarantined=1,
                warnings=json.dumps(["stale: last delivery 9 days ago (SLA 3 days)"]),
            ),
        ]
        con.executemany(
            "INSERT INTO run_sources (run_id, source, kind, status, message, files_landed, files_skipped, "
            "rows_in, rows_ignored, rows_quarantined, rows_duplicate, rows_staged, last_delivery_date, "
            "freshness_days, warnings, quarantined_by_check) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [list(s.values()) for s in sources],
        )
        quarantine = (
            [(OLD, "fl_test", "old.txt", n, "apn", "apn_format") for n in range(5)]
            + [(NEW, "fl_test", "a.txt", n, "recorded_date", "recorded_date_parses") for n in range(3)]
            + [(NEW, "ca_test", "b.csv", 1, "recorded_date", "recorded_date_parses")]
            + [(NEW, "ca_test", "b.csv", n, "apn", "apn_format") for n in (2, 3)]
            + [(NEW, EVIL, "c.json", 1, None, "unreadable_record")]
        )
        con.executemany(
            "INSERT INTO quarantine (run_id, source, file, source_line, column_name, check_name, reason, "
            "raw_record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (*q, f"cannot parse '{CANARY_ADDRESS}'", f"{CANARY_OWNER}|{CANARY_ADDRESS}|11/31/2026")
                for q in quarantine
            ],
        )
        for private in ("raw_manifest", "meta"):  # private state: never published
            con.execute(f"DROP TABLE IF EXISTS {private}")
    finally:
        con.close()
    return path


@pytest.fixture
def published_db(built_db: Path, tmp_path: Path) -> Path:
    """A private copy of the built database (a test may change it)."""
    path = tmp_path / "warehouse" / "leads.duckdb"
    path.parent.mkdir()
    shutil.copyfile(built_db, path)
    return path


class StrictParser(HTMLParser):
    """Fails on mis-nested or unclosed elements; collects scripts, charts and any URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.charts: list[str] = []
        self.urls: list[str] = []
        self.json_text = ""
        self._in_data = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
            self._in_data = attributes.get("id") == "report-data"
        if tag == "svg" and attributes.get("class") == "chart":
            self.charts.append(attributes.get("data-chart") or "")
        self.urls += [v for k, v in attrs if k in {"src", "href", "action", "srcset", "poster"} and v]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID and tag not in SVG_LEAVES:
            self.errors.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "script":
            self._in_data = False

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.json_text += data
        else:
            self.text.append(data)


def _parse(page: str) -> StrictParser:
    parser = StrictParser()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == [], f"unclosed elements: {parser.stack}"
    return parser


def _sql(db: Path, query: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def test_report_is_written_atomically_and_is_valid_self_contained_html(
    published_db: Path, tmp_path: Path
) -> None:
    digest = hashlib.sha256(published_db.read_bytes()).hexdigest()
    reports = tmp_path / "reports"
    path = write_report(published_db, reports)
    assert path == reports / f"{NEW}.html"  # default: the latest run
    assert (reports / "latest.html").read_bytes() == path.read_bytes()
    assert sorted(p.name for p in reports.iterdir()) == [f"{NEW}.html", "latest.html"]  # no temp files left
    assert hashlib.sha256(published_db.read_bytes()).hexdigest() == digest  # read-only
    page = path.read_text(encoding="utf-8")
    parser = _parse(page)
    assert parser.scripts == [{"type": "application/json", "id": "report-data"}]  # no JavaScript
    assert sorted(parser.charts) == sorted(CHARTS)
    assert parser.urls == []
    assert "Content-Security-Policy" in page
    assert [
        u
        for u in ("http://", "https://", "//fonts", "@import", "url(")
        if u in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    ] == []
    assert write_report(published_db, reports).read_bytes() == path.read_bytes()  # deterministic


def test_json_data_equals_sql_counts(published_db: Path, tmp_path: Path) -> None:
    page = write_report(published_db, tmp_path / "reports").read_text(encoding="utf-8")
    data = json.loads(_parse(page).json_text)
    assert (data["report_run_id"], data["data_run_id"]) == (NEW, NEW)

    tier_county = _sql(
        published_db,
        "SELECT state || ' ' || county_fips, tier, count(*) FROM leads GROUP BY ALL ORDER BY 1, 2",
    )
    assert [(r["county"], r["tier"], r["leads"]) for r in data["leads_by_tier_and_county"]] == tier_county

    by_check = _sql(
        published_db,
        "SELECT check_name, source, count(*) FROM quarantine WHERE run_id = ? GROUP BY ALL ORDER BY 1, 2",
        [NEW],
    )
    assert (
        sorted((r["check_name"], r["source"], r["quarantined"]) for r in data["quarantine_by_check"])
        == by_check
    )
    assert sum(n for *_, n in by_check) == 7  # this run's rows only, not the older run's

    events = dict(
        _sql(published_db, "SELECT event_type, count(*) FROM lead_events WHERE run_id = ? GROUP BY 1", [NEW])
    )
    shown = {r["event_type"]: r["events"] for r in data["events_by_type"]}
    assert {k: v for k, v in shown.items() if v} == events
    assert set(shown) == set(EVENT_TYPES)

    actionable, with_equity = _sql(
        published_db, "SELECT count(*), count(equity_pct) FROM leads WHERE actionable"
    )[0]
    assert sum(b["leads"] for b in data["days_to_auction"]) == actionable == 7
    assert {b["label"]: b["leads"] for b in data["days_to_auction"]}["past"] == 1
    assert {b["label"]: b["leads"] for b in data["days_to_auction"]}["unknown"] == 1
    assert sum(b["leads"] for b in data["equity_pct"]) == with_equity == 6
    assert data["equity_pct"][0]["leads"] == 1  # -60 % lands in the open-ended lowest bin

    freshness = {s["source"]: (s["freshness_days"], s["stale"]) for s in data["source_freshness"]}
    assert freshness == {"ca_test": (None, False), "fl_test": (0, False), EVIL: (9, True)}
    assert data["run"]["stage_counts"]["leads"] == 11
    assert data["run"]["duration_seconds"] == 125.0

    top = [r["lead_id"] for r in data["top_leads"]]
    expected = _sql(
        published_db,
        "SELECT lead_id FROM leads WHERE actionable AND NOT suppressed AND lane = 'mortgage' "
        "ORDER BY score DESC, days_to_auction NULLS LAST, lead_id LIMIT 20",
    )
    assert top == [r[0] for r in expected]
    assert f"L{6:016x}" not in top  # suppressed: never listed


def test_report_carries_no_personal_data(published_db: Path, tmp_path: Path) -> None:
    assert _sql(published_db, "SELECT count(*) FROM leads WHERE owner_name = ?", [CANARY_OWNER])[0][0] > 0
    assert _sql(published_db, "SELECT count(*) FROM quarantine WHERE raw_record LIKE '%CANARY%'")[0][0] > 0
    page = write_report(published_db, tmp_path / "reports").read_text(encoding="utf-8")
    for variant in (page, page.upper(), json.loads(_parse(page).json_text).__repr__().upper()):
        assert "CANARY" not in variant
        assert "ZZQX" not in variant
    assert "APN-" not in page  # parcel ids lead straight to an address
    assert "cannot parse" not in page  # quarantine reasons can quote values


def test_every_string_is_escaped(published_db: Path, tmp_path: Path) -> None:
    page = write_report(published_db, tmp_path / "reports").read_text(encoding="utf-8")
    assert EVIL not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, in the tables and warnings
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    parser = _parse(page)
    assert len(parser.scripts) == 1
    data = json.loads(parser.json_text)
    assert EVIL in {s["source"] for s in data["sources"]}  # the JSON keeps the real name, \u-escaped
    assert EVIL in "".join(parser.text)  # the browser shows the name as text


def test_older_run_and_unpublished_run(published_db: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    latest = write_report(published_db, reports).read_bytes()
    old = write_report(published_db, reports, OLD)
    assert old == reports / f"{OLD}.html"
    assert (reports / "latest.html").read_bytes() == latest  # re-rendering an old run keeps latest.html
    data = json.loads(_parse(old.read_text(encoding="utf-8")).json_text)
    assert {r["event_type"]: r["events"] for r in data["events_by_type"] if r["events"]} == {"new_lead": 10}
    assert [(r["check_name"], r["quarantined"]) for r in data["quarantine_by_check"]] == [("apn_format", 5)]
    assert any("snapshot of run" in n for n in data["notices"])  # its leads are the newer run's

    failed = write_report(published_db, reports, "20261128-failed")
    page = failed.read_text(encoding="utf-8")
    data = json.loads(_parse(page).json_text)
    assert (data["report_run_id"], data["data_run_id"]) == ("20261128-failed", NEW)
    assert "is not in the published database" in page
    assert (reports / "latest.html").read_bytes() == failed.read_bytes()


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "", ".hidden", "x" * 200])
def test_unsafe_run_ids_are_refused(published_db: Path, tmp_path: Path, run_id: str) -> None:
    with pytest.raises(LeadsError, match="not a run id"):
        write_report(published_db, tmp_path / "reports", run_id)
    assert not (tmp_path / "reports").exists()
    assert not (tmp_path / "escape.html").exists()


def test_empty_database_and_missing_file(tmp_path: Path, published_db: Path) -> None:
    con = duckdb.connect(str(published_db))
    try:
        for table in ("leads", "lead_events", "quarantine"):
            con.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    finally:
        con.close()
    page = write_report(published_db, tmp_path / "reports").read_text(encoding="utf-8")
    parser = _parse(page)
    assert "quarantine_by_check" not in parser.charts  # replaced by a sentence
    assert "No rows were quarantined this run." in page
    assert "No actionable leads." in page
    with pytest.raises(LeadsError):
        write_report(tmp_path / "missing.duckdb", tmp_path / "reports")


def test_chromium_renders_the_charts(published_db: Path, tmp_path: Path) -> None:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium): only the parse checks ran"
        )
    path = write_report(published_db, tmp_path / "reports")
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    dom = result.stdout
    for chart in CHARTS:
        assert f'data-chart="{chart}"' in dom
    assert dom.count("<svg") == len(CHARTS)
    assert dom.count("<rect") > 20
    assert 'id="report-data"' in dom
    assert "<script>alert(1)" not in dom
