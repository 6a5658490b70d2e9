"""The synthetic counties: real FIPS codes (so state rules apply), made-up records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Process = Literal["judicial", "notice_of_default", "sale_notice"]


@dataclass(frozen=True)
class County:
    """One county the generator can simulate and how its foreclosures run."""

    source_id: str
    fips: str
    state: str
    name: str
    process: Process  # judicial (FL lis pendens), notice_of_default (CA NOD), sale_notice (TX notices only)
    seed_index: int  # stable forever: per-county random streams derive from (seed, seed_index, stream)
    apn_digits: int  # roll form of the parcel id
    case_rate: float  # new foreclosure cases per parcel per year
    lead_in_days: int  # a case can start this long before the history window and still file inside it
    median_value: int  # typical single-family market value on as_of, USD
    filing_file: str  # name of one delivery file; formatted with date=the delivery date


COUNTIES: dict[str, County] = {
    c.source_id: c
    for c in (
        County(
            source_id="fl_hillsborough",
            fips="12057",
            state="FL",
            name="Hillsborough",
            process="judicial",
            seed_index=0,
            apn_digits=10,
            case_rate=0.008,
            lead_in_days=480,
            median_value=390_000,
            filing_file="OR_{date:%Y%m%d}.txt",
        ),
        County(
            source_id="ca_riverside",
            fips="06065",
            state="CA",
            name="Riverside",
            process="notice_of_default",
            seed_index=1,
            apn_digits=9,
            case_rate=0.006,
            lead_in_days=330,
            median_value=580_000,
            filing_file="riverside_foreclosure_{date:%Y-%m-%d}.csv",
        ),
        County(
            source_id="tx_harris",
            fips="48201",
            state="TX",
            name="Harris",
            process="sale_notice",
            seed_index=2,
            apn_digits=13,
            case_rate=0.008,
            lead_in_days=150,
            median_value=300_000,
            filing_file="harris_fc_{date:%Y-%m-%d}.jsonl",
        ),
    )
}
