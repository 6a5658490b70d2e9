import datetime as dt

import polars as pl

from transforms.changes import TRACKED, lead_events, lead_history_rows
from transforms.suppression import person_key, with_suppression

AS_OF = dt.date(2026, 11, 27)


def _lead(lead_id: str, **kw: object) -> dict:
    row = {
        "lead_id": lead_id,
        "status": "active",
        "stage": "LIS_PENDENS",
        "auction_date": dt.date(2027, 6, 1),
        "auction_date_source": "estimated",
        "estimated_value": 300_000.0,
        "estimated_payoff": 200_000.0,
        "equity_band": "healthy",
        "score": 50,
        "tier": "B",
        "suppressed": False,
    }
    row.update(kw)
    return row


def _frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema_overrides={"auction_date": pl.Date}).select("lead_id", *TRACKED)


def test_events_name_each_kind_of_change() -> None:
    previous = _frame(
        _lead("L1"),
        _lead("L2", stage="FINAL_JUDGMENT", status="judgment"),
        _lead("L3", stage="NOTICE_OF_SALE", status="sale_scheduled", auction_date_source="recorded"),
        _lead("L4", stage="NOTICE_OF_SALE", status="sale_scheduled", auction_date_source="recorded"),
        _lead("L5"),
    )
    current = _frame(
        _lead("L1", tier="A", score=70),  # time or data moved its score across a tier
        _lead(
            "L2",
            stage="NOTICE_OF_SALE",
            status="sale_scheduled",
            auction_date_source="recorded",
            auction_date=dt.date(2026, 12, 20),
        ),
        _lead(
            "L3",
            stage="NOTICE_OF_SALE",
            status="postponed",
            auction_date_source="recorded",
            auction_date=dt.date(2027, 1, 15),
        ),
        _lead("L4", stage="SALE_RESULT", status="sold", auction_date_source="recorded"),
        _lead("L5", status="cancelled", equity_band="thin"),
        _lead("L6"),
    )
    events = lead_events(previous, current, "r2", AS_OF)
    got = set(events.select("lead_id", "event_type").iter_rows())
    assert got == {
        ("L1", "tier_changed"),
        ("L2", "stage_advanced"),
        ("L2", "sale_scheduled"),
        ("L3", "auction_date_changed"),
        ("L3", "postponed"),
        ("L4", "stage_advanced"),
        ("L4", "sold"),
        ("L5", "cancelled"),
        ("L5", "equity_band_changed"),
        ("L6", "new_lead"),
    }
    moved = events.filter((pl.col("lead_id") == "L3") & (pl.col("event_type") == "auction_date_changed")).row(
        0, named=True
    )
    assert (moved["old_value"], moved["new_value"]) == ("2027-06-01", "2027-01-15")


def test_no_change_no_event_and_no_history_row() -> None:
    same = _frame(_lead("L1"), _lead("L2"))
    assert lead_events(same, same, "r", AS_OF).height == 0
    assert lead_history_rows(same, same, "r", AS_OF).height == 0


def test_history_has_new_and_changed_leads_only() -> None:
    previous = _frame(_lead("L1"), _lead("L2"))
    current = _frame(_lead("L1"), _lead("L2", estimated_payoff=210_000.0), _lead("L3"))
    history = lead_history_rows(previous, current, "r2", AS_OF)
    assert history["lead_id"].to_list() == ["L2", "L3"]
    assert history["estimated_payoff"].to_list() == [210_000.0, 200_000.0]


def test_person_key_ignores_order_initials_and_suffixes() -> None:
    names = pl.DataFrame({"n": ["DOE, JANE M", "Jane Doe", "DOE JANE ET AL", "Jane Doe Jr.", "JOHN DOE"]})
    keys = names.select(person_key("n")).to_series().to_list()
    assert keys[:4] == ["DOE JANE"] * 4 and keys[4] == "DOE JOHN"


def test_suppression_by_owner_or_by_address() -> None:
    leads = pl.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4"],
            "owner_name": ["DOE, JANE", "ROE, RICHARD", "POE, EDGAR", "MOE, MARY"],
            "situs_address": ["1 A St", "2 B Ave", "3 C Rd", "4 D Ln"],
            "situs_zip": ["33602", "33602", "33602", "33602"],
            "mailing_address": ["1 A St", "2 B Ave", "99 Mailing Way", "4 D Ln"],
            "mailing_zip": ["33602", "33602", "10001", "33602"],
        }
    )
    optouts = pl.DataFrame(
        {
            "owner_name": ["Jane Doe", None, None],
            "address": [None, "2 B Avenue", "99 Mailing Way"],
            "zip": [None, "33602", "10001"],
        },
        schema={"owner_name": pl.String, "address": pl.String, "zip": pl.String},
    )
    out = with_suppression(leads, optouts)
    assert out["suppressed"].to_list() == [True, True, True, False]
