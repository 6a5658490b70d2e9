import polars as pl

from transforms.matching import filing_match_keys, matched_filings, parcel_match_keys

PARCELS = pl.DataFrame(
    {
        "county_fips": ["12057"] * 5,
        "apn": ["0123450000", "0123460000", "0123470000", "0123480000", "0123490000"],
        "legal_description": [
            "SUNSET PARK LOT 1 BLK 1",
            "SUNSET PARK LOT 2 BLK 1",
            "TWIN CONDO UNIT 5",
            "TWIN CONDO UNIT 5",  # two parcels share a legal: ambiguous
            "SUNSET PARK LOT 9 BLK 1",
        ],
        "situs_address": ["100 Oak Street", "102 Oak St", "7 Elm Ave", "9 Elm Ave", "300 Pine Rd"],
        # the owner of parcel 1 lives at parcel 5 (300 Pine Rd): parcel 1 is a rental
        "mailing_address": ["300 Pine Road", "102 Oak St", "7 Elm Ave", "9 Elm Ave", "300 Pine Rd"],
    }
)
ROLL = parcel_match_keys(PARCELS)


def _match(apn: str | None, legal: str | None, address: str | None) -> dict:
    filing = pl.DataFrame(
        {
            "source": ["fl"],
            "record_id": ["1"],
            "county_fips": ["12057"],
            "apn": [apn],
            "legal_description": [legal],
            "situs_address": [address],
        },
        schema={
            c: pl.String
            for c in ("source", "record_id", "county_fips", "apn", "legal_description", "situs_address")
        },
    )
    return matched_filings(filing_match_keys(filing, 10), ROLL).row(0, named=True)


def test_parcel_id_wins_even_in_a_float_format_without_leading_zero() -> None:
    row = _match("123460000.0", "SUNSET PARK LOT 2 BLK 1", "102 Oak St")
    assert (row["parcel_apn"], row["match_method"], row["match_confidence"]) == (
        "0123460000",
        "parcel_id",
        0.99,
    )


def test_legal_description_then_address() -> None:
    assert _match(None, "sunset park  lot 1, blk 1", None)["parcel_apn"] == "0123450000"
    row = _match(None, None, "102 Oak Street")
    assert (row["parcel_apn"], row["match_method"]) == ("0123460000", "situs_address")


def test_ambiguous_legal_is_not_guessed() -> None:
    row = _match(None, "TWIN CONDO UNIT 5", None)
    assert row["parcel_apn"] is None
    assert row["match_method"] == "none"
    assert "several parcels" in row["match_note"]


def test_an_owners_mailing_address_is_not_used_to_place_a_filing() -> None:
    # "300 Pine Rd" is a situs, but also the mailing address of the rental's owner: the filing may be on the rental
    row = _match(None, None, "300 Pine Road")
    assert row["parcel_apn"] is None
    assert "mailing address" in row["match_note"]


def test_unknown_parcel_id_falls_through_to_next_rung_and_is_noted() -> None:
    row = _match("999", "SUNSET PARK LOT 2 BLK 1", None)
    assert row["match_method"] == "legal_description"
    assert "not in roll" in row["match_note"]


def test_owner_name_alone_never_matches() -> None:
    row = _match(None, None, None)
    assert row["match_method"] == "none" and row["parcel_apn"] is None


def test_parcel_id_and_legal_naming_different_parcels_is_conflicting_evidence() -> None:
    row = _match("0123450000", "SUNSET PARK LOT 2 BLK 1", None)
    assert (row["parcel_apn"], row["match_method"]) == (None, "none")
    assert "different parcels" in row["match_note"]


def test_an_address_pointing_elsewhere_lowers_confidence_but_keeps_the_id() -> None:
    row = _match("0123460000", None, "7 Elm Ave, Tampa FL 33602")
    assert (row["parcel_apn"], row["match_method"]) == ("0123460000", "parcel_id")
    assert row["match_confidence"] < 0.99 and "another parcel" in row["match_note"]


def test_free_text_addresses_without_commas_are_parsed() -> None:
    row = _match(None, None, "102 Oak Street Tampa FL 33602")
    assert (row["parcel_apn"], row["match_method"]) == ("0123460000", "situs_address")
