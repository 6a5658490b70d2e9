import datetime as dt

import polars as pl
import pytest

from transforms.parsing import cleaned_text, parsed_date, parsed_flag, parsed_int, parsed_money


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$12,345.67", 12345.67),
        ("12345.67", 12345.67),
        ("1.875E5", 187500.0),
        ("(1,200.00)", -1200.0),
        (" 900 ", 900.0),
        ("$1,2x0", None),
        ("", None),
        (None, None),
    ],
)
def test_parsed_money(raw: str | None, expected: float | None) -> None:
    out = pl.DataFrame({"v": [raw]}, schema={"v": pl.String}).select(parsed_money("v")).item()
    assert out == expected


def test_parsed_date_tries_each_format_and_rejects_impossible_dates() -> None:
    frame = pl.DataFrame(
        {"v": ["01/02/2025", "2025-02-03", "13/45/2025", "2025-02-30", "2025-03-02T00:00:00", None]}
    )
    out = frame.select(parsed_date("v", ["%m/%d/%Y", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"])).to_series().to_list()
    assert out == [dt.date(2025, 1, 2), dt.date(2025, 2, 3), None, None, dt.date(2025, 3, 2), None]


def test_parsed_flag_and_int() -> None:
    frame = pl.DataFrame({"f": ["Y", "n", "TRUE", "maybe"], "i": ["360", "360.0", "360.5", "x"]})
    out = frame.select(parsed_flag("f").alias("f"), parsed_int("i").alias("i"))
    assert out["f"].to_list() == [True, False, True, None]
    assert out["i"].to_list() == [360, 360, None, None]


def test_cleaned_text_nulls_placeholders() -> None:
    frame = pl.DataFrame({"v": ["  abc ", "NA", "NULL", "", "-000000000000"]})
    out = frame.select(cleaned_text("v", ["NA", "NULL", "-000000000000"])).to_series().to_list()
    assert out == ["abc", None, None, None, None]
