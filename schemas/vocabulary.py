"""Canonical vocabularies shared by configs, transforms and the published contract."""

from __future__ import annotations

from enum import StrEnum


class Event(StrEnum):
    """Canonical foreclosure document events (see ../shared/reference/domain.md)."""

    LIS_PENDENS = "LIS_PENDENS"
    NOTICE_OF_DEFAULT = "NOTICE_OF_DEFAULT"
    FINAL_JUDGMENT = "FINAL_JUDGMENT"
    NOTICE_OF_SALE = "NOTICE_OF_SALE"
    POSTPONEMENT = "POSTPONEMENT"
    RELEASE = "RELEASE"
    SALE_RESULT = "SALE_RESULT"
    IGNORE = "IGNORE"


FORECLOSURE_EVENTS = [e.value for e in Event if e is not Event.IGNORE]

# Lifecycle of a case, derived from its ordered events.
STATUSES = [
    "active",
    "judgment",
    "sale_scheduled",
    "postponed",
    "sold",
    "cancelled",
    "stale",
    "sale_date_passed_unknown",
]
ACTIONABLE_STATUSES = ["active", "judgment", "sale_scheduled", "postponed"]

TIERS = ["A", "B", "C", "D", "inactive"]
STRATEGIES = ["standard_purchase", "tight_subject_to", "short_sale_creative", "unknown"]
OCCUPANCY = ["owner_occupied", "absentee", "vacant", "unknown"]

# Canonical fields a filings source may map (config `fields:`); record_id, doc_type and recorded_date are required.
FILING_FIELDS = [
    "record_id",
    "doc_type",
    "recorded_date",
    "case_number",
    "apn",
    "situs_address",
    "legal_description",
    "plaintiff",
    "defendant",
    "amount_due",
    "sale_date",
    "ref_record_id",
    "ref_doc_type",
    "original_loan_amount",
]
REQUIRED_FILING_FIELDS = ["record_id", "doc_type", "recorded_date"]

# Dimension feeds: canonical columns per kind (vendors deliver these shapes; config maps names).
FEED_FIELDS: dict[str, list[str]] = {
    "parcels": [
        "county_fips",
        "apn",
        "situs_address",
        "situs_city",
        "situs_state",
        "situs_zip",
        "legal_description",
        "owner_name",
        "mailing_address",
        "mailing_city",
        "mailing_state",
        "mailing_zip",
        "homestead",
        "assessed_value",
        "assessment_year",
        "last_sale_date",
        "last_sale_price",
        "land_use",
    ],
    "valuations": ["county_fips", "apn", "avm_value", "avm_low", "avm_high", "confidence", "valuation_date"],
    "loans": [
        "county_fips",
        "apn",
        "loan_id",
        "position",
        "loan_type",
        "lender",
        "original_amount",
        "interest_rate",
        "term_months",
        "origination_date",
        "heloc_limit",
        "satisfied_date",
    ],
    "liens": ["county_fips", "apn", "lien_id", "lien_type", "amount", "recorded_date", "released_date"],
    "vacancy": ["county_fips", "apn", "vacant", "checked_date"],
    # do-not-contact / opt-out requests: by owner name and/or address
    "suppression": ["owner_name", "address", "zip", "requested_date"],
}

# How each canonical field is parsed from the raw text (everything arrives as text first).
DATE_FIELDS = {
    "recorded_date",
    "sale_date",
    "last_sale_date",
    "valuation_date",
    "origination_date",
    "satisfied_date",
    "released_date",
    "checked_date",
    "requested_date",
}
MONEY_FIELDS = {  # US dollars
    "amount_due",
    "original_loan_amount",
    "assessed_value",
    "last_sale_price",
    "avm_value",
    "avm_low",
    "avm_high",
    "original_amount",
    "heloc_limit",
    "amount",
}
FLOAT_FIELDS = {"interest_rate", "confidence"}  # interest_rate in percent per year; confidence 0-100
INT_FIELDS = {"position", "term_months", "assessment_year"}
FLAG_FIELDS = {"homestead", "vacant"}  # Y/N, true/false, 1/0
