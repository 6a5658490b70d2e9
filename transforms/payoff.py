"""Estimated payoff of a case with its provenance and a range (US dollars).

Preference order: the debt stated in documents (a final judgment, a notice of sale's amount due) over
amortizing the recorded loans. Amortization assumes payments stopped at the estimated default date: federal
rules forbid a first filing before 120 days of delinquency (12 CFR 1024.41), so default ~= first filing - 120
days; unpaid interest accrues from then. When neither a document nor an open loan is known the payoff is
`unknown` (null) - never zero, which would fake 100 % equity.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

DELINQUENT_DAYS_BEFORE_FILING = 120  # 12 CFR 1024.41(f): earliest first notice or filing
# Range: the low end is the vendors' figure (scheduled amortization to the as-of date, as if every payment had
# been made); the high end assumes a year more of arrears before the filing than the likely case.
HIGH_DELINQUENT_DAYS = 365
FORECLOSURE_COSTS = 3_500.0  # dollars: trustee / attorney fees, title, publication (typical order)
DEFAULT_RATE_PCT = 6.5  # when neither the loan nor the market series gives a rate
STATED_LOW = 0.95  # low end of a stated debt's range, as a share of the stated figure


def _months_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Whole monthly payments made between two dates (>= 0)."""
    months = (end.dt.year() - start.dt.year()) * 12 + (end.dt.month() - start.dt.month())
    return pl.max_horizontal(months, pl.lit(0))


def amortized_balance(
    principal: pl.Expr, annual_rate_pct: pl.Expr, term_months: pl.Expr, paid: pl.Expr
) -> pl.Expr:
    """Remaining principal of a fixed-rate, fully amortizing loan after `paid` monthly payments.

    balance_k = P(1+r)^k - pmt((1+r)^k - 1)/r with r the monthly rate and pmt = P r / (1 - (1+r)^-n).
    """
    r = annual_rate_pct / 1200.0
    k = pl.min_horizontal(paid, term_months).cast(pl.Float64)
    n = term_months.cast(pl.Float64)
    growth = (1.0 + r).pow(k)
    payment = principal * r / (1.0 - (1.0 + r).pow(-n))
    with_interest = principal * growth - payment * (growth - 1.0) / r
    straight_line = principal * (1.0 - k / n)
    balance = pl.when(r > 0).then(with_interest).otherwise(straight_line)
    return pl.max_horizontal(balance, pl.lit(0.0))


def _debt_at(delinquent_days: int, as_of: dt.date) -> pl.Expr:
    """Principal at default plus simple unpaid interest from default to the as-of date."""
    default_date = pl.col("first_filing_date") - pl.duration(
        days=DELINQUENT_DAYS_BEFORE_FILING + delinquent_days
    )
    default_date = pl.min_horizontal(default_date, pl.lit(as_of))
    principal = amortized_balance(
        pl.col("original_amount"),
        pl.col("rate_pct"),
        pl.col("term_months").fill_null(360),
        _months_between(pl.col("origination_date"), default_date),
    )
    days_unpaid = (pl.lit(as_of) - default_date).dt.total_days().clip(lower_bound=0)
    return principal * (1.0 + pl.col("rate_pct") / 100.0 * days_unpaid / 365.0)


def loan_balances(loans: pl.DataFrame, cases: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Per open loan: estimated balance low/likely/high on the as-of date and where its rate came from.

    loans: case_id, loan_id, loan_type, original_amount, interest_rate, market_rate_pct, term_months,
    origination_date, heloc_limit. cases: case_id, first_filing_date.
    HELOCs are interest-only draws: likely = the recorded draw, high = the full line.
    """
    rate = pl.coalesce("interest_rate", "market_rate_pct", pl.lit(DEFAULT_RATE_PCT))
    rate_source = (
        pl.when(pl.col("interest_rate").is_not_null())
        .then(pl.lit("recorded"))
        .when(pl.col("market_rate_pct").is_not_null())
        .then(pl.lit("pmms_at_origination"))
        .otherwise(pl.lit("default"))
    )
    heloc = pl.col("loan_type") == "HELOC"
    with_rate = loans.join(
        cases.select("case_id", "first_filing_date"), on="case_id", how="left"
    ).with_columns(rate.alias("rate_pct"), rate_source.alias("rate_source"))
    return with_rate.with_columns(
        pl.when(heloc)
        .then(pl.col("original_amount"))
        .otherwise(
            amortized_balance(
                pl.col("original_amount"),
                pl.col("rate_pct"),
                pl.col("term_months").fill_null(360),
                _months_between(pl.col("origination_date"), pl.lit(as_of)),
            )
        )
        .alias("balance_low"),
        pl.when(heloc).then(pl.col("original_amount")).otherwise(_debt_at(0, as_of)).alias("balance"),
        pl.when(heloc)
        .then(pl.max_horizontal(pl.col("heloc_limit"), pl.col("original_amount")))
        .otherwise(_debt_at(HIGH_DELINQUENT_DAYS, as_of))
        .alias("balance_high"),
    ).select(
        "case_id",
        "loan_id",
        "loan_type",
        "position",
        "rate_pct",
        "rate_source",
        "balance_low",
        "balance",
        "balance_high",
    )


def case_payoffs(cases: pl.DataFrame, balances: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Per case: estimated_payoff, payoff_low, payoff_high, payoff_source.

    cases: case_id, judgment_amount, judgment_date, notice_amount_due, lien_amount, plaintiff_type.
    A debt stated by the foreclosing lender replaces the first-position loan's estimate; a debt stated by
    anyone else (an HOA's judgment) is added to the loans. Junior loans and open liens are added.
    A stated debt's range: 5 % below (fees and costs in a judgment are often negotiated down) to the
    accrued figure plus two rounds of costs.
    """
    first = (
        balances.sort("position", "loan_id")
        .group_by("case_id", maintain_order=True)
        .agg(
            pl.col("rate_pct").first().alias("first_rate_pct"),
            pl.col("balance_low").first().alias("first_low"),
            pl.col("balance").first().alias("first_mid"),
            pl.col("balance_high").first().alias("first_high"),
            pl.col("balance_low").slice(1).sum().alias("junior_low"),
            pl.col("balance").slice(1).sum().alias("junior_mid"),
            pl.col("balance_high").slice(1).sum().alias("junior_high"),
            pl.col("rate_source").first().alias("first_rate_source"),
        )
    )
    joined = cases.select(
        "case_id", "judgment_amount", "judgment_date", "notice_amount_due", "lien_amount", "plaintiff_type"
    ).join(first, on="case_id", how="left", maintain_order="left")
    rate = pl.coalesce("first_rate_pct", pl.lit(DEFAULT_RATE_PCT))
    # per-diem interest on a judgment from its date to the as-of date (simple interest at the note rate)
    judgment_now = pl.col("judgment_amount") * (
        1.0
        + rate / 100.0 * (pl.lit(as_of) - pl.col("judgment_date")).dt.total_days().clip(lower_bound=0) / 365.0
    )
    stated = pl.coalesce(judgment_now, pl.col("notice_amount_due"))
    source = (
        pl.when(pl.col("judgment_amount").is_not_null())
        .then(pl.lit("judgment"))
        .when(pl.col("notice_amount_due").is_not_null())
        .then(pl.lit("notice_amount_due"))
        .when(pl.col("first_mid").is_not_null())
        .then(pl.lit("amortized_loans"))
        .otherwise(pl.lit("unknown"))
    )
    liens = pl.col("lien_amount").fill_null(0.0)
    juniors = [pl.col(c).fill_null(0.0) for c in ("junior_low", "junior_mid", "junior_high")]
    known = source != "unknown"
    costs = pl.when(pl.col("judgment_amount").is_null()).then(FORECLOSURE_COSTS).otherwise(0.0)
    lender_stated = stated.is_not_null() & pl.col("plaintiff_type").eq_missing("lender")
    other_stated = stated.is_not_null() & ~pl.col("plaintiff_type").eq_missing("lender")
    # the first lien: the lender's stated debt, else the amortized first loan
    first_lien = [
        pl.when(lender_stated).then(stated * STATED_LOW).otherwise(pl.col("first_low")),
        pl.when(lender_stated).then(stated).otherwise(pl.col("first_mid")),
        pl.when(lender_stated).then(stated).otherwise(pl.col("first_high")),
    ]
    # a debt stated by anyone else (an HOA's judgment) comes on top of the loans
    extra = [
        pl.when(other_stated).then(stated * STATED_LOW).otherwise(0.0),
        pl.when(other_stated).then(stated).otherwise(0.0),
        pl.when(other_stated).then(stated).otherwise(0.0),
    ]
    total = [f.fill_null(0.0) + e + j + liens for f, e, j in zip(first_lien, extra, juniors, strict=True)]
    return joined.with_columns(source.alias("payoff_source")).select(
        "case_id",
        "payoff_source",
        pl.when(known).then(total[1] + costs).alias("estimated_payoff"),
        pl.when(known).then(total[0]).alias("payoff_low"),
        pl.when(known).then(total[2] + 2 * FORECLOSURE_COSTS).alias("payoff_high"),
    )
