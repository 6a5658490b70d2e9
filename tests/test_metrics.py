"""Accuracy metrics against the generator's truth: the arithmetic on hand-made frames, then one run of the real
pipeline steps (no Prefect) on the committed sample graded by `leads.evaluate` (and `leads evaluate`)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from leads import case_tables, lead_tables, pipeline
from leads.cli import app
from leads.db import state_db
from leads.evaluate import evaluate_run
from leads.scoring import load_scoring
from leads.settings import Settings
from leads.sources import load_sources
from transforms import metrics

D = dt.date


def _truth_filings(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["source", "record_id", "apn", "case_id", "defect"], orient="row"
    ).with_columns(pl.col("defect").cast(pl.String))


def _predicted(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["source", "record_id", "parcel_apn", "match_method", "case_id"], orient="row"
    )


# --------------------------------------------------------------------------------------------- matching


@pytest.fixture
def graded() -> pl.DataFrame:
    truth = _truth_filings(
        [
            ("fl", "1", "A", "T1", None),
            ("fl", "1", "A", "T1", "malformed"),  # extra copies are not graded
            ("fl", "1", "A", "T1", "duplicate"),
            ("fl", "2", "B", "T1", None),
            ("fl", "3", "C", "T2", None),
            ("tx", "4", "D", "T3", None),
            ("tx", "5", "E", "T3", None),  # never staged
        ]
    )
    predicted = _predicted(
        [
            ("fl", "1", "A", "parcel_id", "P1"),  # right
            ("fl", "2", "B", "legal_description", "P1"),  # right
            ("fl", "3", "X", "situs_address", "P2"),  # wrong parcel
            ("tx", "4", None, "none", "P3"),  # unmatched
            ("tx", "9", "Z", "parcel_id", "P4"),  # not a truth document
        ]
    )
    return metrics.graded_filings(truth, predicted)


def test_match_precision_is_correct_over_matched_and_recall_correct_over_truth(graded: pl.DataFrame) -> None:
    result = metrics.match_accuracy(graded)
    assert (result["truth_filings"], result["staged"], result["matched"], result["correct"]) == (5, 4, 3, 2)
    assert (result["wrong"], result["unmatched"], result["not_staged"], result["not_in_truth"]) == (
        1,
        1,
        1,
        1,
    )
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 5)
    by_source = {r["source"]: r for r in result["by_source"].to_dicts()}
    assert (by_source["fl"]["precision"], by_source["fl"]["recall"]) == (
        pytest.approx(2 / 3),
        pytest.approx(2 / 3),
    )
    assert (by_source["tx"]["matched"], by_source["tx"]["precision"], by_source["tx"]["recall"]) == (
        0,
        None,
        0.0,
    )
    by_method = result["by_method"].select("match_method", "filings", "correct", "wrong", "precision").rows()
    assert by_method == [
        ("parcel_id", 1, 1, 0, 1.0),
        ("legal_description", 1, 1, 0, 1.0),
        ("situs_address", 1, 0, 1, 0.0),
        ("none", 1, 0, 0, None),
    ]
    assert result["by_method"]["share_of_truth"].to_list() == [0.2, 0.2, 0.2, 0.2]


def test_malformed_rows_are_found_in_the_quarantine_by_their_quoted_record_id() -> None:
    truth = _truth_filings(
        [
            ("fl", "2025000342", "A", "T1", "malformed"),
            ("fl", "2025000999", "B", "T2", "malformed"),  # not quarantined
            ("tx", "7", "C", "T3", "malformed"),
        ]
    )
    quarantine = pl.DataFrame(
        {
            "source": ["fl", "fl", "tx"],
            "raw_record": [
                '{"instrument":"2025000342","record_date":"13/45/2025"}',
                '{"instrument":"12025000999","record_date":"13/45/2025"}',  # a longer id: not a hit
                '{"id":"7","date":"2026-02-30"}',
            ],
        }
    )
    result = metrics.quarantine_check(truth, quarantine)
    assert (result["truth_malformed"], result["found_in_quarantine"], result["quarantine_rows"]) == (3, 2, 3)
    assert result["by_source"].rows() == [("fl", 2, 1, 2), ("tx", 1, 1, 1)]


# ------------------------------------------------------------------------------------------------ cases


def _grouping(pairs: list[tuple[str, str]]) -> pl.DataFrame:
    """Filings numbered in order, each (true case, predicted case), all matched to the true parcel."""
    rows = [(str(i), t, p) for i, (t, p) in enumerate(pairs)]
    truth = _truth_filings([("fl", r, "A", t, None) for r, t, _ in rows])
    predicted = _predicted([("fl", r, "A", "parcel_id", p) for r, _, p in rows])
    return metrics.graded_filings(truth, predicted)


def test_pairwise_grouping_counts_pairs_of_filings() -> None:
    # T1 = {a, b, c} split into P1 = {a, b} and P2 = {c, d, e}, which also holds T2 = {d, e}; T3 = P3 = {f}
    graded = _grouping([("T1", "P1"), ("T1", "P1"), ("T1", "P2"), ("T2", "P2"), ("T2", "P2"), ("T3", "P3")])
    result = metrics.grouping_accuracy(graded)
    # true pairs: ab ac bc + de = 4; predicted pairs: ab + cd ce de = 4; shared: ab, de = 2
    assert (result["true_pairs"], result["predicted_pairs"], result["shared_pairs"]) == (4, 4, 2)
    assert (result["pair_precision"], result["pair_recall"], result["pair_f1"]) == (0.5, 0.5, 0.5)
    assert (result["exact_cases"], result["exact_share"]) == (1, pytest.approx(1 / 3))
    assert (result["split_cases"], result["merged_cases"]) == (1, 1)
    assert (result["true_cases"], result["predicted_cases"], result["filings"]) == (3, 3, 6)


def test_majority_case_takes_the_case_holding_most_filings_and_breaks_ties_by_id() -> None:
    graded = _grouping([("T1", "P2"), ("T1", "P2"), ("T1", "P1"), ("T2", "P9"), ("T2", "P3")])
    forward = metrics.majority_case(graded, "true_case_id", "pred_case_id").sort("true_case_id")
    assert forward.select("true_case_id", "pred_case_id", "shared_filings", "case_filings").rows() == [
        ("T1", "P2", 2, 3),
        ("T2", "P3", 1, 2),  # a tie: the smaller id
    ]
    backward = metrics.majority_case(graded, "pred_case_id", "true_case_id").sort("pred_case_id")
    assert backward.select("pred_case_id", "true_case_id").rows() == [
        ("P1", "T1"),
        ("P2", "T1"),
        ("P3", "T2"),
        ("P9", "T2"),
    ]


def test_lifecycle_accuracy_with_a_confusion_table_and_stale_reported_apart() -> None:
    truth_cases = pl.DataFrame(
        {
            "case_id": ["T1", "T2", "T3", "T4", "T5"],
            "status": ["active", "active", "sold", "cancelled", "active"],
        }
    )
    case_map = pl.DataFrame(
        {"true_case_id": ["T1", "T2", "T3", "T4"], "pred_case_id": ["P1", "P2", "P3", "P4"]}
    )
    pred_cases = pl.DataFrame(
        {
            "case_id": ["P1", "P2", "P3", "P4"],
            "status": ["active", "stale", "sale_date_passed_unknown", "cancelled"],
        }
    )
    result = metrics.lifecycle_accuracy(truth_cases, case_map, pred_cases)
    assert (result["cases"], result["correct"], result["accuracy"]) == (5, 2, 0.4)
    assert (result["without_case"], result["stale_cases"]) == (1, 1)
    assert result["accuracy_excluding_stale"] == 0.5  # 2 right of the 4 not called stale (T5 has no case)
    assert result["stale_by_true_status"].rows() == [("active", 1)]
    confusion = result["confusion"]
    assert confusion.columns == [
        "true_status",
        "active",
        "cancelled",
        "sale_date_passed_unknown",
        "stale",
        metrics.NO_CASE,
        "total",
    ]
    assert confusion.rows() == [
        ("active", 1, 0, 0, 1, 1, 3),
        ("sold", 0, 0, 1, 0, 0, 1),
        ("cancelled", 0, 1, 0, 0, 0, 1),
    ]


def test_lis_pendens_classification_grades_lane_and_plaintiff_type_of_judicial_cases_only() -> None:
    truth_cases = pl.DataFrame(
        {
            "case_id": ["T1", "T2", "T3", "T4", "T5"],
            "state": ["FL", "FL", "FL", "FL", "CA"],
            "is_mortgage_foreclosure": [True, True, False, False, True],
            "plaintiff_type": ["lender", "lender", "hoa", "individual", "lender"],
        }
    )
    case_map = pl.DataFrame(
        {"true_case_id": ["T1", "T2", "T3", "T4", "T5"], "pred_case_id": ["P1", "P2", "P3", "P4", "P5"]}
    )
    leads = pl.DataFrame(
        {
            "case_id": ["P1", "P2", "P3", "P4", "P5"],
            "lane": ["mortgage", "non_mortgage", "non_mortgage", "mortgage", "non_mortgage"],
            "plaintiff_type": ["lender", "hoa", "hoa", "individual_other", "hoa"],
        }
    )
    result = metrics.lis_pendens_classification(truth_cases, case_map, leads, ["FL", "NY"])
    assert result["cases"] == 4  # the CA case is not judicial
    assert (result["lane_accuracy"], result["plaintiff_type_accuracy"]) == (0.5, 0.75)
    assert (result["non_mortgage_recall"], result["non_mortgage_precision"]) == (0.5, 0.5)
    assert result["lane_confusion"].rows() == [("mortgage", 1, 1, 2), ("non_mortgage", 1, 1, 2)]
    assert result["plaintiff_type_confusion"].rows() == [
        ("lender", 1, 1, 0, 2),
        ("hoa", 0, 1, 0, 1),
        ("individual_other", 0, 0, 1, 1),  # the generator's `individual` in the published vocabulary
    ]


# ------------------------------------------------------------------------------------------------ leads


def test_graded_leads_attach_the_majority_truth_case_or_nothing() -> None:
    leads = pl.DataFrame({"case_id": ["P1", "P2"], "tier": ["A", "B"]})
    lead_map = pl.DataFrame({"pred_case_id": ["P1"], "true_case_id": ["T1"]})
    truth = pl.DataFrame(
        {
            "case_id": ["T1"],
            "status": ["sold"],
            "auction_date": [D(2026, 1, 6)],
            "outcome": ["sold"],
            "market_value": [300_000],
            "payoff": [200_000],
            "loan_in_feed": [True],
        }
    )
    graded = metrics.graded_leads(leads, lead_map, truth)
    assert graded.select("case_id", "true_case_id", "true_outcome", "true_payoff").rows() == [
        ("P1", "T1", "sold", 200_000.0),
        ("P2", None, None, None),
    ]


def test_auction_date_error_in_days_recorded_and_estimated_apart() -> None:
    leads = pl.DataFrame(
        {
            "status": ["sale_scheduled", "postponed", "active", "active", "active", "sold"],
            "auction_date_source": ["recorded", "recorded", "estimated", "estimated", "estimated", None],
            "auction_date": [
                D(2026, 12, 1),
                D(2026, 12, 11),
                D(2027, 3, 1),
                D(2027, 3, 1),
                D(2027, 3, 1),
                None,
            ],
            "auction_date_low": [
                D(2026, 12, 1),
                D(2026, 12, 11),
                D(2027, 1, 1),
                D(2027, 2, 1),
                D(2027, 1, 1),
                None,
            ],
            "auction_date_high": [
                D(2026, 12, 1),
                D(2026, 12, 11),
                D(2027, 6, 1),
                D(2027, 3, 10),
                D(2027, 6, 1),
                None,
            ],
            "true_auction_date": [
                D(2026, 12, 1),
                D(2026, 12, 1),
                D(2027, 2, 9),
                D(2027, 4, 10),
                None,
                D(2026, 10, 6),
            ],
        }
    )
    result = metrics.auction_date_error(leads)
    rows = {r["auction_date_source"]: r for r in result["by_source"].to_dicts()}
    recorded, estimated = rows["recorded"], rows["estimated"]
    assert (recorded["leads"], recorded["with_true_date"]) == (2, 2)
    assert recorded["median_abs_error_days"] == 5.0  # errors 0 and +10 days
    assert (recorded["share_exact"], recorded["share_within_range"]) == (0.5, 0.5)
    assert (estimated["leads"], estimated["with_true_date"]) == (3, 2)
    # errors: 2027-03-01 - 2027-02-09 = +20 days (inside its range); - 2027-04-10 = -40 days (after its high)
    assert estimated["median_abs_error_days"] == 30.0
    assert estimated["median_error_days"] == -10.0
    assert (estimated["share_within_30_days"], estimated["share_within_range"]) == (0.5, 0.5)
    assert result["no_predicted_date"].rows() == [("sold", 1)]


def test_payoff_error_median_absolute_percent_and_share_inside_the_range() -> None:
    leads = pl.DataFrame(
        {
            "true_case_id": ["T1", "T2", "T3", "T4", "T5", None],
            "payoff_source": [
                "judgment",
                "amortized_loans",
                "amortized_loans",
                "amortized_loans",
                "unknown",
                "judgment",
            ],
            "estimated_payoff": [110_000.0, 95_000.0, 200_000.0, 50_000.0, None, 1.0],
            "payoff_low": [110_000.0, 90_000.0, 150_000.0, 40_000.0, None, 1.0],
            "payoff_high": [110_000.0, 120_000.0, 210_000.0, 60_000.0, None, 1.0],
            "true_payoff": [100_000.0, 100_000.0, 160_000.0, 0.0, 80_000.0, None],
            "true_loan_in_feed": [True, True, True, True, False, None],
        }
    )
    table = {r["payoff_source"]: r for r in metrics.payoff_error(leads)["by_source"].to_dicts()}
    assert list(table) == ["judgment", "amortized_loans", "unknown", "all"]
    assert table["judgment"]["median_abs_pct_error"] == pytest.approx(0.10)
    assert table["judgment"]["share_within_range"] == 0.0  # a point range that misses
    amortized = table["amortized_loans"]
    # graded: T2 (-5 %, inside) and T3 (+25 %, inside); T4's true payoff is 0 (no percent error)
    assert (amortized["leads"], amortized["graded"], amortized["true_payoff_zero"]) == (3, 2, 1)
    assert amortized["median_abs_pct_error"] == pytest.approx(0.15)
    assert amortized["median_pct_error"] == pytest.approx(0.10)
    assert (amortized["share_within_10pct"], amortized["share_within_range"]) == (0.5, 1.0)
    assert (table["unknown"]["graded"], table["unknown"]["true_loan_missing_from_feed"]) == (0, 1)
    assert (table["all"]["leads"], table["all"]["graded"]) == (
        5,
        3,
    )  # the lead without a truth case is left out
    assert table["all"]["median_abs_pct_error"] == pytest.approx(0.10)


def test_equity_band_strategy_and_leads_claiming_equity_on_underwater_houses() -> None:
    leads = pl.DataFrame(
        {
            # true value / payoff -> true equity: 40 % healthy, 20 % thin, -10 % negative, -25 % negative, 50 %
            "true_market_value": [100.0, 100.0, 100.0, 80.0, 100.0],
            "true_payoff": [60.0, 80.0, 110.0, 100.0, 50.0],
            "estimated_value": [100.0, 100.0, 120.0, 80.0, 100.0],
            "estimated_payoff": [60.0, 70.0, 110.0, None, 90.0],
            "equity_band": ["healthy", "healthy", "thin", "unknown", "thin"],
            "strategy": [
                "standard_purchase",
                "standard_purchase",
                "tight_subject_to",
                "unknown",
                "tight_subject_to",
            ],
        }
    )
    result = metrics.equity_accuracy(leads, healthy_min=0.25, thin_min=0.0)
    assert (result["leads"], result["band_unknown"]) == (5, 1)
    assert (result["band_accuracy"], result["band_accuracy_known"]) == (0.2, 0.25)
    assert (result["strategy_accuracy"], result["strategy_accuracy_known"]) == (0.2, 0.25)
    # true value + predicted payoff: 40 % ok, 30 % (healthy, true thin) wrong, -10 % ok, unknown, 10 % wrong
    assert result["band_accuracy_if_value_true"] == 0.4
    # predicted value + true payoff: 40 % ok, 20 % ok, 120 - 110 = 8 % thin (true negative) wrong, -25 % ok, 50 % ok
    assert result["band_accuracy_if_payoff_true"] == 0.8
    assert (result["truly_underwater"], result["claims_equity_but_underwater"]) == (2, 1)
    assert result["band_confusion"].rows() == [
        ("healthy", 1, 1, 0, 2),
        ("thin", 1, 0, 0, 1),
        ("negative", 0, 1, 1, 2),
    ]
    assert result["band_confusion"].columns == ["true_band", "healthy", "thin", "unknown", "total"]


def test_value_error_by_source() -> None:
    leads = pl.DataFrame(
        {
            "true_case_id": ["T1", "T2", "T3"],
            "value_source": ["avm", "avm", "unknown"],
            "estimated_value": [110.0, 90.0, None],
            "value_low": [100.0, 95.0, None],
            "value_high": [120.0, 99.0, None],
            "true_market_value": [100.0, 100.0, 100.0],
        }
    )
    table = {r["value_source"]: r for r in metrics.value_error(leads).to_dicts()}
    assert (table["avm"]["graded"], table["avm"]["median_abs_pct_error"]) == (2, pytest.approx(0.10))
    assert (table["avm"]["median_pct_error"], table["avm"]["share_within_range"]) == (pytest.approx(0.0), 0.5)
    assert (table["unknown"]["leads"], table["unknown"]["graded"]) == (1, 0)


def test_tier_calibration_counts_true_outcomes_per_tier_in_tier_order() -> None:
    leads = pl.DataFrame(
        {
            "tier": ["inactive", "A", "A", "A", "A", "C", "C"],
            "true_case_id": ["T1", "T2", "T3", "T4", "T5", "T6", None],
            "true_outcome": ["sold", "sold", "cancelled", "pending", "pending", "pending", None],
        }
    )
    table = metrics.tier_calibration(leads)
    assert table.select("tier", "leads", "with_truth", "sold", "cancelled", "pending").rows() == [
        ("A", 4, 4, 1, 1, 2),
        ("C", 2, 1, 0, 0, 1),
        ("inactive", 1, 1, 1, 0, 0),
    ]
    assert table.select("share_sold", "share_cancelled", "share_pending").row(0) == (0.25, 0.25, 0.5)
    assert table["share_pending"][1] == 1.0  # of the leads with a truth case


def test_confusion_orders_known_values_first_and_totals_each_row() -> None:
    frame = pl.DataFrame({"t": ["b", "a", "zz", "a"], "p": ["a", "a", "b", "zz"]})
    table = metrics.confusion(frame, "t", "p", ["a", "b"])
    assert table.columns == ["t", "a", "b", "zz", "total"]
    assert table.rows() == [("a", 1, 0, 1, 2), ("b", 1, 0, 0, 1), ("zz", 0, 1, 0, 1)]


# ---------------------------------------------------------------------------- the real pipeline, graded

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE = PROJECT / "data" / "sample"
AS_OF = D(2026, 11, 27)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The committed sample through the pipeline's steps, without Prefect, into a fresh data dir."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("evaluate") / "data",
        landing_dir=SAMPLE / "deliveries",
        environment="test",
        sources="",
    )
    # the sources the sample delivers (a county config without deliveries here would only be skipped)
    configs = [c for c in load_sources(settings.sources_dir) if (SAMPLE / "deliveries" / c.source).is_dir()]
    scoring = load_scoring(settings.config_dir / "scoring.yaml")
    run_id = "evaluate-test"
    with state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        pipeline.load_reference(con, settings)
        for config in configs:
            outcome = pipeline.run_source(con, config, settings, AS_OF, run_id, dt.datetime(2026, 11, 27, 6))
            assert outcome.status in ("ok", "no_new_files"), outcome.message
        case_tables.build_cases(con, settings, AS_OF)
        lead_tables.build_leads(con, settings, scoring, AS_OF, run_id)
    return settings


def test_the_committed_sample_grades_in_sane_ranges(sample_run: Settings) -> None:
    report = evaluate_run(SAMPLE / "truth", sample_run.data_dir, sample_run.config_dir)
    assert report["warnings"] == []
    assert report["leads"] == report["leads_with_truth_case"] > 100
    match = report["parcel_match"]
    assert match["precision"] >= 0.99
    assert match["recall"] >= 0.97
    assert (match["not_staged"], match["not_in_truth"]) == (0, 0)
    assert report["quarantined"]["found_in_quarantine"] == report["quarantined"]["truth_malformed"] > 0
    assert report["case_grouping"]["pair_f1"] >= 0.95
    assert report["case_grouping"]["exact_share"] >= 0.9
    assert report["lifecycle"]["accuracy"] >= 0.9
    assert report["lis_pendens"]["cases"] > 0 and report["lis_pendens"]["lane_accuracy"] >= 0.7
    recorded = (
        report["auction_date"]["by_source"]
        .filter(pl.col("auction_date_source") == "recorded")
        .row(0, named=True)
    )
    assert recorded["with_true_date"] > 0 and recorded["share_within_range"] >= 0.9
    payoff = report["payoff"]["by_source"].filter(pl.col("payoff_source") == "all").row(0, named=True)
    assert payoff["graded"] > 0 and payoff["median_abs_pct_error"] <= 0.15
    assert report["equity"]["band_accuracy"] >= 0.5
    assert report["equity"]["claims_equity_but_underwater"] <= report["equity"]["truly_underwater"]
    calibration = report["calibration"]
    assert calibration["leads"].sum() == report["leads"]
    inactive = calibration.filter(pl.col("tier") == "inactive").row(0, named=True)
    assert inactive["pending"] == 0  # sold / cancelled cases leave the actionable tiers


def test_leads_evaluate_prints_and_writes_the_figures(sample_run: Settings, tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    runner = CliRunner()
    args = ["evaluate", "--truth", str(SAMPLE), "--data-dir", str(sample_run.data_dir)]
    result = runner.invoke(app, [*args, "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed, written = json.loads(result.stdout), json.loads(out.read_text())
    assert printed == written
    assert written["as_of"] == written["truth_as_of"] == "2026-11-27"
    assert written["parcel_match"]["by_method"][0]["match_method"] == "parcel_id"
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "Parcel match" in table.stdout and "Calibration" in table.stdout


def test_leads_evaluate_refuses_missing_inputs_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    missing_truth = runner.invoke(app, ["evaluate", "--truth", str(tmp_path), "--data-dir", str(tmp_path)])
    assert missing_truth.exit_code == 2
    assert "no truth files" in missing_truth.stderr
    missing_state = runner.invoke(app, ["evaluate", "--truth", str(SAMPLE), "--data-dir", str(tmp_path)])
    assert missing_state.exit_code == 2
    assert "no pipeline state" in missing_state.stderr
    bad_format = runner.invoke(app, ["evaluate", "--truth", str(SAMPLE), "--format", "xml"])
    assert bad_format.exit_code == 2
