import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.payoff import FORECLOSURE_COSTS, amortized_balance, case_payoffs, loan_balances


def _balance(principal: float, rate: float, term: int, paid: int) -> float:
    frame = pl.DataFrame({"p": [principal], "r": [rate], "n": [term], "k": [paid]})
    return frame.select(amortized_balance(pl.col("p"), pl.col("r"), pl.col("n"), pl.col("k"))).item()


def test_amortization_matches_a_hand_computed_schedule() -> None:
    # $200,000 at 6 % for 30 years: payment $1,199.10; balance after year 1 $197,543.98, after year 5 $186,108.71
    assert _balance(200_000, 6.0, 360, 0) == pytest.approx(200_000)
    assert _balance(200_000, 6.0, 360, 12) == pytest.approx(197_543.98, abs=0.01)
    assert _balance(200_000, 6.0, 360, 60) == pytest.approx(186_108.71, abs=0.01)
    assert _balance(200_000, 6.0, 360, 360) == pytest.approx(0, abs=0.01)
    assert _balance(200_000, 6.0, 360, 500) == pytest.approx(0, abs=0.01)  # past the term: paid off


def test_zero_rate_is_straight_line() -> None:
    assert _balance(120_000, 0.0, 120, 60) == pytest.approx(60_000)


@settings(max_examples=200, deadline=None)
@given(
    principal=st.floats(1_000, 5_000_000),
    rate=st.floats(0, 20),
    term=st.sampled_from([120, 180, 240, 360, 480]),
    paid=st.integers(0, 600),
)
def test_balance_is_never_negative_nor_above_the_original_and_falls_over_time(
    principal: float, rate: float, term: int, paid: int
) -> None:
    now = _balance(principal, rate, term, paid)
    later = _balance(principal, rate, term, paid + 1)
    assert 0 <= now <= principal * (1 + 1e-9)
    assert later <= now + 1e-6


AS_OF = dt.date(2026, 11, 27)


def _loans(**overrides: object) -> pl.DataFrame:
    row = {
        "case_id": "C1",
        "loan_id": "L1",
        "position": 1,
        "loan_type": "FIRST",
        "original_amount": 200_000.0,
        "interest_rate": 6.0,
        "market_rate_pct": 3.0,
        "term_months": 360,
        "origination_date": dt.date(2020, 1, 15),
        "heloc_limit": None,
    }
    row.update(overrides)
    return pl.DataFrame([row])


def _case(first_filing: dt.date = dt.date(2026, 6, 1), **overrides: object) -> pl.DataFrame:
    row = {
        "case_id": "C1",
        "first_filing_date": first_filing,
        "judgment_amount": None,
        "judgment_date": None,
        "notice_amount_due": None,
        "lien_amount": 0.0,
        "plaintiff_type": "lender",
    }
    row.update(overrides)
    return pl.DataFrame(
        [row],
        schema_overrides={
            "judgment_amount": pl.Float64,
            "notice_amount_due": pl.Float64,
            "judgment_date": pl.Date,
        },
    )


def test_loan_balance_uses_market_rate_when_the_loan_has_none() -> None:
    out = loan_balances(_loans(interest_rate=None), _case(), AS_OF)
    assert out["rate_source"].item() == "pmms_at_origination"
    assert out["rate_pct"].item() == 3.0


def test_payoff_range_brackets_the_estimate_and_arrears_raise_it() -> None:
    balances = loan_balances(_loans(), _case(), AS_OF)
    row = balances.row(0, named=True)
    assert row["balance_low"] < row["balance"] < row["balance_high"]
    payoff = case_payoffs(_case(), balances, AS_OF).row(0, named=True)
    assert payoff["payoff_source"] == "amortized_loans"
    assert payoff["payoff_low"] <= payoff["estimated_payoff"] <= payoff["payoff_high"]
    assert payoff["estimated_payoff"] == pytest.approx(row["balance"] + FORECLOSURE_COSTS)


def test_heloc_is_a_range_up_to_the_line() -> None:
    balances = loan_balances(
        _loans(loan_type="HELOC", original_amount=20_000.0, heloc_limit=50_000.0), _case(), AS_OF
    )
    row = balances.row(0, named=True)
    assert (row["balance_low"], row["balance"], row["balance_high"]) == (20_000.0, 20_000.0, 50_000.0)


def test_judgment_amount_is_preferred_and_accrues_per_diem() -> None:
    case = _case(judgment_amount=210_000.0, judgment_date=dt.date(2026, 11, 17))
    payoff = case_payoffs(case, loan_balances(_loans(), case, AS_OF), AS_OF).row(0, named=True)
    assert payoff["payoff_source"] == "judgment"
    # 10 days of 6 % simple interest on the judgment
    assert payoff["estimated_payoff"] == pytest.approx(210_000 * (1 + 0.06 * 10 / 365))


def test_no_loan_and_no_stated_debt_is_unknown_never_zero() -> None:
    empty = loan_balances(_loans().clear(), _case(), AS_OF)
    payoff = case_payoffs(_case(lien_amount=5_000.0), empty, AS_OF).row(0, named=True)
    assert payoff["payoff_source"] == "unknown"
    assert payoff["estimated_payoff"] is None


def test_a_non_lender_judgment_adds_to_the_loans_instead_of_replacing_them() -> None:
    # an HOA's judgment does not pay off the mortgage: both are owed
    case = _case(judgment_amount=12_000.0, judgment_date=dt.date(2026, 11, 27), plaintiff_type="hoa")
    balances = loan_balances(_loans(), case, AS_OF)
    payoff = case_payoffs(case, balances, AS_OF).row(0, named=True)
    assert payoff["estimated_payoff"] == pytest.approx(balances["balance"].item() + 12_000.0)
    assert payoff["payoff_low"] < payoff["estimated_payoff"] < payoff["payoff_high"]
