import datetime as dt
import random

import polars as pl
from polars.testing import assert_frame_equal

from transforms.cases import advanced_statuses, case_filings, case_lifecycles, stable_id

AS_OF = dt.date(2026, 11, 27)
STALE = pl.DataFrame({"state": ["FL", "TX"], "stale_after_days": [540, 120]})
COLUMNS = {
    "source": pl.String,
    "county_fips": pl.String,
    "state": pl.String,
    "record_id": pl.String,
    "event": pl.String,
    "recorded_date": pl.Date,
    "case_number": pl.String,
    "ref_record_id": pl.String,
    "plaintiff": pl.String,
    "defendant": pl.String,
    "parcel_apn": pl.String,
    "street_key": pl.String,
    "amount_due": pl.Float64,
    "sale_date": pl.Date,
    "original_loan_amount": pl.Float64,
    "match_method": pl.String,
    "match_confidence": pl.Float64,
    "situs_address": pl.String,
}
MOVABLE = ["case_id", "state", "status", "recorded_sale_date", "latest_filing_date"]


def _filing(record_id: str, event: str, recorded: str, **kw: object) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(
        source="fl",
        county_fips="12057",
        state="FL",
        record_id=record_id,
        event=event,
        recorded_date=dt.date.fromisoformat(recorded),
        plaintiff="BANK A",
        parcel_apn="P1",
        match_method="parcel_id",
        match_confidence=0.99,
    )
    row.update(kw)
    return row


def _lifecycle(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=COLUMNS)
    return case_lifecycles(case_filings(frame), AS_OF, STALE)


def test_release_joins_the_case_of_the_filing_it_references_and_cancels_it() -> None:
    out = _lifecycle(
        [
            _filing("100", "LIS_PENDENS", "2026-01-05", case_number="26-CA-1"),
            _filing("200", "RELEASE", "2026-05-01", ref_record_id="100"),
        ]
    )
    assert out.height == 1
    assert out["status"].item() == "cancelled"
    assert out["latest_filing_date"].item() == dt.date(2026, 5, 1)


def test_judicial_lifecycle_steps() -> None:
    base = [_filing("1", "LIS_PENDENS", "2025-10-01", case_number="25-CA-9")]
    judgment = [
        *base,
        _filing("2", "FINAL_JUDGMENT", "2026-10-20", case_number="25-CA-9", amount_due=150000.0),
    ]
    sale = [
        *judgment,
        _filing("3", "NOTICE_OF_SALE", "2026-10-22", case_number="25-CA-9", sale_date=dt.date(2026, 12, 1)),
    ]
    moved = [
        *sale,
        _filing("4", "NOTICE_OF_SALE", "2026-11-20", case_number="25-CA-9", sale_date=dt.date(2026, 12, 20)),
    ]
    passed = [
        *judgment,
        _filing("3", "NOTICE_OF_SALE", "2026-10-22", case_number="25-CA-9", sale_date=dt.date(2026, 11, 10)),
    ]
    sold = [*sale, _filing("5", "SALE_RESULT", "2026-11-25", case_number="25-CA-9")]
    assert _lifecycle(base)["status"].item() == "active"
    assert _lifecycle(judgment)["status"].item() == "judgment"
    assert _lifecycle(judgment)["judgment_amount"].item() == 150000.0
    assert _lifecycle(sale)["status"].item() == "sale_scheduled"
    moved_case = _lifecycle(moved)
    assert moved_case["status"].item() == "postponed"
    assert moved_case["recorded_sale_date"].item() == dt.date(2026, 12, 20)
    assert _lifecycle(passed)["status"].item() == "sale_date_passed_unknown"
    assert _lifecycle(sold)["status"].item() == "sold"


def test_stale_when_no_follow_on_document_within_the_state_window() -> None:
    out = _lifecycle([_filing("1", "LIS_PENDENS", "2024-01-02", case_number="24-CA-1")])
    assert out["status"].item() == "stale"


def test_out_of_order_input_gives_the_same_cases() -> None:
    rows = [
        _filing("1", "LIS_PENDENS", "2026-01-05", case_number="26-CA-1"),
        _filing("2", "FINAL_JUDGMENT", "2026-10-01", case_number="26-CA-1"),
        _filing("3", "LIS_PENDENS", "2026-03-05", case_number="26-CA-2", parcel_apn="P2"),
        _filing("4", "RELEASE", "2026-04-01", ref_record_id="3"),
    ]
    forward = _lifecycle(rows).sort("case_id")
    backward = _lifecycle(list(reversed(rows))).sort("case_id")
    assert forward.equals(backward)
    assert forward["case_id"].to_list() == sorted(
        [stable_id("C", "fl|cn|26-CA-1"), stable_id("C", "fl|cn|26-CA-2")]
    )


def test_notices_without_case_numbers_group_by_parcel_and_lender_within_the_window() -> None:
    tx = {"source": "tx", "state": "TX", "county_fips": "48201"}
    rows = [
        _filing("a", "NOTICE_OF_SALE", "2026-01-05", sale_date=dt.date(2026, 2, 3), **tx),
        _filing("b", "NOTICE_OF_SALE", "2026-02-10", sale_date=dt.date(2026, 3, 3), **tx),  # re-posted
        _filing("c", "NOTICE_OF_SALE", "2026-02-10", sale_date=dt.date(2026, 3, 3), plaintiff="BANK B", **tx),
        _filing(
            "d", "NOTICE_OF_SALE", "2026-10-05", sale_date=dt.date(2026, 12, 1), **tx
        ),  # a new case later
    ]
    keyed = case_filings(pl.DataFrame(rows, schema=COLUMNS))
    ids = dict(zip(keyed["record_id"], keyed["case_id"], strict=True))
    assert ids["a"] == ids["b"]
    assert len({ids["a"], ids["c"], ids["d"]}) == 3


def test_a_reference_wins_over_the_releases_own_case_number_and_the_merge_is_logged() -> None:
    rows = [
        _filing("100", "LIS_PENDENS", "2026-01-05", case_number="CACE-26-1"),
        _filing("200", "RELEASE", "2026-05-01", case_number="COSO-26-9", ref_record_id="100"),
    ]
    keyed = case_filings(pl.DataFrame(rows, schema=COLUMNS))
    assert keyed["case_id"].n_unique() == 1
    assert dict(zip(keyed["record_id"], keyed["joined_by"], strict=True)) == {
        "100": "case_number",
        "200": "reference",
    }
    assert _lifecycle(rows)["status"].item() == "cancelled"


def test_advanced_statuses_match_a_lifecycle_derived_on_the_later_date() -> None:
    """For cases whose filings did not change, moving the status forward by date gives what deriving the
    whole lifecycle on the later date gives (every status, both states' stale limits)."""
    rng = random.Random(7)
    events = [
        "LIS_PENDENS",
        "NOTICE_OF_DEFAULT",
        "FINAL_JUDGMENT",
        "NOTICE_OF_SALE",
        "POSTPONEMENT",
        "RELEASE",
    ]
    rows = []
    for case in range(400):
        start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 600))
        for i in range(rng.randint(1, 4)):
            event = rng.choice(events + ["SALE_RESULT"] * (i == 3))
            recorded = start + dt.timedelta(days=30 * i)
            sale = (
                recorded + dt.timedelta(days=rng.randint(5, 90))
                if "SALE" in event or "POST" in event
                else None
            )
            rows.append(
                _filing(
                    f"{case}-{i}",
                    event,
                    recorded.isoformat(),
                    case_number=f"C{case}",
                    sale_date=sale,
                    state=rng.choice(["FL", "TX"]),
                )
            )
    filings = case_filings(pl.DataFrame(rows, schema=COLUMNS))
    earlier = dt.date(2025, 9, 1)
    before = case_lifecycles(filings.filter(pl.col("recorded_date") <= earlier), earlier, STALE)
    for later in (earlier, dt.date(2025, 10, 15), dt.date(2026, 6, 1), dt.date(2028, 1, 1)):
        expected = case_lifecycles(filings.filter(pl.col("recorded_date") <= earlier), later, STALE)
        moved = advanced_statuses(before.select(MOVABLE), later, STALE)
        assert_frame_equal(moved.sort("case_id"), expected.select("case_id", "status").sort("case_id"))
    assert set(before["status"]) >= {"active", "judgment", "sale_scheduled", "postponed", "cancelled"}
