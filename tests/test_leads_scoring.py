import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from leads.scoring import load_scoring
from transforms.leads import scored_leads, with_plaintiff_type

AS_OF = dt.date(2026, 11, 27)
CFG = load_scoring(Path(__file__).resolve().parents[1] / "config" / "scoring.yaml")


def _inputs(**overrides: object) -> pl.DataFrame:
    row = {
        "case_id": "C1",
        "case_key": "fl|cn|1",
        "source": "fl",
        "county_fips": "12057",
        "state": "FL",
        "first_event": "LIS_PENDENS",
        "process": "judicial",
        "stage": "NOTICE_OF_SALE",
        "status": "sale_scheduled",
        "parcel_apn": "P1",
        "match_method": "parcel_id",
        "match_confidence": 0.99,
        "plaintiff": "WELLS FARGO BANK NA",
        "situs_address": "100 OAK ST",
        "situs_city": "TAMPA",
        "situs_state": "FL",
        "situs_zip": "33602",
        "mailing_address": "100 Oak Street",
        "mailing_city": "TAMPA",
        "mailing_state": "FL",
        "mailing_zip": "33602",
        "owner_name": "DOE, JANE",
        "homestead": True,
        "vacant": False,
        "avm_value": 300_000.0,
        "avm_low": 270_000.0,
        "avm_high": 330_000.0,
        "avm_confidence": 80.0,
        "assessed_value": 200_000.0,
        "assessment_ratio": 0.85,
        "last_sale_price": 150_000.0,
        "price_index_factor": 1.5,
        "tax_liens": 1,
        "hoa_liens": 0,
        "code_liens": 0,
        "other_cases_on_parcel": 0,
    }
    row.update(overrides)
    loans = pl.DataFrame({"case_id": ["C1"], "lender": [row.pop("loan_lender", "WELLS FARGO BANK, N.A.")]})
    return with_plaintiff_type(pl.DataFrame([row]), loans)


def _payoffs(payoff: float | None, source: str = "amortized_loans") -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "case_id": "C1",
                "payoff_source": source,
                "estimated_payoff": payoff,
                "payoff_low": payoff,
                "payoff_high": payoff,
            }
        ],
        schema_overrides={
            "estimated_payoff": pl.Float64,
            "payoff_low": pl.Float64,
            "payoff_high": pl.Float64,
        },
    )


def _timeline(days: int | None = 20, source: str = "recorded") -> pl.DataFrame:
    date = AS_OF + dt.timedelta(days=days) if days is not None else None
    return pl.DataFrame(
        [
            {
                "case_id": "C1",
                "auction_date": date,
                "auction_date_low": date,
                "auction_date_high": date,
                "auction_date_source": source,
                "days_to_auction": days,
            }
        ],
        schema_overrides={
            "auction_date": pl.Date,
            "auction_date_low": pl.Date,
            "auction_date_high": pl.Date,
            "days_to_auction": pl.Int32,
        },
    )


def _score(inputs: pl.DataFrame, payoffs: pl.DataFrame, timeline: pl.DataFrame | None = None) -> dict:
    return scored_leads(inputs, payoffs, timeline if timeline is not None else _timeline(), CFG, AS_OF).row(
        0, named=True
    )


def test_score_is_the_sum_of_its_reasons() -> None:
    lead = _score(_inputs(), _payoffs(150_000.0))
    points = [int(p) for p in re.findall(r"([+-]\d+)", lead["reasons"])]
    assert lead["score"] == sum(points)
    assert "equity_healthy +30" in lead["reasons"] and "sale_in_30_days +25" in lead["reasons"]
    assert "tax_lien +6" in lead["reasons"]
    assert (lead["equity_amount"], lead["equity_pct"], lead["strategy"]) == (
        150_000.0,
        0.5,
        "standard_purchase",
    )
    assert lead["tier"] == "A"
    assert lead["lead_id"].startswith("L") and len(lead["lead_id"]) == 17


@pytest.mark.parametrize(
    ("payoff", "band", "strategy"),
    [(270_000.0, "thin", "tight_subject_to"), (330_000.0, "negative", "short_sale_creative")],
)
def test_equity_bands_route_strategy(payoff: float, band: str, strategy: str) -> None:
    lead = _score(_inputs(), _payoffs(payoff))
    assert (lead["equity_band"], lead["strategy"]) == (band, strategy)


def test_unknown_payoff_never_claims_equity() -> None:
    lead = _score(_inputs(), _payoffs(None, "unknown"))
    assert lead["equity_amount"] is None and lead["equity_pct"] is None
    assert (lead["equity_band"], lead["strategy"]) == ("unknown", "unknown")
    assert "payoff_unknown -8" in lead["reasons"]


def test_inactive_cases_score_zero_and_leave_the_tiers() -> None:
    lead = _score(_inputs(status="cancelled"), _payoffs(150_000.0))
    assert (lead["actionable"], lead["score"], lead["tier"]) == (False, 0, "inactive")
    assert lead["reasons"] == "not_actionable: cancelled"


def test_occupancy_from_mailing_homestead_and_vacancy() -> None:
    absentee = _score(
        _inputs(mailing_address="9 Elsewhere Rd", mailing_zip="10001", homestead=False), _payoffs(1.0)
    )
    assert (absentee["occupancy"], absentee["owner_occupied"]) == ("absentee", False)
    assert absentee["occupancy_confidence"] == 0.9  # both signals agree
    vacant = _score(_inputs(vacant=True), _payoffs(1.0))
    assert vacant["occupancy"] == "vacant" and "vacant +8" in vacant["reasons"]


def test_value_falls_back_from_avm_to_assessed_to_indexed_sale() -> None:
    assessed = _score(_inputs(avm_value=None, avm_low=None, avm_high=None), _payoffs(1.0))
    assert assessed["value_source"] == "assessed"
    assert assessed["estimated_value"] == pytest.approx(200_000 / 0.85)
    indexed = _score(
        _inputs(avm_value=None, avm_low=None, avm_high=None, assessment_ratio=None), _payoffs(1.0)
    )
    assert (indexed["value_source"], indexed["estimated_value"]) == ("last_sale_indexed", 225_000.0)
    assert "value_low_confidence -10" in indexed["reasons"]


def test_hoa_lis_pendens_goes_to_the_non_mortgage_lane() -> None:
    lead = _score(_inputs(plaintiff="SUNSET PARK HOMEOWNERS ASSOCIATION INC"), _payoffs(1.0))
    assert (lead["plaintiff_type"], lead["lane"]) == ("hoa", "non_mortgage")


@pytest.mark.parametrize(
    ("plaintiff", "loan_lender", "kind", "lane"),
    [
        ("U.S. BANK NATIONAL ASSOCIATION, AS TRUSTEE", "X", "lender", "mortgage"),  # not an HOA
        ("NEWREZ LLC", "NewRez LLC", "lender", "mortgage"),  # holds the recorded loan
        ("NEWREZ LLC", "OTHER BANK", "individual_other", "non_mortgage"),
        ("COUNTY OF HILLSBOROUGH", "X", "government", "non_mortgage"),
    ],
)
def test_plaintiff_type_and_lane(plaintiff: str, loan_lender: str, kind: str, lane: str) -> None:
    lead = _score(_inputs(plaintiff=plaintiff, loan_lender=loan_lender), _payoffs(1.0))
    assert (lead["plaintiff_type"], lead["lane"]) == (kind, lane)


def test_trustee_sales_are_always_the_mortgage_lane() -> None:
    lead = _score(_inputs(plaintiff="JOHN SMITH", process="non_judicial"), _payoffs(1.0))
    assert (lead["lane"], lead["lane_confidence"]) == ("mortgage", 0.99)


def test_equity_not_cleared_by_the_ranges_is_flagged_unverified() -> None:
    clear = _score(_inputs(), _payoffs(150_000.0))
    assert clear["equity_confidence"] >= 0.8 and "equity_unverified" not in clear["reasons"]
    overlap = _score(_inputs(), _payoffs(280_000.0))  # thin equity, but value_low 270k < payoff 280k
    assert overlap["equity_band"] == "thin"
    assert overlap["equity_confidence"] < clear["equity_confidence"]
    assert "equity_unverified -6" in overlap["reasons"]
