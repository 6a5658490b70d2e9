import datetime as dt

import polars as pl

from transforms.auction import auction_timeline, first_tuesday_on_or_after

AS_OF = dt.date(2026, 11, 27)
RULES = pl.DataFrame(
    {
        "state": ["TX", "CA", "FL"],
        "sale_calendar": ["first_tuesday", "any_weekday", "any_weekday"],
        "min_days_first_filing_to_sale": [21, 109, 40],
        "min_days_notice_of_sale_to_sale": [21, 20, 12],
        "days_judgment_to_sale_min": [None, None, 20],
        "days_judgment_to_sale_max": [None, None, 35],
        "typical_days_first_filing_to_sale": [246, 288, 486],
        "max_days_default_to_sale": [390, 480, 810],
    }
)


def _case(
    state: str, first: dt.date, judgment: dt.date | None = None, sale: dt.date | None = None
) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "case_id": "C1",
                "state": state,
                "status": "active",
                "first_filing_date": first,
                "judgment_date": judgment,
                "recorded_sale_date": sale,
            }
        ],
        schema_overrides={"judgment_date": pl.Date, "recorded_sale_date": pl.Date},
    )


def test_first_tuesday() -> None:
    dates = [dt.date(2026, 12, 1), dt.date(2026, 12, 2), dt.date(2027, 2, 1), dt.date(2026, 11, 28)]
    out = pl.DataFrame({"d": dates}).select(first_tuesday_on_or_after(pl.col("d"))).to_series().to_list()
    assert out == [dt.date(2026, 12, 1), dt.date(2027, 1, 5), dt.date(2027, 2, 2), dt.date(2026, 12, 1)]


def test_recorded_sale_date_wins() -> None:
    row = auction_timeline(_case("CA", dt.date(2026, 6, 1), sale=dt.date(2026, 12, 15)), RULES, AS_OF).row(
        0, named=True
    )
    assert row["auction_date"] == dt.date(2026, 12, 15)
    assert row["auction_date_source"] == "recorded"
    assert row["days_to_auction"] == 18


def test_estimate_never_before_the_statutory_floor() -> None:
    # a CA NOD filed 10 days ago: earliest legal sale is NOD + 109 days
    first = dt.date(2026, 11, 17)
    row = auction_timeline(_case("CA", first), RULES, AS_OF).row(0, named=True)
    assert row["auction_date_source"] == "estimated"
    assert row["auction_date_low"] >= first + dt.timedelta(days=109)
    assert row["auction_date_low"] <= row["auction_date"] <= row["auction_date_high"]


def test_old_filing_estimate_is_not_in_the_past() -> None:
    # a filing older than the typical duration: a sale still needs its notice period from today
    row = auction_timeline(_case("CA", dt.date(2025, 1, 2)), RULES, AS_OF).row(0, named=True)
    assert row["auction_date_low"] >= AS_OF + dt.timedelta(days=20)


def test_florida_judgment_sets_a_20_to_35_day_window() -> None:
    judgment = dt.date(2026, 11, 20)
    row = auction_timeline(_case("FL", dt.date(2025, 3, 1), judgment=judgment), RULES, AS_OF).row(
        0, named=True
    )
    assert row["auction_date_low"] == judgment + dt.timedelta(days=20)
    assert row["auction_date_high"] == judgment + dt.timedelta(days=35)


def test_first_tuesday_states_never_estimate_another_weekday() -> None:
    row = auction_timeline(_case("TX", dt.date(2026, 11, 2)), RULES, AS_OF).row(0, named=True)
    for key in ("auction_date", "auction_date_low", "auction_date_high"):
        assert row[key].weekday() == 1 and row[key].day <= 7
