"""Contracts at the input boundary: canonical filings and the dimension feeds, after parsing.

Each model lists the canonical columns with their types; `*_parses` checks reject a row whose raw text was
present but did not parse (a bad date, `$1,2x0`), so nothing is silently turned into null.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from schemas.vocabulary import Event

EARLIEST = dt.date(1900, 1, 1)


def _parses(data: pa.PolarsData, field: str) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(f"{field}_raw").is_null() | pl.col(field).is_not_null())


class _Input(pa.DataFrameModel):
    source_line: int = pa.Field(ge=1)

    class Config:
        strict = True  # no unexpected columns after canonicalization
        coerce = False


class StagedFiling(_Input):
    record_id: str = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 64})
    doc_type: str = pa.Field(nullable=False)
    event: str = pa.Field(isin=[e.value for e in Event])
    recorded_date: dt.date = pa.Field(nullable=True, ge=EARLIEST)
    case_number: str = pa.Field(nullable=True)
    apn: str = pa.Field(nullable=True)
    situs_address: str = pa.Field(nullable=True)
    legal_description: str = pa.Field(nullable=True)
    plaintiff: str = pa.Field(nullable=True)
    defendant: str = pa.Field(nullable=True)
    amount_due: float = pa.Field(nullable=True, ge=0)
    sale_date: dt.date = pa.Field(nullable=True, ge=EARLIEST)
    ref_record_id: str = pa.Field(nullable=True)
    ref_doc_type: str = pa.Field(nullable=True)
    original_loan_amount: float = pa.Field(nullable=True, ge=0)
    recorded_date_raw: str = pa.Field(nullable=True)
    amount_due_raw: str = pa.Field(nullable=True)
    sale_date_raw: str = pa.Field(nullable=True)
    original_loan_amount_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="recorded_date_present")
    def _recorded_date_present(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("recorded_date_raw").is_not_null())

    @pa.dataframe_check(name="recorded_date_parses")
    def _recorded_date_parses(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "recorded_date")

    @pa.dataframe_check(name="sale_date_parses")
    def _sale_date_parses(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "sale_date")

    @pa.dataframe_check(name="amount_due_parses")
    def _amount_due_parses(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "amount_due")

    @pa.dataframe_check(name="original_loan_amount_parses")
    def _original_loan_amount_parses(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "original_loan_amount")

    @pa.dataframe_check(name="sale_date_not_before_recording")
    def _sale_after_recording(cls, data: pa.PolarsData) -> pl.LazyFrame:
        # a notice cannot set a sale before the day it was recorded
        return data.lazyframe.select(
            pl.col("sale_date").is_null()
            | pl.col("recorded_date").is_null()
            | (pl.col("sale_date") >= pl.col("recorded_date"))
        )


class _Feed(_Input):
    county_fips: str = pa.Field(nullable=False, str_matches=r"^\d{5}$")
    apn: str = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 40})


class StagedParcel(_Feed):
    situs_address: str = pa.Field(nullable=True)
    situs_city: str = pa.Field(nullable=True)
    situs_state: str = pa.Field(nullable=True)
    situs_zip: str = pa.Field(nullable=True)
    legal_description: str = pa.Field(nullable=True)
    owner_name: str = pa.Field(nullable=True)
    mailing_address: str = pa.Field(nullable=True)
    mailing_city: str = pa.Field(nullable=True)
    mailing_state: str = pa.Field(nullable=True)
    mailing_zip: str = pa.Field(nullable=True)
    homestead: bool = pa.Field(nullable=True)
    assessed_value: float = pa.Field(nullable=True, ge=0)
    assessment_year: int = pa.Field(nullable=True, ge=1900, le=2100)
    last_sale_date: dt.date = pa.Field(nullable=True, ge=EARLIEST)
    last_sale_price: float = pa.Field(nullable=True, ge=0)
    land_use: str = pa.Field(nullable=True)
    homestead_raw: str = pa.Field(nullable=True)
    assessed_value_raw: str = pa.Field(nullable=True)
    assessment_year_raw: str = pa.Field(nullable=True)
    last_sale_date_raw: str = pa.Field(nullable=True)
    last_sale_price_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="homestead_parses")
    def _homestead(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "homestead")

    @pa.dataframe_check(name="assessed_value_parses")
    def _assessed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "assessed_value")

    @pa.dataframe_check(name="last_sale_date_parses")
    def _sale_date(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "last_sale_date")

    @pa.dataframe_check(name="last_sale_price_parses")
    def _sale_price(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "last_sale_price")


class StagedValuation(_Feed):
    avm_value: float = pa.Field(nullable=True, gt=0)
    avm_low: float = pa.Field(nullable=True, ge=0)
    avm_high: float = pa.Field(nullable=True, ge=0)
    confidence: float = pa.Field(nullable=True, ge=0, le=100)
    valuation_date: dt.date = pa.Field(nullable=True, ge=EARLIEST)
    avm_value_raw: str = pa.Field(nullable=True)
    avm_low_raw: str = pa.Field(nullable=True)
    avm_high_raw: str = pa.Field(nullable=True)
    confidence_raw: str = pa.Field(nullable=True)
    valuation_date_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="avm_value_parses")
    def _value(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "avm_value")

    @pa.dataframe_check(name="confidence_parses")
    def _confidence(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "confidence")

    @pa.dataframe_check(name="valuation_date_parses")
    def _date(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "valuation_date")


class StagedLoan(_Feed):
    loan_id: str = pa.Field(nullable=False)
    position: int = pa.Field(nullable=True, ge=1, le=9)
    loan_type: str = pa.Field(nullable=True, isin=["FIRST", "SECOND", "HELOC"])
    lender: str = pa.Field(nullable=True)
    original_amount: float = pa.Field(nullable=True, ge=0)
    interest_rate: float = pa.Field(nullable=True, ge=0, le=30)  # percent per year
    term_months: int = pa.Field(nullable=True, ge=1, le=600)
    origination_date: dt.date = pa.Field(nullable=True, ge=EARLIEST)
    heloc_limit: float = pa.Field(nullable=True, ge=0)
    satisfied_date: dt.date = pa.Field(nullable=True, ge=EARLIEST)
    position_raw: str = pa.Field(nullable=True)
    original_amount_raw: str = pa.Field(nullable=True)
    interest_rate_raw: str = pa.Field(nullable=True)
    term_months_raw: str = pa.Field(nullable=True)
    origination_date_raw: str = pa.Field(nullable=True)
    heloc_limit_raw: str = pa.Field(nullable=True)
    satisfied_date_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="original_amount_parses")
    def _amount(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "original_amount")

    @pa.dataframe_check(name="interest_rate_parses")
    def _rate(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "interest_rate")

    @pa.dataframe_check(name="term_months_parses")
    def _term(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "term_months")

    @pa.dataframe_check(name="origination_date_parses")
    def _orig(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "origination_date")

    @pa.dataframe_check(name="satisfied_date_parses")
    def _satisfied(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "satisfied_date")


class StagedLien(_Feed):
    lien_id: str = pa.Field(nullable=False)
    lien_type: str = pa.Field(nullable=True)
    amount: float = pa.Field(nullable=True, ge=0)
    recorded_date: dt.date = pa.Field(nullable=True, ge=EARLIEST)
    released_date: dt.date = pa.Field(nullable=True, ge=EARLIEST)
    amount_raw: str = pa.Field(nullable=True)
    recorded_date_raw: str = pa.Field(nullable=True)
    released_date_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="amount_parses")
    def _amount(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "amount")

    @pa.dataframe_check(name="recorded_date_parses")
    def _recorded(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "recorded_date")

    @pa.dataframe_check(name="released_date_parses")
    def _released(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "released_date")


class StagedVacancy(_Feed):
    vacant: bool = pa.Field(nullable=True)
    checked_date: dt.date = pa.Field(nullable=True, ge=EARLIEST)
    vacant_raw: str = pa.Field(nullable=True)
    checked_date_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="vacant_parses")
    def _vacant(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "vacant")

    @pa.dataframe_check(name="checked_date_parses")
    def _checked(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "checked_date")


class StagedSuppression(_Input):
    owner_name: str = pa.Field(nullable=True)
    address: str = pa.Field(nullable=True)
    zip: str = pa.Field(nullable=True, str_matches=r"^\d{5}(-?\d{4})?$")
    requested_date: dt.date = pa.Field(nullable=True, ge=EARLIEST)
    requested_date_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="owner_name_or_address_present")
    def _someone(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("owner_name").is_not_null() | pl.col("address").is_not_null())

    @pa.dataframe_check(name="requested_date_parses")
    def _requested(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _parses(data, "requested_date")


MODELS: dict[str, type[_Input]] = {
    "filings": StagedFiling,
    "parcels": StagedParcel,
    "valuations": StagedValuation,
    "loans": StagedLoan,
    "liens": StagedLien,
    "vacancy": StagedVacancy,
    "suppression": StagedSuppression,
}
