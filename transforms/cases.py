"""Filings -> foreclosure cases, and each case's lifecycle on the as-of date.

A case is keyed by (1) its court case / trustee sale number, else (2) the case of the filing it references
(a release pointing back at its lis pendens), else (3) parcel (or street line) + foreclosing lender within a
window of days: a notice re-posted for a later sale joins its case, a re-filing years later starts a new one.
The lifecycle is computed from all staged filings every run, so late and out-of-order deliveries give the same
case state as in-order ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl

from schemas.vocabulary import Event
from transforms.normalize import normalized_party

# Order of events recorded on the same day (a judgment precedes the notice of sale it triggers).
_EVENT_ORDER = {
    Event.LIS_PENDENS: 0,
    Event.NOTICE_OF_DEFAULT: 0,
    Event.FINAL_JUDGMENT: 1,
    Event.NOTICE_OF_SALE: 2,
    Event.POSTPONEMENT: 3,
    Event.SALE_RESULT: 4,
    Event.RELEASE: 5,
}
_SALE_NOTICES = [Event.NOTICE_OF_SALE.value, Event.POSTPONEMENT.value]
# Statuses a later as-of date cannot change without a new filing (see `_status`): a sale result or a release
# is final, a recorded sale date once passed stays passed, and a case quiet past its state's limit (with no
# sale date) only gets quieter. Every other status is re-derived each night.
FINAL_STATUSES = ["sold", "cancelled", "sale_date_passed_unknown", "stale"]


def stable_id(prefix: str, key: str) -> str:
    """A short id derived only from a case's key (never from row order), stable across runs and versions."""
    return prefix + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def stable_ids(prefix: str, keys: pl.Series) -> pl.Series:
    """`stable_id` of every key (a null key gets a null id), in one pass (no per-row Polars callback)."""
    return pl.Series([None if k is None else stable_id(prefix, k) for k in keys.to_list()], dtype=pl.String)


def with_mapped_once(frame: pl.DataFrame, column: str, expr: pl.Expr, alias: str) -> pl.DataFrame:
    """`frame` with column `alias` = `expr`, an expression of `column` alone, evaluated once per distinct value
    (costly string normalization of a column with few distinct values, such as lender names)."""
    values = frame.select(pl.col(column).unique())
    return frame.join(
        values.with_columns(expr.alias(alias)), on=column, how="left", nulls_equal=True, maintain_order="left"
    )


def has_case_number() -> pl.Expr:
    """The filing carries a usable court case / trustee sale number (what keys its case)."""
    return _case_number_key().is_not_null()


def _case_number_key() -> pl.Expr:
    number = pl.col("case_number").str.to_uppercase().str.replace_all(r"\s+", "")
    return pl.when(number.is_not_null() & (number != "")).then(pl.col("source") + "|cn|" + number)


def _windowed_keys(filings: pl.DataFrame, window_days: int) -> pl.DataFrame:
    """source, record_id -> key for filings with no case number: parcel/street + lender within the window.
    Also the `window_group` (source + anchor + lender) whose windows the key was cut from."""
    anchored = (
        with_mapped_once(
            filings, "plaintiff", pl.coalesce(normalized_party("plaintiff"), pl.lit("?")), "_lender"
        )
        .with_columns(pl.coalesce("parcel_apn", "street_key", "record_id").alias("_anchor"))
        .sort("source", "_anchor", "_lender", "recorded_date", "record_id")
    )
    group = ["source", "_anchor", "_lender"]
    gap = (pl.col("recorded_date") - pl.col("recorded_date").shift(1).over(group)).dt.total_days()
    starts = anchored.with_columns(
        (gap.is_null() | (gap > window_days)).cum_sum().over(group).alias("_window"),
        (pl.col("source") + "|pl|" + pl.col("_anchor") + "|" + pl.col("_lender")).alias("window_group"),
    )
    first_in_window = pl.col("record_id").first().over([*group, "_window"])
    return starts.select(
        "source",
        "record_id",
        (pl.col("window_group") + "|" + first_in_window).alias("case_key"),
        "window_group",
    )


def case_filings(filings: pl.DataFrame, window_days: int = 180) -> pl.DataFrame:
    """Every foreclosure filing with its `case_key`, `case_id` and `joined_by` (why it belongs to the case:
    `reference` — it points at a filing of the case, e.g. a release at its lis pendens; `case_number`;
    `parcel_lender_window` — same parcel or street line and lender within `window_days`), and for the last
    kind its `window_group` (source + parcel or street line + lender; null for the others).

    A case's key depends only on its own filings, the case numbers of the filings they reference, and the
    other filings of its window group (windows are cut where two filings are more than `window_days`
    apart): what lets leads/case_tables.py rebuild only the cases a night's filings touch.

    filings: source, record_id, event, recorded_date, case_number, ref_record_id, plaintiff, parcel_apn,
    street_key (+ any other columns, passed through).
    """
    own = filings.with_columns(_case_number_key().alias("own_key"))
    by_record = own.filter(pl.col("own_key").is_not_null()).select(
        "source", pl.col("record_id").alias("ref_record_id"), pl.col("own_key").alias("ref_case_key")
    )
    keyed = own.join(by_record, on=["source", "ref_record_id"], how="left", maintain_order="left")
    loose = keyed.filter(pl.col("ref_case_key").is_null() & pl.col("own_key").is_null())
    windowed = _windowed_keys(loose, window_days).rename({"case_key": "window_key"})
    keyed = keyed.join(windowed, on=["source", "record_id"], how="left", maintain_order="left").with_columns(
        # a filing that references another one joins that filing's case, whatever its own number says
        pl.coalesce("ref_case_key", "own_key", "window_key").alias("case_key"),
        pl.when(pl.col("ref_case_key").is_not_null())
        .then(pl.lit("reference"))
        .when(pl.col("own_key").is_not_null())
        .then(pl.lit("case_number"))
        .otherwise(pl.lit("parcel_lender_window"))
        .alias("joined_by"),
    )
    keys = keyed.select("case_key").unique()
    ids = keys.with_columns(stable_ids("C", keys["case_key"]).alias("case_id"))
    return (
        keyed.drop("own_key", "ref_case_key", "window_key")
        .join(ids, on="case_key", how="left")
        .sort("case_id", "recorded_date", "record_id")
    )


def _ordered(filings: pl.DataFrame) -> pl.DataFrame:
    order = {e.value: rank for e, rank in _EVENT_ORDER.items()}
    return filings.with_columns(
        pl.col("event").replace_strict(order, default=9, return_dtype=pl.Int8).alias("_order")
    ).sort("case_id", "recorded_date", "_order", "record_id")


def case_lifecycles(filings: pl.DataFrame, as_of: dt.date, stale_after: pl.DataFrame) -> pl.DataFrame:
    """One row per case: dates, stage, status, recorded sale date and the debt figures stated in documents.

    filings: output of `case_filings` (+ county_fips, state, amount_due, sale_date, original_loan_amount,
    parcel_apn, match_method, match_confidence, defendant).
    stale_after: state, stale_after_days (no follow-on document for this long -> `stale`).
    """
    event = pl.col("event")
    dated = pl.col("recorded_date")
    notices = event.is_in(_SALE_NOTICES) & pl.col("sale_date").is_not_null()
    cases = (
        _ordered(filings.filter(dated <= as_of))
        .group_by("case_id", maintain_order=True)
        .agg(
            pl.col("case_key").first(),
            pl.col("source").first(),
            pl.col("county_fips").first(),
            pl.col("state").first(),
            event.first().alias("first_event"),
            dated.min().alias("first_filing_date"),
            dated.max().alias("latest_filing_date"),
            dated.filter(event != Event.RELEASE.value).max().alias("_last_active_date"),
            dated.filter(event == Event.RELEASE.value).max().alias("release_date"),
            dated.filter(event == Event.SALE_RESULT.value).max().alias("sale_result_date"),
            dated.filter(event == Event.FINAL_JUDGMENT.value).max().alias("judgment_date"),
            pl.col("amount_due").filter(event == Event.FINAL_JUDGMENT.value).last().alias("judgment_amount"),
            pl.col("amount_due")
            .filter(event == Event.NOTICE_OF_SALE.value)
            .last()
            .alias("notice_amount_due"),
            pl.col("amount_due")
            .filter(event == Event.NOTICE_OF_DEFAULT.value)
            .last()
            .alias("default_amount"),
            pl.col("original_loan_amount").drop_nulls().last().alias("original_loan_amount"),
            pl.col("sale_date").filter(notices).last().alias("recorded_sale_date"),
            notices.sum().cast(pl.Int32).alias("sale_notices"),
            (event == Event.POSTPONEMENT.value).any().alias("_postponed"),
            # the foreclosing party: a sale result's first party is the clerk or the buyer, not the plaintiff
            pl.col("plaintiff")
            .filter(event != Event.SALE_RESULT.value)
            .drop_nulls()
            .first()
            .alias("plaintiff"),
            pl.col("defendant").drop_nulls().first().alias("defendant"),
            pl.col("parcel_apn").drop_nulls().mode().sort().first().alias("parcel_apn"),
            pl.col("parcel_apn").drop_nulls().n_unique().cast(pl.Int32).alias("parcel_count"),
            pl.col("match_confidence").max().alias("match_confidence"),
            pl.col("match_method").sort_by("match_confidence").last().alias("match_method"),
            pl.col("situs_address").drop_nulls().first().alias("filing_address"),
            pl.len().cast(pl.Int32).alias("filing_count"),
        )
    )
    return (
        cases.join(stale_after, on="state", how="left", maintain_order="left")
        .with_columns(_stage().alias("stage"), _status(as_of).alias("status"))
        .drop("_last_active_date", "_postponed", "stale_after_days")
    )


def _stage() -> pl.Expr:
    """The furthest step of the process the documents show."""
    return (
        pl.when(pl.col("sale_result_date").is_not_null())
        .then(pl.lit(Event.SALE_RESULT.value))
        .when(pl.col("recorded_sale_date").is_not_null())
        .then(pl.lit(Event.NOTICE_OF_SALE.value))
        .when(pl.col("judgment_date").is_not_null())
        .then(pl.lit(Event.FINAL_JUDGMENT.value))
        .otherwise(pl.col("first_event"))
    )


def _sale_date_passed(as_of: dt.date) -> pl.Expr:
    return pl.col("recorded_sale_date").is_not_null() & (pl.col("recorded_sale_date") < as_of)


def _stale(as_of: dt.date) -> pl.Expr:
    """No follow-on document for longer than the state's limit (365 days where the state has none)."""
    quiet_days = (pl.lit(as_of) - pl.col("latest_filing_date")).dt.total_days()
    return quiet_days > pl.col("stale_after_days").fill_null(365)


def advanced_statuses(cases: pl.DataFrame, as_of: dt.date, stale_after: pl.DataFrame) -> pl.DataFrame:
    """case_id -> status on `as_of` for cases whose filings did not change since their status was derived on
    an earlier date. Only the date-driven rules of `_status` can fire then: a scheduled or postponed sale's
    date passes, or a case without a sale date goes stale; every other status stays.

    cases: case_id, state, status, recorded_sale_date, latest_filing_date.
    """
    status = pl.col("status")
    return cases.join(stale_after, on="state", how="left", maintain_order="left").select(
        "case_id",
        pl.when(status.is_in(["sale_scheduled", "postponed"]) & _sale_date_passed(as_of))
        .then(pl.lit("sale_date_passed_unknown"))
        .when(status.is_in(["active", "judgment"]) & _stale(as_of))
        .then(pl.lit("stale"))
        .otherwise(status)
        .alias("status"),
    )


def _status(as_of: dt.date) -> pl.Expr:
    stale = _stale(as_of)
    released = pl.col("release_date").is_not_null() & (
        pl.col("_last_active_date").is_null() | (pl.col("release_date") >= pl.col("_last_active_date"))
    )
    return (
        pl.when(pl.col("sale_result_date").is_not_null())
        .then(pl.lit("sold"))
        .when(released)
        .then(pl.lit("cancelled"))
        .when(_sale_date_passed(as_of))
        .then(pl.lit("sale_date_passed_unknown"))
        .when(
            pl.col("recorded_sale_date").is_not_null() & ((pl.col("sale_notices") > 1) | pl.col("_postponed"))
        )
        .then(pl.lit("postponed"))
        .when(pl.col("recorded_sale_date").is_not_null())
        .then(pl.lit("sale_scheduled"))
        .when(stale)
        .then(pl.lit("stale"))
        .when(pl.col("judgment_date").is_not_null())
        .then(pl.lit("judgment"))
        .otherwise(pl.lit("active"))
    )
