"""Do-not-contact: flag leads whose owner or address is on the opt-out list (suppressed leads are never exported).

Matching errs on the side of suppressing: an entry naming only an owner suppresses every lead of an owner
with the same name key; an entry naming only an address suppresses leads whose situs or mailing street line
(and ZIP, when given) is that address.
"""

from __future__ import annotations

import polars as pl

from transforms.normalize import normalized_street

_NAME_NOISE = {"ET", "AL", "ETAL", "UX", "VIR", "JR", "SR", "II", "III", "IV", "MR", "MRS", "MS", "DR", "AND"}


def person_key(column: str) -> pl.Expr:
    """Name tokens sorted, initials and suffixes dropped: `DOE, JANE M` and `Jane Doe` give `DOE JANE`."""
    return (
        pl.col(column)
        .str.to_uppercase()
        .str.replace_all(r"[^A-Z ]", " ")
        .str.split(" ")
        .list.eval(
            pl.element().filter((pl.element().str.len_chars() > 1) & ~pl.element().is_in(list(_NAME_NOISE)))
        )
        .list.sort()
        .list.join(" ")
        .replace("", None)
    )


def with_suppression(leads: pl.DataFrame, optouts: pl.DataFrame) -> pl.DataFrame:
    """Leads with `suppressed` (bool).

    leads: lead_id, owner_name, situs_address, situs_zip, mailing_address, mailing_zip (street lines).
    optouts: owner_name, address, zip (any may be null).
    """
    entries = optouts.select(
        person_key("owner_name").alias("name_key"),
        normalized_street("address").alias("street_key"),
        pl.col("zip").str.slice(0, 5).alias("zip5"),
    )
    names = entries.filter(pl.col("name_key").is_not_null()).select("name_key").unique()
    streets = entries.filter(pl.col("street_key").is_not_null()).select("street_key", "zip5").unique()
    if names.is_empty() and streets.is_empty():
        # nothing to match against: the leads' name and street keys need not be computed
        return leads.with_columns(
            pl.col("lead_id")
            .is_in(pl.Series([], dtype=leads.schema["lead_id"]).implode())
            .alias("suppressed")
        )
    keyed = leads.select(
        "lead_id",
        person_key("owner_name").alias("name_key"),
        normalized_street("situs_address").alias("situs_key"),
        pl.col("situs_zip").str.slice(0, 5).alias("situs_zip5"),
        normalized_street("mailing_address").alias("mailing_key"),
        pl.col("mailing_zip").str.slice(0, 5).alias("mailing_zip5"),
    )

    def at_address(street: str, zip5: str) -> pl.DataFrame:
        return keyed.join(streets, left_on=street, right_on="street_key", how="inner").filter(
            pl.col("zip5").is_null() | (pl.col("zip5") == pl.col(zip5))
        )

    hits = pl.concat(
        [
            keyed.join(names, on="name_key", how="inner").select("lead_id"),
            at_address("situs_key", "situs_zip5").select("lead_id"),
            at_address("mailing_key", "mailing_zip5").select("lead_id"),
        ]
    ).unique()
    return leads.with_columns(pl.col("lead_id").is_in(hits["lead_id"].implode()).alias("suppressed"))
