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
    records = pl.DataFrame(
        {"doc_type": ["nts", "NOD", "DEED", None], "ref_doc_type": [None] * 4},
        schema={"doc_type": pl.String, "ref_doc_type": pl.String},
    )
    out = with_events(records, {"NTS": Event.NOTICE_OF_SALE, "nod": Event.NOTICE_OF_DEFAULT}, Event.IGNORE)
    assert out["event"].to_list() == ["NOTICE_OF_SALE", "NOTICE_OF_DEFAULT", "IGNORE", None]


def test_linked_codes_apply_only_to_documents_referencing_that_type() -> None:
    # a Broward RST is a release of anything; only one pointing back at a lis pendens ends a foreclosure
    records = pl.DataFrame({"doc_type": ["RST", "RST", "RST", "LP"], "ref_doc_type": ["LP", "FJ", None, "M"]})
    out = with_events(records, {"RST>LP": Event.RELEASE, "LP": Event.LIS_PENDENS}, Event.IGNORE)
    assert out["event"].to_list() == ["RELEASE", "IGNORE", "IGNORE", "LIS_PENDENS"]


def test_composite_raw_fields_join_columns() -> None:
    raw = pl.DataFrame({"source_line": [1, 2], "case": ["GD-1", None], "pin": ["P1", None], "d": ["x", "y"]})
    out = canonical_records(raw, {"record_id": ["case", "pin"], "doc_type": "d"}, FILING_FIELDS, [""], ["%Y"])
    assert out["record_id"].to_list() == ["GD-1|P1", None]


def test_a_column_of_plain_numbers_is_cast_and_one_odd_value_takes_the_parser() -> None:
    raw = pl.DataFrame(
        {
            "source_line": [1, 2, 3],
            "plain": ["1200", "-3.5e2", None],
            "mixed": ["1200", "$1,200.50", "(75)"],
            "huge": ["1200", "1e999", "12"],  # casts, but not to a finite amount: the parser's null
        }
    )
    fields = {"amount_due": "plain", "original_loan_amount": "mixed", "sale_date": "huge"}
    out = canonical_records(raw, {k: v for k, v in fields.items() if k != "sale_date"}, FILING_FIELDS, [], [])
    assert out["amount_due"].to_list() == [1200.0, -350.0, None]
    assert out["original_loan_amount"].to_list() == [1200.0, 1200.5, -75.0]
    huge = canonical_records(raw, {"amount_due": "huge"}, FILING_FIELDS, [], [])
    assert huge["amount_due"].to_list() == [1200.0, None, 12.0]
