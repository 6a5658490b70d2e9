"""Filings -> parcels on an evidence ladder: parcel id > legal description > situs address > nothing.

Never on owner name alone. A match carries its method and a confidence; a key that fits several parcels is
ambiguous and left unmatched with its candidate count, never guessed. A street address that is also the
mailing address of another parcel's owner may be the defendant's mailing address (the "lis pendens on the
homestead instead of the rental" trap): it is not used to place the filing.
"""

from __future__ import annotations

import polars as pl

from transforms.normalize import normalized_apn, normalized_legal, normalized_street

# Confidence of each rung (share of matches expected to be right, before conflicts are checked).
CONFIDENCE = {"parcel_id": 0.99, "legal_description": 0.9, "situs_address": 0.8}


def parcel_keys(parcels: pl.DataFrame) -> pl.DataFrame:
    """The roll's matching keys: one row per parcel with its normalized id, legal and street lines."""
    return parcels.select(
        "county_fips",
        pl.col("apn").alias("parcel_apn"),
        normalized_apn("apn").alias("apn_key"),
        normalized_legal("legal_description").alias("legal_key"),
        normalized_street("situs_address").alias("street_key"),
        normalized_street("mailing_address").alias("mailing_key"),
    )


def _unique_on(keys: pl.DataFrame, key: str) -> pl.DataFrame:
    """county_fips, key -> the parcel when exactly one has it, plus how many candidates there are."""
    return (
        keys.filter(pl.col(key).is_not_null())
        .group_by("county_fips", key)
        .agg(pl.col("parcel_apn").first(), pl.len().alias("candidates"))
        .with_columns(pl.when(pl.col("candidates") == 1).then(pl.col("parcel_apn")).alias("parcel_apn"))
    )


def _mailing_elsewhere(keys: pl.DataFrame) -> pl.DataFrame:
    """Street lines that are some owner's mailing address for a different parcel."""
    return (
        keys.filter(pl.col("mailing_key").is_not_null() & (pl.col("mailing_key") != pl.col("street_key")))
        .select("county_fips", pl.col("mailing_key").alias("street_key"))
        .unique()
        .with_columns(pl.lit(True).alias("is_mailing_elsewhere"))
    )


def matched_filings(filings: pl.DataFrame, parcels: pl.DataFrame, apn_digits: pl.DataFrame) -> pl.DataFrame:
    """Each filing with `parcel_apn`, `match_method`, `match_confidence` and `match_note`.

    filings: source, record_id, county_fips, apn, legal_description, situs_address
    parcels: county_fips, apn, legal_description, situs_address, mailing_address
    apn_digits: county_fips, apn_digits (the roll's parcel-id width, to restore dropped leading zeros)
    """
    keys = parcel_keys(parcels)
    by_id = keys.select("county_fips", "apn_key", pl.col("parcel_apn").alias("id_apn")).unique(
        subset=["county_fips", "apn_key"], keep="first", maintain_order=True
    )
    by_legal = _unique_on(keys, "legal_key").rename({"parcel_apn": "legal_apn", "candidates": "legal_n"})
    by_street = _unique_on(keys, "street_key").rename({"parcel_apn": "street_apn", "candidates": "street_n"})
    with_keys = filings.join(apn_digits, on="county_fips", how="left", maintain_order="left").with_columns(
        normalized_apn("apn", pl.col("apn_digits")).alias("apn_key"),
        normalized_legal("legal_description").alias("legal_key"),
        normalized_street("situs_address").alias("street_key"),
    )
    joined = (
        with_keys.join(by_id, on=["county_fips", "apn_key"], how="left", maintain_order="left")
        .join(by_legal, on=["county_fips", "legal_key"], how="left", maintain_order="left")
        .join(by_street, on=["county_fips", "street_key"], how="left", maintain_order="left")
        .join(_mailing_elsewhere(keys), on=["county_fips", "street_key"], how="left", maintain_order="left")
    )
    street_usable = pl.col("street_apn").is_not_null() & pl.col("is_mailing_elsewhere").is_null()
    method = (
        pl.when(pl.col("id_apn").is_not_null())
        .then(pl.lit("parcel_id"))
        .when(pl.col("legal_apn").is_not_null())
        .then(pl.lit("legal_description"))
        .when(street_usable)
        .then(pl.lit("situs_address"))
        .otherwise(pl.lit("none"))
    )
    note = (
        pl.when(pl.col("id_apn").is_null() & pl.col("apn_key").is_not_null())
        .then(pl.lit("parcel id not in roll; "))
        .otherwise(pl.lit(""))
        + pl.when(pl.col("legal_n") > 1).then(pl.lit("legal fits several parcels; ")).otherwise(pl.lit(""))
        + pl.when(pl.col("street_n") > 1).then(pl.lit("address fits several parcels; ")).otherwise(pl.lit(""))
        + pl.when(pl.col("is_mailing_elsewhere").is_not_null())
        .then(pl.lit("address is an owner's mailing address; "))
        .otherwise(pl.lit(""))
    )
    return joined.with_columns(
        method.alias("match_method"), note.str.strip_chars("; ").alias("match_note")
    ).select(
        pl.exclude(
            "apn_digits", "id_apn", "legal_apn", "street_apn", "legal_n", "street_n", "is_mailing_elsewhere"
        ),
        pl.when(pl.col("match_method") == "parcel_id")
        .then(pl.col("id_apn"))
        .when(pl.col("match_method") == "legal_description")
        .then(pl.col("legal_apn"))
        .when(pl.col("match_method") == "situs_address")
        .then(pl.col("street_apn"))
        .alias("parcel_apn"),
        pl.col("match_method")
        .replace_strict(CONFIDENCE, default=0.0, return_dtype=pl.Float64)
        .alias("match_confidence"),
    )
