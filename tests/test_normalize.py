import polars as pl
import pytest

from transforms.normalize import normalized_apn, normalized_legal, normalized_party, normalized_street


@pytest.mark.parametrize(
    ("raw", "digits", "expected"),
    [
        ("012345-0000", 10, "0123450000"),
        ("123450000.0", 10, "0123450000"),  # float-formatted, leading zero lost
        ("1020230118.00", 10, "1020230118"),
        ("123-456-789", 9, "123456789"),
        ("494117181100", None, "494117181100"),
        ("484229CM0070", 12, "484229CM0070"),  # alphanumeric ids are never padded
        ("", 10, None),
        (None, 10, None),
    ],
)
def test_normalized_apn(raw: str | None, digits: int | None, expected: str | None) -> None:
    frame = pl.DataFrame({"apn": [raw]}, schema={"apn": pl.String})
    assert frame.select(normalized_apn("apn", digits)).item() == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234 North Oak Street, Tampa FL 33602", "1234 N OAK ST"),
        ("1234 n. oak st", "1234 N OAK ST"),
        ("12 Elm Avenue Apt 4", "12 ELM AVE APT 4"),
        ("PO BOX 55", None),  # not a street line
        (None, None),
    ],
)
def test_normalized_street(raw: str | None, expected: str | None) -> None:
    frame = pl.DataFrame({"a": [raw]}, schema={"a": pl.String})
    assert frame.select(normalized_street("a")).item() == expected


def test_normalized_party_groups_lender_spellings() -> None:
    names = [
        "Deutsche Bank National Trust Company, as Trustee for GSAMP 2006-HE1",
        "DEUTSCHE BANK NATIONAL TRUST CO",
        "Deutsche Bank National Trust Company",
    ]
    out = pl.DataFrame({"p": names}).select(normalized_party("p")).to_series().unique().to_list()
    assert out == ["DEUTSCHE BANK NATIONAL TRUST"]


def test_normalized_legal_ignores_case_spacing_punctuation() -> None:
    frame = pl.DataFrame(
        {"l": ["SUNSET PARK UNIT 2  LOT 14, BLK 3", "sunset park unit 2 lot 14 blk 3", "LOT 1"]}
    )
    out = frame.select(normalized_legal("l")).to_series().to_list()
    assert out[0] == out[1] == "SUNSET PARK UNIT 2 LOT 14 BLK 3"
    assert out[2] is None  # too short to identify a parcel
