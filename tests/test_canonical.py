import datetime as dt

import polars as pl

from schemas.vocabulary import FILING_FIELDS, Event
from transforms.canonical import canonical_records, with_events


def test_canonical_records_map_type_and_keep_raw_text() -> None:
    raw = pl.DataFrame(
        {
            "source_line": [7],
            "DocNo": ["A1"],
            "Kind": [" nts "],
            "When": ["2026-01-02"],
            "Owed": ["$1,000.50"],
        }
    )
    fields = {"record_id": "DocNo", "doc_type": "Kind", "recorded_date": "When", "amount_due": "Owed"}
    out = canonical_records(raw, fields, FILING_FIELDS, ["NA"], ["%Y-%m-%d"])
    row = out.row(0, named=True)
    assert out.columns[0] == "source_line" and set(FILING_FIELDS) <= set(out.columns)
    assert (row["record_id"], row["recorded_date"], row["amount_due"]) == ("A1", dt.date(2026, 1, 2), 1000.5)
    assert row["amount_due_raw"] == "$1,000.50"
    # canonical fields the source does not map exist, typed, and null
    assert out.schema["sale_date"] == pl.Date and row["sale_date"] is None
    assert out.schema["original_loan_amount"] == pl.Float64
    assert raw.columns == ["source_line", "DocNo", "Kind", "When", "Owed"]  # input untouched


def test_events_map_codes_case_insensitively_with_a_default() -> None:
    records = pl.DataFrame({"doc_type": ["nts", "NOD", "DEED", None]})
    out = with_events(records, {"NTS": Event.NOTICE_OF_SALE, "nod": Event.NOTICE_OF_DEFAULT}, Event.IGNORE)
    assert out["event"].to_list() == ["NOTICE_OF_SALE", "NOTICE_OF_DEFAULT", "IGNORE", "IGNORE"]
