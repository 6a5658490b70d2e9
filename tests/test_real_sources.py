"""The three real public sources on their committed excerpts (tests/fixtures/real, see PROVENANCE.md there):
Broward County FL recorder export, Allegheny County PA foreclosure cases (WPRDC), Nueces County TX notices.

No Prefect: the pipeline's own steps (land + stage each source, then match and group into cases) run once per
module on a private data dir, with the fixture folder as the landing folder. Expected counts are the fixtures'.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from leads.case_tables import build_cases
from leads.db import state_db
from leads.pipeline import SourceOutcome, ensure_staged_tables, load_reference, run_source
from leads.readers import read_delivery
from leads.settings import PROJECT_ROOT, Settings
from leads.sources import SourceConfig, load_sources
from transforms.canonical import canonical_records, with_companion

FIXTURES = Path(__file__).parent / "fixtures" / "real"
SOURCES_DIR = PROJECT_ROOT / "config" / "sources"
REAL = ["fl_broward", "pa_allegheny", "tx_nueces"]
AS_OF = dt.date(2026, 8, 22)
RECEIVED = dt.datetime(2026, 8, 22, 6, 0)
BROWARD_DAILY = FIXTURES / "fl_broward" / "2026-07-31"
BROWARD_YEARLY = FIXTURES / "fl_broward" / "2026-01-05" / "CY2025doc-rec.head.txt"


@dataclass
class RealRun:
    configs: dict[str, SourceConfig]
    outcomes: dict[str, SourceOutcome]
    counts: dict[str, int]
    staged: pl.DataFrame
    quarantine: pl.DataFrame
    manifest: pl.DataFrame
    filings: pl.DataFrame  # case_filings
    cases: pl.DataFrame

    def staged_of(self, source: str) -> pl.DataFrame:
        return self.staged.filter(pl.col("source") == source)

    def case_of(self, source: str, record_id: str) -> dict:
        case_id = self.filings.filter((pl.col("source") == source) & (pl.col("record_id") == record_id))[
            "case_id"
        ].item()
        return self.cases.filter(pl.col("case_id") == case_id).row(0, named=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RealRun:
    settings = Settings(data_dir=tmp_path_factory.mktemp("real") / "data", landing_dir=FIXTURES)
    configs = {c.source: c for c in load_sources(SOURCES_DIR, REAL)}
    with state_db(settings) as con:
        ensure_staged_tables(con)
        load_reference(con, settings)
        outcomes = {s: run_source(con, c, settings, AS_OF, "real-test", RECEIVED) for s, c in configs.items()}
        counts = build_cases(con, settings, AS_OF)
        return RealRun(
            configs=configs,
            outcomes=outcomes,
            counts=counts,
            staged=con.sql("SELECT * FROM staged_filings").pl(),
            quarantine=con.sql("SELECT * FROM quarantine").pl(),
            manifest=con.sql("SELECT source, delivery_date, file_name, status FROM raw_manifest").pl(),
            filings=con.sql("SELECT * FROM case_filings").pl(),
            cases=con.sql("SELECT * FROM cases").pl(),
        )


# ---------------------------------------------------------------- every source


def test_the_real_configs_load() -> None:
    configs = {c.source: c for c in load_sources(SOURCES_DIR, REAL)}
    assert {s: (c.county.state, c.county.fips) for s, c in configs.items() if c.county} == {
        "fl_broward": ("FL", "12011"),
        "pa_allegheny": ("PA", "42003"),
        "tx_nueces": ("TX", "48355"),
    }
    broward = configs["fl_broward"]
    assert broward.format.trailing_delimiter and not broward.format.header
    assert [j.prefix for j in broward.joins] == ["plaintiff_", "defendant_", "lgl_", "lnk_"]
    assert configs["pa_allegheny"].fields["record_id"] == ["case_id", "filing_date", "pin"]
    assert configs["pa_allegheny"].parcel_id.digits is None  # pins hold letters: 1222S00215000000
    assert configs["tx_nueces"].format.records_path == "records"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Broward: 65 daily + 32 yearly-head + 9 re-rendered lines; 52 LP / RST>LP staged, 53 other documents
        # ignored, the yearly head's truncated last line quarantined
        ("fl_broward", (3, 106, 53, 1, 0, 52)),
        # Allegheny: 101 + 21 rows, two of them a second plaintiff of the same case x parcel (one record)
        ("pa_allegheny", (2, 122, 0, 0, 2, 120)),
        # Nueces: 16 notices in the May snapshot, 9 in the August one
        ("tx_nueces", (2, 25, 0, 0, 0, 25)),
    ],
)
def test_each_source_stages_without_schema_failures(
    run: RealRun, source: str, expected: tuple[int, int, int, int, int, int]
) -> None:
    outcome = run.outcomes[source]
    assert (outcome.status, outcome.message) == ("ok", None)
    got = (
        outcome.files_landed,
        outcome.rows_in,
        outcome.rows_ignored,
        outcome.rows_quarantined,
        outcome.rows_duplicate,
        outcome.rows_staged,
    )
    assert got == expected
    assert run.staged_of(source).height == outcome.rows_staged
    assert not any("unexpected column" in w for w in outcome.warnings)


def test_only_the_truncated_broward_line_is_quarantined(run: RealRun) -> None:
    assert run.outcomes["fl_broward"].quarantine_by_check == {"truncated_record": 1}
    row = run.quarantine.row(0, named=True)
    assert run.quarantine.height == 1
    assert (row["source"], row["file"], row["source_line"], row["check_name"]) == (
        "fl_broward",
        "CY2025doc-rec.head.txt",
        32,
        "truncated_record",
    )
    assert row["raw_record"] == "119980674|20250"


def test_every_filing_is_grouped_into_a_case(run: RealRun) -> None:
    # no parcel roll here; a first build derives every case
    assert run.counts == {"filings": 197, "filings_matched": 0, "cases": 168, "cases_recomputed": 168}
    statuses = run.cases.group_by("source", "status").len().sort("source", "status").rows()
    assert statuses == [
        ("fl_broward", "active", 29),  # the 07/2025-07/2026 lis pendens
        ("fl_broward", "cancelled", 2),  # the two releases of a lis pendens
        ("fl_broward", "stale", 21),  # January 2025 lis pendens: no follow-on in 540 days
        ("pa_allegheny", "cancelled", 30),
        ("pa_allegheny", "sold", 10),
        ("pa_allegheny", "stale", 51),
        ("tx_nueces", "sale_date_passed_unknown", 16),
        ("tx_nueces", "sale_scheduled", 9),
    ]


# ---------------------------------------------------------------- Broward


def test_broward_main_file_glob_skips_the_range_file(run: RealRun) -> None:
    landed = run.manifest.filter(pl.col("source") == "fl_broward")["file_name"].sort().to_list()
    assert landed == [
        "07-31-2026doc-ver.txt",
        "07-31-2026lgl-ver.txt",
        "07-31-2026lnk-ver.txt",
        "07-31-2026nme-ver.txt",
        "CY2025doc-rec.head.txt",
        "REBUILT-db_lp-doc-ver.txt",
        "REBUILT-db_party-nme-ver.txt",
    ]
    assert "07-31-2026doc-ver-rng.txt" not in landed  # two bare doc ids: not records


def test_broward_bom_does_not_corrupt_the_first_record(run: RealRun) -> None:
    assert BROWARD_YEARLY.read_bytes().startswith(b"\xef\xbb\xbf119979078|")
    frame = read_delivery(BROWARD_YEARLY, run.configs["fl_broward"].format).frame
    assert frame.row(0, named=True)["doc_id"] == "119979078"  # an RST: read, then ignored (no link file)
    assert frame.row(0, named=True)["doc_type"] == "RST"
    yearly = run.staged_of("fl_broward").filter(pl.col("file") == BROWARD_YEARLY.name)
    assert yearly.height == 19 and set(yearly["doc_type"]) == {"LP"}
    assert yearly["record_id"].str.contains(r"^\d{9}$").all()
    assert yearly["recorded_date"].unique().to_list() == [dt.date(2025, 1, 2)]


def test_broward_lis_pendens_carry_their_joined_party_names(run: RealRun) -> None:
    lps = run.staged_of("fl_broward").filter(pl.col("event") == "LIS_PENDENS")
    assert lps.height == 50
    daily = lps.filter(pl.col("file") == "07-31-2026doc-ver.txt")
    assert daily.height == 22
    assert daily["plaintiff"].is_not_null().all() and daily["defendant"].is_not_null().all()
    mt_bank = daily.filter(pl.col("record_id") == "121016048").row(0, named=True)
    assert mt_bank["plaintiff"] == "M&T BANK"  # role D
    assert mt_bank["defendant"] == (  # role R, in sequence order
        "HARDWICK,VANESSA; HARDWICK,TOMMY; MEMORIAL EMPLOYEES FEDERAL CREDIT UNION; UNITED STATES OF AMERICA; "
        "SECRETARY OF HOUSING & URBAN DEVELOPMENT"
    )
    assert mt_bank["case_number"] == "CACE-26-012330"
    assert mt_bank["recorded_date"] == dt.date(2026, 7, 31)
    two_lenders = daily.filter(pl.col("record_id") == "121017168")["plaintiff"].item()
    assert two_lenders == "CITIBANK; BARCLAYS MORTGAGE LOAN TRUST 2024-NQM1"
    # Broward's export has no legal description or folio for a lis pendens (see the config)
    assert lps["legal_description"].is_null().all() and lps["apn"].is_null().all()
    # the re-rendered LPs have their names too; the yearly head comes without a names file
    rebuilt = lps.filter(pl.col("file") == "REBUILT-db_lp-doc-ver.txt")
    assert rebuilt.height == 9 and rebuilt["plaintiff"].is_not_null().all()
    assert lps.filter(pl.col("file") == BROWARD_YEARLY.name)["plaintiff"].is_null().all()


def test_broward_legal_and_folio_join_on_documents_that_have_them(run: RealRun) -> None:
    config = run.configs["fl_broward"]
    legal = config.joins[2]
    doc = read_delivery(BROWARD_DAILY / "07-31-2026doc-ver.txt", config.format).frame
    lgl_format = config.format.model_copy(update={"columns": legal.columns})
    lgl = read_delivery(BROWARD_DAILY / "07-31-2026lgl-ver.txt", lgl_format).frame
    joined = with_companion(
        doc, lgl, legal.key, legal.on, legal.where, legal.order_by, legal.take, legal.prefix
    )
    by_id = {r["doc_id"]: r for r in joined.iter_rows(named=True)}
    # a deed on two parcels: the first legal line is taken
    assert (by_id["121018050"]["lgl_legal"], by_id["121018050"]["lgl_folio"]) == (
        "REEF PLAZA 184-96 B PARCEL A",
        "494219300010",
    )
    # the doc file's own column holds a placeholder folio where the legal file has none
    assert by_id["121018051"]["first_folio"] == "-000000000000"
    assert by_id["121018051"]["lgl_folio"] is None
    with_legal = joined.filter(pl.col("lgl_legal").is_not_null())
    assert with_legal["doc_type"].unique().sort().to_list() == ["D", "TSD"]  # never an LP


def test_broward_release_of_a_lis_pendens_is_a_release_of_that_filing(run: RealRun) -> None:
    releases = run.staged_of("fl_broward").filter(pl.col("event") == "RELEASE").sort("record_id")
    columns = ["record_id", "doc_type", "ref_record_id", "ref_doc_type", "case_number"]
    assert releases.select(columns).rows() == [
        ("121016034", "RST", "120921863", "LP", "COCE-26-043779"),
        ("121017014", "RST", "118238390", "LP", "COWE-22-001702"),
    ]
    # Neither released LP is in any real file we have (recorded before the exports start), so each release's
    # case is the LP's court case, keyed by the case number the release carries, and it ends cancelled.
    for record_id, case_number in [("121016034", "COCE-26-043779"), ("121017014", "COWE-22-001702")]:
        case = run.case_of("fl_broward", record_id)
        assert case["case_key"] == f"fl_broward|cn|{case_number}"
        assert (case["status"], case["first_event"], case["filing_count"]) == ("cancelled", "RELEASE", 1)
        assert case["release_date"] == dt.date(2026, 7, 31)


def test_broward_other_releases_and_judgments_are_ignored(run: RealRun) -> None:
    staged = set(run.staged_of("fl_broward")["record_id"])
    doc = read_delivery(BROWARD_DAILY / "07-31-2026doc-ver.txt", run.configs["fl_broward"].format).frame
    types = dict(zip(doc["doc_id"], doc["doc_type"], strict=True))
    rst = {i for i, t in types.items() if t in ("RST", "RSTX")}
    assert len(rst) == 25
    assert rst & staged == {"121016034", "121017014"}
    # the daily file's 41 non-foreclosure documents + the yearly head's 12 = rows_ignored
    assert sum(1 for i in types if i not in staged) == 41
    assert not {i for i, t in types.items() if t in ("FJ", "CFJ", "CER", "TSD")} & staged
    # an RST that releases the JUDGMENT in a construction-lien case with a lis pendens leaves the LP open
    lien_lp = run.case_of("fl_broward", "120319347")
    assert (lien_lp["case_key"], lien_lp["status"], lien_lp["filing_count"]) == (
        "fl_broward|cn|CACE-25-010221",
        "active",
        1,
    )
    # a judgment in a lis pendens' case is ignored too (FJ/CFJ stay IGNORE: most are money judgments)
    assert run.case_of("fl_broward", "120364546")["status"] == "active"


def test_broward_unlinked_release_in_a_lis_pendens_case_does_not_cancel_it(run: RealRun) -> None:
    """Known limit: RST 121016357 carries LP 121005146's case number and parties but the county indexed no
    link, so under `RST>LP` it is ignored and the case stays active (same for 121017752 and 121016883)."""
    staged = set(run.staged_of("fl_broward")["record_id"])
    assert not {"121016357", "121017752", "121016883"} & staged
    for lp in ["121005146", "120272438", "120531276"]:
        assert run.case_of("fl_broward", lp)["status"] == "active"


def test_broward_case_number_placeholders_do_not_merge_cases(run: RealRun) -> None:
    no_case = ["121017670", "120001013", "120023168"]  # each filed with case number "-NOT SHOWN"
    rows = run.filings.filter((pl.col("source") == "fl_broward") & pl.col("record_id").is_in(no_case))
    assert rows["case_number"].is_null().all()
    assert rows["case_id"].n_unique() == 3


# ---------------------------------------------------------------- Allegheny


def test_allegheny_docket_types_map_to_events(run: RealRun) -> None:
    staged = run.staged_of("pa_allegheny")
    by_event = dict(staged.group_by("event").len().rows())
    assert by_event == {
        "LIS_PENDENS": 42,
        "FINAL_JUDGMENT": 7,
        "NOTICE_OF_SALE": 3,
        "POSTPONEMENT": 1,
        "RELEASE": 57,
        "SALE_RESULT": 10,
    }
    event_of = dict(staged.select("doc_type", "event").unique().rows())
    terminations = [
        "Praecipe to Withdraw",
        "Praecipe for Withdrawal",
        "Withdrawal",
        "Discontinued",
        "Discontinued without Prejudice",
        "Discontinued with Prejudice",
        "Discontinuance",
        "Settled and Discontinued",
        "Satisfaction",
        "Release",
        "Release of Judgment Lien",
        "Case Terminated",
        "Dismissed without Prejudice",
        "Order of Court- Case Dismissed",
    ]
    assert {t: event_of[t] for t in terminations} == dict.fromkeys(terminations, "RELEASE")
    assert event_of["Sheriff's Deed"] == "SALE_RESULT"
    assert event_of["Complaint"] == "LIS_PENDENS"
    assert event_of["Default Judgment"] == "FINAL_JUDGMENT"
    # counsel withdrawing is not the action ending
    for docket in ["Praecipe to Withdraw Appearance", "Motion to Withdraw Appearance", "Motion to Withdraw"]:
        assert event_of[docket] == "LIS_PENDENS"


def test_allegheny_sheriffs_deed_sells_and_termination_cancels(run: RealRun) -> None:
    deeds = run.staged_of("pa_allegheny").filter(pl.col("doc_type") == "Sheriff's Deed")
    assert deeds.height == 6  # 7 rows: GD-09-005644 is listed once per plaintiff
    for record_id in deeds["record_id"]:
        assert run.case_of("pa_allegheny", record_id)["status"] == "sold"
    twin = deeds.filter(pl.col("case_number") == "GD-09-005644").row(0, named=True)
    assert twin["record_id"] == "GD-09-005644|2009-03-21|0297E00122000000"
    assert twin["plaintiff"] == "Ditech Financial LLC"  # the later line of the two
    withdrawn = run.staged_of("pa_allegheny").filter(pl.col("doc_type") == "Praecipe to Withdraw")
    assert withdrawn.height == 3
    for record_id in withdrawn["record_id"]:
        assert run.case_of("pa_allegheny", record_id)["status"] == "cancelled"


def test_allegheny_case_over_many_parcels_is_one_case(run: RealRun) -> None:
    filings = run.filings.filter(pl.col("case_number") == "GD-09-023178")
    assert filings.height == 26
    assert filings["apn"].n_unique() == 26
    assert filings["case_id"].n_unique() == 1
    case = run.cases.filter(pl.col("case_id") == filings["case_id"][0]).row(0, named=True)
    assert (case["case_key"], case["filing_count"], case["status"]) == (
        "pa_allegheny|cn|GD-09-023178",
        26,
        "cancelled",  # the case's latest docket entry is Satisfaction
    )


def test_allegheny_placeholders_become_null(run: RealRun) -> None:
    staged = run.staged_of("pa_allegheny")
    no_pin = staged.filter(pl.col("apn").is_null())
    assert no_pin["record_id"].sort().to_list() == [  # pin "" and block_lot NONE
        "GD-09-005601|2009-03-20|",
        "MG-21-000123|2021-07-22|",
    ]
    # amount "0" means not stated, never a zero debt
    assert staged["amount_due"].min() > 0
    assert staged.filter(pl.col("amount_due").is_null()).height == 16  # 13 "0" + 3 empty


def test_allegheny_date_formats_of_the_publisher_all_parse(run: RealRun) -> None:
    """The copy holds only YYYY-MM-DD; these are the publisher loader's other three shapes (made-up rows)."""
    config = run.configs["pa_allegheny"]
    raw = pl.DataFrame(
        {
            "source_line": [1, 2, 3, 4, 5],
            "filing_date": [
                "2009-01-02",
                "2009-01-02 00:00:00.000000",
                "2009-01-02 00:00:00",
                "02-Jan-09",
                "1/2/09",
            ],
        },
        schema_overrides={"source_line": pl.Int64},
    )
    out = canonical_records(raw, {"recorded_date": "filing_date"}, ["recorded_date"], [], config.date_formats)
    assert out["recorded_date"].to_list() == [dt.date(2009, 1, 2)] * 4 + [None]


# ---------------------------------------------------------------- Nueces


def test_nueces_notices_are_notices_of_sale_with_sale_dates(run: RealRun) -> None:
    staged = run.staged_of("tx_nueces")
    assert set(staged["event"]) == {"NOTICE_OF_SALE"}
    assert staged["sale_date"].is_not_null().all()
    assert dict(staged.group_by("delivery_date").len().rows()) == {
        dt.date(2026, 5, 28): 16,
        dt.date(2026, 8, 22): 9,
    }
    assert (staged["sale_date"] >= staged["recorded_date"]).all()
    first = staged.filter(pl.col("record_id") == "2026000295").row(0, named=True)
    assert (first["recorded_date"], first["sale_date"]) == (dt.date(2026, 5, 12), dt.date(2026, 6, 2))
    assert first["legal_description"] == "LEEWARD ISLES PHASE I UNIT 803 BUILDING H"
    loan = staged.filter(pl.col("record_id") == "2026000286")["original_loan_amount"].item()
    assert loan == 196800.0
    # the August snapshot has no owner or loan data: empty strings and nulls stay null
    august = staged.filter(pl.col("delivery_date") == dt.date(2026, 8, 22))
    assert august["defendant"].is_null().all() and august["original_loan_amount"].is_null().all()


def test_nueces_sunday_sale_date_is_kept_and_does_not_break_the_run(run: RealRun) -> None:
    sunday = run.staged_of("tx_nueces").filter(pl.col("record_id") == "2026000178").row(0, named=True)
    assert sunday["sale_date"] == dt.date(2026, 7, 19)
    assert sunday["sale_date"].weekday() == 6  # Sunday: Texas sales are on first Tuesdays
    assert run.case_of("tx_nueces", "2026000178")["status"] == "sale_date_passed_unknown"
    # every other sale date in the excerpts is a Tuesday
    others = run.staged_of("tx_nueces").filter(pl.col("record_id") != "2026000178")["sale_date"]
    assert {d.weekday() for d in others} == {1}
