"""Vendor dimension feeds (parcels, AVM, loans, liens, vacancy) in their one canonical shape, dated H."""

from __future__ import annotations

import numpy as np
import polars as pl

from leads.sample import vocab
from leads.sample.counties import County
from leads.sample.days import NEVER, as_date, next_weekday, prev_weekday, uniform_days, year_of
from leads.sample.world import LOAN_TYPES

LIEN_TYPES = ("TAX", "HOA", "CODE")
TAX, HOA, CODE = 0, 1, 2


def lien_history(
    rng: np.random.Generator,
    parcels: pl.DataFrame,
    distressed: np.ndarray,
    forced_parcel: np.ndarray,
    forced_type: np.ndarray,
    forced_day: np.ndarray,
    h_day: int,
) -> pl.DataFrame:
    """True tax / HOA / code liens (parcel, lien_type, amount, recorded_day, released_day).

    Business rule: distress correlates, so liens are ~3-4x as frequent on parcels in foreclosure. HOA
    foreclosures and government suits add the open lien they enforce (forced_*)."""
    n = parcels.height
    condo = parcels["land_use_idx"].to_numpy() == 1
    market = parcels["market_value"].to_numpy().astype(float)
    base = {TAX: np.full(n, 0.03), HOA: np.where(condo, 0.05, 0.01), CODE: np.full(n, 0.01)}
    multiplier = {TAX: 4.0, HOA: 4.0, CODE: 3.0}
    parcel_parts, type_parts = [forced_parcel.astype(np.int64)], [forced_type.astype(np.int64)]
    for lien_type in (TAX, HOA, CODE):
        p = base[lien_type] * np.where(distressed, multiplier[lien_type], 1.0)
        hit = np.flatnonzero(rng.random(n) < p)
        parcel_parts.append(hit)
        type_parts.append(np.full(hit.size, lien_type))
    parcel = np.concatenate(parcel_parts)
    lien_type = np.concatenate(type_parts)
    m = parcel.size
    forced = np.arange(m) < forced_parcel.size
    recorded = next_weekday(uniform_days(rng, h_day - 6 * 365, h_day - 3, m))
    recorded[: forced_parcel.size] = forced_day
    released = (~forced) & (rng.random(m) < np.where(distressed[parcel], 0.25, 0.4)) & (recorded + 30 < h_day)
    release_day = prev_weekday(uniform_days(rng, recorded + 30, h_day, m))
    amount = np.select(
        [lien_type == TAX, lien_type == HOA],
        [
            market[parcel] * rng.uniform(0.012, 0.025, m) * rng.uniform(1.0, 3.0, m),
            rng.uniform(600, 15_000, m),
        ],
        rng.uniform(250, 25_000, m),
    )
    return pl.DataFrame(
        {
            "parcel": parcel,
            "lien_type": lien_type,
            "amount": np.round(amount, 2),
            "recorded_day": recorded.astype(np.int64),
            "released_day": np.where(released, release_day, NEVER).astype(np.int64),
        }
    )


def open_lien_total(liens: pl.DataFrame, n_parcels: int, on_day: int) -> np.ndarray:
    """Per parcel, the sum of liens recorded and not released on a day, USD."""
    live = liens.filter((pl.col("recorded_day") <= on_day) & (pl.col("released_day") > on_day))
    return np.bincount(live["parcel"].to_numpy(), weights=live["amount"].to_numpy(), minlength=n_parcels)


def _keyed(county: County, parcels: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """county_fips + apn for rows that carry a `parcel` index."""
    apn = parcels["apn"].gather(rows["parcel"])
    return rows.with_columns(county_fips=pl.lit(county.fips), apn=apn)


def parcels_feed(county: County, parcels: pl.DataFrame, h_day: int) -> pl.DataFrame:
    """The assessor roll as the vendor delivers it, sorted by apn."""
    return parcels.select(
        county_fips=pl.lit(county.fips),
        apn=pl.col("apn"),
        situs_address=pl.col("situs_address"),
        situs_city=pl.col("situs_city"),
        situs_state=pl.lit(county.state),
        situs_zip=pl.col("situs_zip"),
        legal_description=pl.col("legal_description"),
        owner_name=pl.col("owner_name"),
        mailing_address=pl.col("mailing_address"),
        mailing_city=pl.col("mailing_city"),
        mailing_state=pl.col("mailing_state"),
        mailing_zip=pl.col("mailing_zip"),
        homestead=pl.when(pl.col("homestead")).then(pl.lit("Y")).otherwise(pl.lit("N")),
        assessed_value=pl.col("assessed_value"),
        assessment_year=pl.lit(int(year_of(np.array([h_day]))[0])),
        last_sale_date=as_date(parcels["last_sale_day"].to_numpy(), "last_sale_date"),
        last_sale_price=pl.col("last_sale_price"),
        land_use=pl.col("land_use"),
    ).sort("apn")


def avm_feed(rng: np.random.Generator, county: County, parcels: pl.DataFrame, h_day: int) -> pl.DataFrame:
    """AVM estimates for ~90% of parcels: true value x lognormal noise whose spread shrinks with confidence."""
    n = parcels.height
    covered = np.flatnonzero(rng.random(n) < 0.9)
    m = covered.size
    confidence = np.clip(np.round(rng.normal(72, 14, m)), 5, 99)
    sigma = 0.03 + 0.30 * (100 - confidence) / 100  # log-scale spread
    market = parcels["market_value"].to_numpy()[covered].astype(float)
    value = np.round(market * np.exp(rng.normal(0.0, sigma)), -3)
    rows = pl.DataFrame(
        {
            "parcel": covered,
            "avm_value": value.astype(np.int64),
            "avm_low": np.round(value * np.exp(-1.645 * sigma), -3).astype(np.int64),
            "avm_high": np.round(value * np.exp(1.645 * sigma), -3).astype(np.int64),
            "confidence": confidence.astype(np.int64),
            "valuation_date": as_date(prev_weekday(h_day - uniform_days(rng, 0, 45, m)), "valuation_date"),
        }
    )
    cols = ["county_fips", "apn", "avm_value", "avm_low", "avm_high", "confidence", "valuation_date"]
    return _keyed(county, parcels, rows).select(cols).sort("apn")


def vacancy_feed(
    rng: np.random.Generator,
    county: County,
    parcels: pl.DataFrame,
    distressed: np.ndarray,
    sold: np.ndarray,
    h_day: int,
) -> pl.DataFrame:
    """USPS-style vacancy flags for ~97% of parcels; vacancy is likelier when absentee / in foreclosure / sold."""
    n = parcels.height
    covered = np.flatnonzero(rng.random(n) < 0.97)
    absentee = parcels["absentee"].to_numpy()
    p = np.select([sold, distressed, absentee], [0.35, 0.15, 0.07], 0.02)
    vacant = rng.random(n) < p
    rows = pl.DataFrame(
        {
            "parcel": covered,
            "vacant": np.where(vacant[covered], "Y", "N"),
            "checked_date": as_date(
                prev_weekday(h_day - uniform_days(rng, 0, 60, covered.size)), "checked_date"
            ),
        }
    )
    return _keyed(county, parcels, rows).select("county_fips", "apn", "vacant", "checked_date").sort("apn")


def loan_ids(county: County, parcels: pl.DataFrame, loans: pl.DataFrame) -> pl.Series:
    """Stable loan ids, numbered in (apn, origination, position) order."""
    order = (
        loans.select(apn=parcels["apn"].gather(loans["parcel"]), orig=pl.col("orig_day"), kind=pl.col("kind"))
        .with_row_index("row")
        .sort("apn", "orig", "kind", "row")
    )
    number = np.empty(loans.height, dtype=np.int64)
    number[order["row"].to_numpy()] = np.arange(1, loans.height + 1)
    digits = pl.Series(number).cast(pl.String).str.zfill(8)
    return pl.select(pl.concat_str(pl.lit(f"{county.fips}-L"), digits).alias("loan_id")).to_series()


def loans_feed(
    county: County, parcels: pl.DataFrame, loans: pl.DataFrame, hidden: np.ndarray, h_day: int
) -> pl.DataFrame:
    """Recorded loans as of H (satisfactions after H not yet known); hidden parcels' loans are missing."""
    rows = loans.with_columns(loan_id=loan_ids(county, parcels, loans)).filter(
        ~pl.Series(hidden[loans["parcel"].to_numpy()]) & (pl.col("orig_day") <= h_day)
    )
    satisfied = rows["satisfied_day"].to_numpy()
    return (
        _keyed(county, parcels, rows)
        .select(
            "county_fips",
            "apn",
            "loan_id",
            position=pl.when(pl.col("kind") == 0).then(1).otherwise(2),
            loan_type=pl.Series(LOAN_TYPES).gather(rows["kind"]),
            lender=pl.Series(vocab.LENDERS).gather(rows["lender"]),
            original_amount=pl.col("amount").round(0).cast(pl.Int64),
            interest_rate=pl.when(pl.col("rate_in_feed")).then(pl.col("rate")),
            term_months=pl.col("term"),
            origination_date=as_date(rows["orig_day"].to_numpy(), "origination_date"),
            heloc_limit=pl.col("heloc_limit").fill_nan(None).round(0).cast(pl.Int64),
            satisfied_date=as_date(np.where(satisfied <= h_day, satisfied, NEVER), "satisfied_date"),
        )
        .sort("apn", "origination_date", "loan_id")
    )


def liens_feed(county: County, parcels: pl.DataFrame, liens: pl.DataFrame, h_day: int) -> pl.DataFrame:
    """Liens recorded by H with releases known by H, sorted by apn and lien_id."""
    rows = liens.filter(pl.col("recorded_day") <= h_day)
    keyed = _keyed(county, parcels, rows).sort("apn", "recorded_day", "lien_type", "amount")
    released = keyed["released_day"].to_numpy()
    return keyed.select(
        "county_fips",
        "apn",
        lien_id=pl.format(
            "{}-N{}", pl.lit(county.fips), pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(7)
        ),
        lien_type=pl.Series(LIEN_TYPES).gather(keyed["lien_type"]),
        amount=pl.col("amount"),
        recorded_date=as_date(keyed["recorded_day"].to_numpy(), "recorded_date"),
        released_date=as_date(np.where(released <= h_day, released, NEVER), "released_date"),
    )
