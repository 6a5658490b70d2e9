"""When will the auction be? The recorded sale date when a notice gives one, else a range from state rules.

Estimates never fall before the statutory floor (first filing + the state's minimum days; a sale not yet
noticed needs at least the notice period from today), and in first-Tuesday states (TX, GA) every estimated
date is moved to the first Tuesday of its month or the next one.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

DELINQUENT_DAYS_BEFORE_FILING = 120  # 12 CFR 1024.41(f): no first filing before 120 days of delinquency


def first_tuesday_on_or_after(date: pl.Expr) -> pl.Expr:
    """The first Tuesday of the date's month if it has not passed, else the next month's first Tuesday."""

    def first_tuesday(month_start: pl.Expr) -> pl.Expr:
        # weekday(): Monday=1 ... Sunday=7; Tuesday=2
        return month_start + pl.duration(days=(9 - month_start.dt.weekday()) % 7)

    this_month = first_tuesday(date.dt.month_start())
    next_month = first_tuesday(date.dt.month_start().dt.offset_by("1mo"))
    return pl.when(this_month >= date).then(this_month).otherwise(next_month)


def _days(column: str, default: int) -> pl.Expr:
    return pl.duration(days=pl.col(column).fill_null(default))


def _days_after_filing(column: str, default: int) -> pl.Expr:
    return pl.duration(
        days=(pl.col(column).fill_null(default) - DELINQUENT_DAYS_BEFORE_FILING).clip(lower_bound=0)
    )


def auction_timeline(cases: pl.DataFrame, rules: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Per case: auction_date, auction_date_low/high, auction_date_source (recorded|estimated), days_to_auction.

    cases: case_id, state, status, first_filing_date, judgment_date, recorded_sale_date.
    rules: state rules (data/reference/state_rules.csv).
    """
    today = pl.lit(as_of)
    first = pl.col("first_filing_date")
    judgment = pl.col("judgment_date")
    # a sale that has not been noticed yet cannot happen sooner than the notice period from today
    notice_floor = today + _days("min_days_notice_of_sale_to_sale", 0)
    low = pl.when(judgment.is_not_null()).then(judgment + _days("days_judgment_to_sale_min", 20))
    low = low.otherwise(first + _days("min_days_first_filing_to_sale", 0))
    low = pl.max_horizontal(low, notice_floor)
    likely = pl.when(judgment.is_not_null()).then(
        judgment
        + pl.duration(
            days=(
                pl.col("days_judgment_to_sale_min").fill_null(20)
                + pl.col("days_judgment_to_sale_max").fill_null(90)
            )
            // 2
        )
    )
    # the state's typical and maximum durations run from default, which precedes the first filing by at
    # least the 120-day federal floor (12 CFR 1024.41): count from the filing without those days twice
    likely = likely.otherwise(first + _days_after_filing("typical_days_first_filing_to_sale", 365))
    likely = pl.max_horizontal(likely, low)
    high = pl.when(judgment.is_not_null()).then(judgment + _days("days_judgment_to_sale_max", 180))
    high = high.otherwise(first + _days_after_filing("max_days_default_to_sale", 900))
    high = pl.max_horizontal(high, likely)
    tuesday = pl.col("sale_calendar") == "first_tuesday"

    def on_calendar(expr: pl.Expr) -> pl.Expr:
        return pl.when(tuesday).then(first_tuesday_on_or_after(expr)).otherwise(expr)

    recorded = pl.col("recorded_sale_date").is_not_null()
    no_auction = pl.col("status").is_in(["cancelled"]) | (pl.col("status") == "sold") & ~recorded
    estimated = ~recorded & ~pl.col("status").is_in(["cancelled", "sold", "stale"])
    return (
        cases.select("case_id", "state", "status", "first_filing_date", "judgment_date", "recorded_sale_date")
        .join(rules, on="state", how="left", maintain_order="left")
        .with_columns(
            pl.when(recorded)
            .then(pl.col("recorded_sale_date"))
            .when(estimated)
            .then(on_calendar(likely))
            .alias("auction_date"),
            pl.when(recorded)
            .then(pl.col("recorded_sale_date"))
            .when(estimated)
            .then(on_calendar(low))
            .alias("auction_date_low"),
            pl.when(recorded)
            .then(pl.col("recorded_sale_date"))
            .when(estimated)
            .then(on_calendar(high))
            .alias("auction_date_high"),
            pl.when(recorded)
            .then(pl.lit("recorded"))
            .when(estimated)
            .then(pl.lit("estimated"))
            .alias("auction_date_source"),
        )
        .with_columns(
            pl.when(~no_auction)
            .then((pl.col("auction_date") - today).dt.total_days())
            .cast(pl.Int32)
            .alias("days_to_auction")
        )
        .select(
            "case_id",
            "auction_date",
            "auction_date_low",
            "auction_date_high",
            "auction_date_source",
            "days_to_auction",
        )
    )
