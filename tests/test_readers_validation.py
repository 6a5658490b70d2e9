from pathlib import Path

import polars as pl
import pytest

from leads.errors import SourceFailed
from leads.readers import read_delivery
from leads.sources import FileFormat
from leads.validation import validated
from schemas.inputs import StagedFiling, StagedLoan
from schemas.vocabulary import FEED_FIELDS, FILING_FIELDS, Event
from transforms.canonical import canonical_records, with_events

PIPE = FileFormat(
    type="delimited",
    delimiter="|",
    header=False,
    quote_char=None,
    trailing_delimiter=True,
    columns=["id", "type", "date", "name"],
)


def _file(tmp_path: Path, data: bytes, name: str = "f.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_headerless_pipe_with_bom_crlf_and_a_truncated_last_line(tmp_path: Path) -> None:
    data = "\ufeff1|LP|01/02/2025|SMITH,JOHN|\r\n2|FJ|01/03/2025|DOE,JANE|\n3|LP|01/04/20".encode()
    delivery = read_delivery(_file(tmp_path, data), PIPE)
    assert delivery.frame["id"].to_list() == ["1", "2"]
    assert delivery.frame["source_line"].to_list() == [1, 2]
    assert [(u.line, u.check) for u in delivery.unreadable] == [(3, "truncated_record")]


def test_a_pipe_line_cut_right_after_a_delimiter_is_quarantined_not_padded(tmp_path: Path) -> None:
    """A line cut off just after a `|` still ends with the delimiter; its missing fields must not become
    nulls of a staged row."""
    data = b"1|LP|01/02/2025|SMITH,JOHN|\r\n2|FJ|\r\n3|LP|01/04/2025|DOE,JANE|\r\n4|LP|"
    delivery = read_delivery(_file(tmp_path, data), PIPE)
    assert delivery.frame["id"].to_list() == ["1", "3"]
    assert delivery.frame["source_line"].to_list() == [1, 3]
    assert [(u.line, u.check, u.raw_text) for u in delivery.unreadable] == [
        (2, "truncated_record", "2|FJ|"),
        (4, "truncated_record", "4|LP|"),
    ]
    assert "2 of its 4 fields" in delivery.unreadable[0].reason


def test_a_pipe_line_with_an_extra_delimiter_is_quarantined_and_the_rest_read(tmp_path: Path) -> None:
    """Without quoting, a `|` inside a value cannot be told from a field end: that one record is quarantined
    (the parser would otherwise fail the whole file on it)."""
    data = b"1|LP|01/02/2025|SMITH,JOHN|\n2|FJ|01/03/2025|DOE|JANE|\n3|LP|01/04/2025|ROE,RICHARD|\n"
    delivery = read_delivery(_file(tmp_path, data), PIPE)
    assert delivery.frame["id"].to_list() == ["1", "3"]
    assert delivery.frame["source_line"].to_list() == [1, 3]
    assert [(u.line, u.check) for u in delivery.unreadable] == [(2, "field_count")]
    assert "5 fields, 4 declared" in delivery.unreadable[0].reason


def test_cp1252_bytes_are_decoded_when_declared_and_quarantined_when_not(tmp_path: Path) -> None:
    data = "1|LP|01/02/2025|MU\u00d1OZ,JOS\u00c9|\n".encode("cp1252")
    declared = read_delivery(_file(tmp_path, data), PIPE.model_copy(update={"encoding": "cp1252"}))
    assert declared.frame["name"].to_list() == ["MU\u00d1OZ,JOS\u00c9"]
    undeclared = read_delivery(_file(tmp_path, data), PIPE)
    assert undeclared.frame.height == 0
    assert undeclared.unreadable[0].check == "encoding"


def test_quoted_fields_with_embedded_delimiters_and_newlines(tmp_path: Path) -> None:
    fmt = FileFormat(type="delimited", delimiter=",", header=True)
    data = b'id,name\n1,"SMITH, JOHN\nAND JANE"\n2,DOE\n'
    delivery = read_delivery(_file(tmp_path, data, "f.csv"), fmt)
    assert delivery.frame["name"].to_list() == ["SMITH, JOHN\nAND JANE", "DOE"]


def test_jsonl_bad_lines_are_reported_not_raised(tmp_path: Path) -> None:
    data = b'{"id": "1", "amount": 187500.0}\n{broken\n[1,2]\n{"id": "2", "amount": null}\n'
    delivery = read_delivery(_file(tmp_path, data, "f.jsonl"), FileFormat(type="jsonl"))
    assert delivery.frame["id"].to_list() == ["1", "2"]
    assert delivery.frame["amount"].to_list() == ["187500.0", None]
    assert sorted(u.line for u in delivery.unreadable) == [2, 3]


def test_empty_and_header_only_files_have_no_rows(tmp_path: Path) -> None:
    fmt = FileFormat(type="delimited", delimiter=",", header=True)
    assert read_delivery(_file(tmp_path, b"", "e.csv"), fmt).frame.height == 0
    assert read_delivery(_file(tmp_path, b"id,name\n", "h.csv"), fmt).frame.height == 0


def test_a_field_over_the_size_limit_quarantines_its_record(tmp_path: Path) -> None:
    fmt = FileFormat(type="delimited", delimiter=",", header=True)
    data = b"id,name\n1," + b"x" * 3_000_000 + b"\n2,ok\n"
    delivery = read_delivery(_file(tmp_path, data, "big.csv"), fmt)
    assert delivery.frame["id"].to_list() == ["2"]
    assert delivery.unreadable[0].check == "field_too_long"


def _filings(raw: pl.DataFrame) -> pl.DataFrame:
    fields = {"record_id": "id", "doc_type": "type", "recorded_date": "date", "defendant": "name"}
    records = canonical_records(raw, fields, FILING_FIELDS, [""], ["%m/%d/%Y"])
    return with_events(records, {"LP": Event.LIS_PENDENS, "FJ": Event.FINAL_JUDGMENT}, Event.IGNORE)


def test_bad_rows_are_quarantined_with_line_column_and_reason() -> None:
    raw = pl.DataFrame(
        {
            "source_line": [1, 2, 3],
            "id": ["1", "2", None],
            "type": ["LP", "FJ", "LP"],
            "date": ["01/02/2025", "13/45/2025", "01/04/2025"],
            "name": ["A", "B", "C"],
        }
    )
    result = validated(_filings(raw), StagedFiling, raw, "fl_test", "f.txt")
    assert result.valid["record_id"].to_list() == ["1"]
    assert result.rejected_rows == 2
    rows = result.quarantine.sort("source_line").select("source_line", "column_name", "check_name").rows()
    assert rows == [(2, "recorded_date", "recorded_date_parses"), (3, "record_id", "not_nullable")]
    reason = result.quarantine.filter(pl.col("source_line") == 2)["reason"].item()
    assert "13/45/2025" in reason
    assert '"name":"B"' in result.quarantine.filter(pl.col("source_line") == 2)["raw_record"].item()


def test_schema_drift_fails_the_source() -> None:
    raw = pl.DataFrame(
        {"source_line": [1], "id": ["1"], "type": ["LP"], "date": ["01/02/2025"], "name": ["A"]}
    )
    records = _filings(raw).drop("case_number")
    with pytest.raises(SourceFailed, match="schema drift"):
        validated(records, StagedFiling, raw, "fl_test", "f.txt")


def test_loan_contract_rejects_impossible_values() -> None:
    raw = pl.DataFrame(
        {
            "source_line": [1, 2],
            "county_fips": ["12057", "12057"],
            "apn": ["1", "2"],
            "loan_id": ["a", "b"],
            "loan_type": ["FIRST", "BALLOON"],
            "interest_rate": ["6.5", "65"],
            "original_amount": ["$100,000", "x"],
        }
    )
    fields = {c: c for c in raw.columns if c != "source_line"}
    records = canonical_records(raw, fields, FEED_FIELDS["loans"], [""], ["%Y-%m-%d"])
    result = validated(records, StagedLoan, raw, "vendor_loans", "loans.csv")
    assert result.valid["loan_id"].to_list() == ["a"]
    assert set(result.quarantine["check_name"]) >= {
        "isin(['FIRST', 'SECOND', 'HELOC'])",
        "original_amount_parses",
    }


def test_a_header_csv_cut_inside_its_last_record_quarantines_that_record(tmp_path: Path) -> None:
    fmt = FileFormat(type="delimited", delimiter=",", header=True)
    cut = read_delivery(_file(tmp_path, b"id,name,amount\n1,DOE,100\n2,ROE", "cut.csv"), fmt)
    assert cut.frame["id"].to_list() == ["1"]
    assert [(u.line, u.check) for u in cut.unreadable] == [(3, "truncated_record")]
    whole = read_delivery(_file(tmp_path, b"id,name,amount\n1,DOE,100\n2,ROE,5", "whole.csv"), fmt)
    assert whole.frame["id"].to_list() == ["1", "2"] and whole.unreadable == []
