"""Filings -> parcels on an evidence ladder: parcel id > legal description > situs address > nothing.

Never on owner name alone. A match carries its method and a confidence; a key that fits several parcels is
ambiguous and left unmatched with its candidate count, never guessed. A street address that is also the
mailing address of another parcel's owner may be the defendant's mailing address (the "lis pendens on the
homestead instead of the rental" trap): it is not used to place the filing.
"""

from __future__ import annotations

import polars as pl

from transforms.normalize import filing_street_keys, normalized_apn, normalized_legal, normalized_street

# Confidence of each rung (share of matches expected to be right, before conflicts are checked).
CONFIDENCE = {"parcel_id": 0.99, "legal_description": 0.9, "situs_address": 0.8}


def parcel_match_keys(parcels: pl.DataFrame) -> pl.DataFrame:
    """The roll with its matching keys (computed once, when a roll is staged): normalized id, legal, street
    line of the situs and of the owner's mailing address."""
    keyed = parcels.with_columns(
        normalized_apn("apn").alias("apn_key"),
        normalized_legal("legal_description").alias("legal_key"),
        normalized_street("situs_address").alias("street_key"),
        # most owners get their mail at the parcel: only the other mailing lines are normalized (a null costs
        # the string passes nothing), the rest take the situs key
        pl.when(pl.col("mailing_address") != pl.col("situs_address"))
        .then("mailing_address")
        .alias("_elsewhere"),
    )
    return keyed.with_columns(
        pl.when(pl.col("mailing_address") == pl.col("situs_address"))
        .then(pl.col("street_key"))
        .otherwise(normalized_street("_elsewhere"))
        .alias("mailing_key")
    ).drop("_elsewhere")


def filing_match_keys(filings: pl.DataFrame, apn_digits: int | None) -> pl.DataFrame:
    """Filings with their matching keys (computed once, when filings are staged). Free-text addresses are
    parsed with usaddress; parcel ids are padded to the county roll's width."""
    return filings.with_columns(
        normalized_apn("apn", apn_digits).alias("apn_key"),
        normalized_legal("legal_description").alias("legal_key"),
        filing_street_keys(filings["situs_address"]).alias("street_key"),
    )


def _unique_on(keys: pl.DataFrame, key: str) -> pl.DataFrame:
    """county_fips, key -> the parcel when exactly one has it, plus how many candidates there are."""
    return (
        keys.filter(pl.col(key).is_not_null())
        .group_by("county_fips", key)
        .agg(pl.col("parcel_apn").sort().first(), pl.len().alias("candidates"))
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


def matched_filings(filings: pl.DataFrame, parcels: pl.DataFrame) -> pl.DataFrame:
    """Each filing with `parcel_apn`, `match_method`, `match_confidence` and `match_note`.

    filings: county_fips, apn_key, legal_key, street_key (+ anything, passed through).
    parcels: county_fips, apn, apn_key, legal_key, street_key, mailing_key — at least every parcel sharing a
    key with some filing (so candidate counts are complete).
    A parcel id and a legal description that point at two different parcels are conflicting evidence: the
    filing is not placed. A street line that disagrees with a matched parcel id only lowers the confidence
    (filings often carry the defendant's mailing address).
    """
    keys = parcels.select(
        "county_fips", pl.col("apn").alias("parcel_apn"), "apn_key", "legal_key", "street_key", "mailing_key"
    )
    by_id = (
        keys.filter(pl.col("apn_key").is_not_null())
        .select("county_fips", "apn_key", pl.col("parcel_apn").alias("id_apn"))
        .sort("county_fips", "apn_key", "id_apn")
        .unique(subset=["county_fips", "apn_key"], keep="first", maintain_order=True)
    )
    by_legal = _unique_on(keys, "legal_key").rename({"parcel_apn": "legal_apn", "candidates": "legal_n"})
    by_street = _unique_on(keys, "street_key").rename({"parcel_apn": "street_apn", "candidates": "street_n"})
    joined = (
        filings.join(by_id, on=["county_fips", "apn_key"], how="left", maintain_order="left")
        .join(by_legal, on=["county_fips", "legal_key"], how="left", maintain_order="left")
        .join(by_street, on=["county_fips", "street_key"], how="left", maintain_order="left")
        .join(_mailing_elsewhere(keys), on=["county_fips", "street_key"], how="left", maintain_order="left")
    )
    id_apn, legal_apn, street_apn = pl.col("id_apn"), pl.col("legal_apn"), pl.col("street_apn")
    id_legal_conflict = id_apn.is_not_null() & legal_apn.is_not_null() & (id_apn != legal_apn)
    id_street_conflict = id_apn.is_not_null() & street_apn.is_not_null() & (id_apn != street_apn)
    legal_street_conflict = legal_apn.is_not_null() & street_apn.is_not_null() & (legal_apn != street_apn)
    street_usable = street_apn.is_not_null() & pl.col("is_mailing_elsewhere").is_null()
    method = (
        pl.when(id_legal_conflict)
        .then(pl.lit("none"))
        .when(id_apn.is_not_null())
        .then(pl.lit("parcel_id"))
        .when(legal_apn.is_not_null())
        .then(pl.lit("legal_description"))
        .when(street_usable)
        .then(pl.lit("situs_address"))
        .otherwise(pl.lit("none"))
    )

    def note(when: pl.Expr, text: str) -> pl.Expr:
        return pl.when(when).then(pl.lit(text + "; ")).otherwise(pl.lit(""))

    notes = pl.concat_str(
        note(id_legal_conflict, "parcel id and legal description name different parcels"),
        note(id_apn.is_null() & pl.col("apn_key").is_not_null(), "parcel id not in roll"),
        note(pl.col("legal_n") > 1, "legal fits several parcels"),
        note(pl.col("street_n") > 1, "address fits several parcels"),
        note(id_street_conflict | legal_street_conflict, "address points at another parcel"),
        note(pl.col("is_mailing_elsewhere").is_not_null(), "address is an owner's mailing address"),
    ).str.strip_chars("; ")
    confidence = (
        pl.col("match_method").replace_strict(CONFIDENCE, default=0.0, return_dtype=pl.Float64)
        # a matched id or legal whose address points elsewhere: still placed, less sure
        - pl.when((pl.col("match_method") != "none") & (id_street_conflict | legal_street_conflict))
        .then(0.09)
        .otherwise(0.0)
    )
    return (
        joined.with_columns(method.alias("match_method"), notes.alias("match_note"))
        .with_columns(
            pl.when(pl.col("match_method") == "parcel_id")
            .then(id_apn)
            .when(pl.col("match_method") == "legal_description")
            .then(legal_apn)
            .when(pl.col("match_method") == "situs_address")
            .then(street_apn)
            .alias("parcel_apn"),
            confidence.round(2).alias("match_confidence"),
        )
        .drop("id_apn", "legal_apn", "street_apn", "legal_n", "street_n", "is_mailing_elsewhere")
    )
