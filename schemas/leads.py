"""The published contract: table `leads` in data/warehouse/leads.duckdb (one row per foreclosure case).

This model is the documented contract (README "Published columns"); exports carry the same columns.
Bump EXPORT_SCHEMA_VERSION on any breaking change (a column removed, renamed or retyped).
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from schemas.vocabulary import OCCUPANCY, STATUSES, STRATEGIES, TIERS, Event

# additive: 1.1 + suppressed; 1.2 + lane_confidence; 1.3 + equity_confidence; 1.4: as_of and run_id are per row
# (a lead in a final status keeps those of the night it was last scored: leads/lead_tables.py); 2.0: every export
# has `open_leads.*`, the full snapshot `leads.*` only when due (weekly by default: leads/publish.py)
EXPORT_SCHEMA_VERSION = "2.0"


class PublishedLead(pa.DataFrameModel):
    lead_id: str = pa.Field(unique=True, str_matches=r"^L[0-9a-f]{16}$")
    case_id: str = pa.Field(unique=True)
    state: str = pa.Field(str_matches=r"^[A-Z]{2}$")
    county_fips: str = pa.Field(str_matches=r"^\d{5}$")
    source: str
    apn: str = pa.Field(nullable=True)  # parcel id in the county roll's form; null when unmatched
    parcel_count: int = pa.Field(ge=0)
    match_method: str = pa.Field(isin=["parcel_id", "legal_description", "situs_address", "none"])
    match_confidence: float = pa.Field(ge=0, le=1)
    situs_address: str = pa.Field(nullable=True)
    owner_name: str = pa.Field(nullable=True)
    mailing_address: str = pa.Field(nullable=True)
    owner_occupied: bool
    occupancy: str = pa.Field(isin=OCCUPANCY)
    occupancy_confidence: float = pa.Field(ge=0, le=1)
    plaintiff: str = pa.Field(nullable=True)
    plaintiff_type: str = pa.Field(isin=["lender", "hoa", "government", "individual_other", "unknown"])
    lane: str = pa.Field(isin=["mortgage", "non_mortgage"])
    lane_confidence: float = pa.Field(ge=0, le=1)  # how sure the suit is (or is not) a mortgage foreclosure
    stage: str = pa.Field(isin=[e.value for e in Event])
    status: str = pa.Field(isin=STATUSES)
    actionable: bool
    first_filing_date: dt.date
    latest_filing_date: dt.date  # the last confirmed date: the latest document of the case
    filing_count: int = pa.Field(ge=1)
    auction_date: dt.date = pa.Field(nullable=True)
    auction_date_low: dt.date = pa.Field(nullable=True)
    auction_date_high: dt.date = pa.Field(nullable=True)
    auction_date_source: str = pa.Field(nullable=True, isin=["recorded", "estimated"])
    days_to_auction: int = pa.Field(nullable=True)
    estimated_value: float = pa.Field(nullable=True, gt=0)  # US dollars
    value_low: float = pa.Field(nullable=True, ge=0)
    value_high: float = pa.Field(nullable=True, ge=0)
    value_source: str = pa.Field(isin=["avm", "assessed", "last_sale_indexed", "unknown"])
    value_confidence: float = pa.Field(nullable=True, ge=0, le=1)
    estimated_payoff: float = pa.Field(nullable=True, ge=0)  # US dollars; null = unknown, never 0-by-default
    payoff_low: float = pa.Field(nullable=True, ge=0)
    payoff_high: float = pa.Field(nullable=True, ge=0)
    payoff_source: str = pa.Field(isin=["judgment", "notice_amount_due", "amortized_loans", "unknown"])
    equity_amount: float = pa.Field(nullable=True)
    equity_pct: float = pa.Field(nullable=True)
    ltv: float = pa.Field(nullable=True, ge=0)
    equity_band: str = pa.Field(isin=["healthy", "thin", "negative", "unknown"])
    equity_confidence: float = pa.Field(
        nullable=True, ge=0, le=1
    )  # 0.9+ when value and payoff ranges separate
    strategy: str = pa.Field(isin=STRATEGIES)
    distress_count: int = pa.Field(ge=0)
    distress_signals: str
    score: int = pa.Field(ge=0, le=100)
    tier: str = pa.Field(isin=TIERS)
    suppressed: bool  # on the do-not-contact list: never exported, kept here so nobody contacts them
    reasons: str
    score_version: str
    as_of: dt.date  # the date the row's figures are as of (the night it was last scored)
    run_id: str  # the run that scored the row

    class Config:
        strict = True
        ordered = True

    @pa.dataframe_check(name="equity_needs_known_payoff")
    def _equity_needs_payoff(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("equity_amount").is_null() | pl.col("estimated_payoff").is_not_null()
        )

    @pa.dataframe_check(name="inactive_iff_not_actionable")
    def _inactive(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("tier") == "inactive") == ~pl.col("actionable"))


LEAD_COLUMNS = list(PublishedLead.to_schema().columns)


def published_leads(scored: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """The scored frame reduced to the contract's columns, names and types, sorted by lead_id."""
    renamed = scored.with_columns(
        pl.col("parcel_apn").alias("apn"),
        pl.col("situs_full").alias("situs_address"),
        pl.col("mailing_full").alias("mailing_address"),
        pl.lit(run_id).alias("run_id"),
    )
    return (
        renamed.select(LEAD_COLUMNS)
        .with_columns(
            pl.col("parcel_count", "filing_count", "days_to_auction", "distress_count", "score").cast(
                pl.Int64
            )
        )
        .sort("lead_id")
    )
