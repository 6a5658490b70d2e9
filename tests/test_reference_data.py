"""Checks on the committed reference data in data/reference (state rules, PMMS, ZHVI)."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
STATE_RULES = REF / "state_rules.csv"
PMMS = REF / "pmms_30y_weekly.csv"
ZHVI = REF / "zhvi_county_monthly.csv"

STATE_RULES_COLUMNS = [
    "state",
    "process",
    "first_event",
    "sale_calendar",
    "min_days_first_filing_to_sale",
    "min_days_notice_of_sale_to_sale",
    "days_judgment_to_sale_min",
    "days_judgment_to_sale_max",
    "typical_days_first_filing_to_sale",
    "max_days_default_to_sale",
    "stale_after_days",
    "source",
    "notes",
]
INT_COLUMNS = STATE_RULES_COLUMNS[4:11]

STATES_AND_DC = set(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split()
)

# Nolo's chart as quoted in /work/shared/reference/domain.md ("State timelines").
NOLO_JUDICIAL = set(
    "CT DE DC FL HI IL IN IA KS KY LA ME NJ NM NY ND OH OK PA SC VT WI".split()  # HI: both common
)
NOLO_NON_JUDICIAL = set(
    "AL AK AZ AR CA CO GA ID MD MA MI MN MS MO MT NE NV NH NC OR RI SD TN TX UT VA WA WV WY".split()
)

# Fannie Mae maximum days default -> sale, from domain.md (2018-12-19 exhibit; dagger = c.2016).
FANNIE_MAE_MAX = {
    "CA": 480, "TX": 390, "FL": 810, "GA": 330, "AZ": 450, "NV": 930, "CO": 450, "WA": 540, "OR": 960,
    "MI": 300, "TN": 300, "IL": 600, "NY": 1740, "NJ": 1530, "AL": 420, "AK": 480, "AR": 420, "CT": 660,
    "DE": 720, "DC": 1230, "HI": 900, "ID": 630, "NE": 480, "NH": 480, "NM": 930, "NC": 420, "ND": 630,
    "OH": 510, "OK": 570, "PA": 690, "IN": 510, "IA": 540, "KS": 480, "KY": 510, "LA": 540, "ME": 1050,
    "MD": 570, "MA": 930, "MN": 390, "MS": 360, "MO": 330, "MT": 420, "RI": 720, "SC": 540, "SD": 510,
    "UT": 420, "VT": 870, "VA": 360, "WV": 390, "WI": 510, "WY": 360,
}  # fmt: skip

# ATTOM average days to foreclose from domain.md (used for `typical` only when <= the Fannie Mae max).
ATTOM_AVG = {"TX": 246, "FL": 1138, "GA": 1170, "NV": 1511, "WA": 1002, "OR": 283, "NY": 1103, "NJ": 1173}

# Non-judicial states whose first public document is the notice of sale (no recorded NOD); see state_rules.md.
NOTICE_OF_SALE_FIRST = set("TX AZ WA GA AL MS TN MO MI MA RI NH VA WV WY SD MT".split())
# Quasi-judicial MD starts with an order to docket in circuit court.
LIS_PENDENS_FIRST_NON_JUDICIAL = {"MD"}

ZHVI_COUNTIES = {
    "12057", "06065", "48201", "12011", "42003", "48355", "17031", "36061", "36047", "36081", "36005",
    "36085", "13121", "04013", "08031", "53033",
}  # fmt: skip


def _int_or_none(value: str) -> int | None:
    return int(value) if value.strip() else None


@pytest.fixture(scope="module")
def rules() -> dict[str, dict]:
    with STATE_RULES.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == STATE_RULES_COLUMNS
        raw = list(reader)
    out: dict[str, dict] = {}
    for row in raw:
        assert row["state"] not in out, f"duplicate state {row['state']}"
        parsed = dict(row)
        for col in INT_COLUMNS:
            parsed[col] = _int_or_none(row[col])
        out[row["state"]] = parsed
    return out


# --- state_rules.csv -------------------------------------------------------------------------------------


def test_51_unique_states(rules):
    assert len(rules) == 51
    assert set(rules) == STATES_AND_DC


def test_enumerated_values_valid(rules):
    for st, r in rules.items():
        assert r["process"] in {"judicial", "non_judicial"}, st
        assert r["first_event"] in {"LIS_PENDENS", "NOTICE_OF_DEFAULT", "NOTICE_OF_SALE"}, st
        assert r["sale_calendar"] in {"first_tuesday", "any_weekday"}, st
        assert r["source"].strip() and r["notes"].strip(), st


def test_process_matches_nolo_list_in_domain_md(rules):
    assert NOLO_JUDICIAL | NOLO_NON_JUDICIAL == STATES_AND_DC
    assert not NOLO_JUDICIAL & NOLO_NON_JUDICIAL
    for st in NOLO_JUDICIAL:
        assert rules[st]["process"] == "judicial", st
    for st in NOLO_NON_JUDICIAL:
        assert rules[st]["process"] == "non_judicial", st


def test_first_event_follows_process_with_documented_exceptions(rules):
    for st, r in rules.items():
        if r["process"] == "judicial":
            expected = "LIS_PENDENS"
        elif st in NOTICE_OF_SALE_FIRST:
            expected = "NOTICE_OF_SALE"
        elif st in LIS_PENDENS_FIRST_NON_JUDICIAL:
            expected = "LIS_PENDENS"
        else:
            expected = "NOTICE_OF_DEFAULT"
        assert r["first_event"] == expected, st
    assert rules["TX"]["first_event"] == "NOTICE_OF_SALE"
    assert rules["AZ"]["first_event"] == "NOTICE_OF_SALE"
    assert rules["CA"]["first_event"] == "NOTICE_OF_DEFAULT"


def test_first_tuesday_states(rules):
    assert rules["TX"]["sale_calendar"] == "first_tuesday"
    assert rules["GA"]["sale_calendar"] == "first_tuesday"
    assert {st for st, r in rules.items() if r["sale_calendar"] == "first_tuesday"} == {"TX", "GA"}


def test_domain_md_numeric_facts(rules):
    assert rules["CA"]["min_days_notice_of_sale_to_sale"] == 20  # NTS >= 20 days before sale
    assert rules["AZ"]["min_days_notice_of_sale_to_sale"] == 91  # sale on/after the 91st day
    assert rules["AZ"]["min_days_first_filing_to_sale"] == 91
    assert rules["CO"]["min_days_first_filing_to_sale"] == 110  # 110-125 days after the NED
    assert rules["OR"]["min_days_notice_of_sale_to_sale"] == 120  # ORS 86.764
    assert rules["OR"]["min_days_first_filing_to_sale"] == 120
    assert rules["FL"]["days_judgment_to_sale_min"] == 20  # Fla. Stat. 45.031
    assert rules["FL"]["days_judgment_to_sale_max"] == 35
    assert rules["TX"]["min_days_notice_of_sale_to_sale"] == 21  # Prop. Code 51.002
    assert rules["TX"]["min_days_first_filing_to_sale"] == 21
    assert rules["WA"]["min_days_notice_of_sale_to_sale"] == 90
    assert rules["NV"]["min_days_notice_of_sale_to_sale"] == 15
    assert rules["MI"]["min_days_notice_of_sale_to_sale"] == 28
    assert rules["TN"]["min_days_notice_of_sale_to_sale"] == 20
    assert rules["NJ"]["min_days_notice_of_sale_to_sale"] == 21
    assert rules["IL"]["min_days_notice_of_sale_to_sale"] == 21
    assert rules["NY"]["days_judgment_to_sale_max"] == 90
    # CA: NOD -> >= 3 months (shortest 89 days) -> NTS >= 20 days.
    assert rules["CA"]["min_days_first_filing_to_sale"] == 89 + 20


def test_fannie_mae_maxima(rules):
    assert set(FANNIE_MAE_MAX) == STATES_AND_DC
    for st, expected in FANNIE_MAE_MAX.items():
        assert rules[st]["max_days_default_to_sale"] == expected, st


def test_floor_typical_max_ordering(rules):
    for st, r in rules.items():
        floor, typical, mx = (
            r["min_days_first_filing_to_sale"],
            r["typical_days_first_filing_to_sale"],
            r["max_days_default_to_sale"],
        )
        assert floor is not None and typical is not None and mx is not None, st
        assert 0 < floor <= typical <= mx, st


def test_notice_and_judgment_columns_consistent(rules):
    for st, r in rules.items():
        nos = r["min_days_notice_of_sale_to_sale"]
        floor = r["min_days_first_filing_to_sale"]
        if nos is not None:
            assert 0 < nos <= floor, st
        if r["first_event"] == "NOTICE_OF_SALE":
            assert nos == floor, st
        jmin, jmax = r["days_judgment_to_sale_min"], r["days_judgment_to_sale_max"]
        if r["process"] == "non_judicial":
            assert jmin is None and jmax is None, st
        if jmin is not None and jmax is not None:
            assert jmin <= jmax, st
        if jmin is not None:
            assert jmin < floor, st


def test_typical_rule(rules):
    for st, r in rules.items():
        mx = r["max_days_default_to_sale"]
        if st in ATTOM_AVG and ATTOM_AVG[st] <= mx:
            expected = ATTOM_AVG[st]
        else:
            expected = round(0.6 * mx)
        assert r["typical_days_first_filing_to_sale"] == expected, st


def test_stale_rule(rules):
    for st, r in rules.items():
        if r["first_event"] == "NOTICE_OF_SALE":
            nos = r["min_days_notice_of_sale_to_sale"]
            expected = 120 if nos <= 30 else nos + 120
        else:
            base = 540 if r["process"] == "judicial" else 365
            expected = max(base, int(math.ceil(r["max_days_default_to_sale"] / 2 / 30) * 30))
        assert r["stale_after_days"] == expected, st
    assert rules["TX"]["stale_after_days"] == 120


def test_state_rules_md_version():
    text = (REF / "state_rules.md").read_text(encoding="utf-8")
    assert "version: 2026-11-28.1" in text


# --- pmms_30y_weekly.csv ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pmms() -> pl.DataFrame:
    return pl.read_csv(PMMS, schema={"week_date": pl.String, "rate_pct": pl.Float64})


def test_pmms_shape_and_dates(pmms):
    assert pmms.columns == ["week_date", "rate_pct"]
    assert pmms["week_date"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    dates = pmms["week_date"].str.to_date("%Y-%m-%d")
    assert dates.is_sorted() and dates.is_unique().all()
    assert dates.min() == dt.date(1971, 4, 2)
    assert pmms.height > 2800


def test_pmms_no_gaps_after_1972(pmms):
    dates = pmms["week_date"].str.to_date("%Y-%m-%d")
    recent = dates.filter(dates >= dt.date(1972, 1, 1))
    gaps = recent.diff().dt.total_days().drop_nulls()
    assert gaps.max() <= 14


def test_pmms_rates_in_range(pmms):
    assert pmms["rate_pct"].null_count() == 0
    assert ((pmms["rate_pct"] > 1) & (pmms["rate_pct"] < 20)).all()


# --- zhvi_county_monthly.csv -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zhvi() -> pl.DataFrame:
    return pl.read_csv(ZHVI, schema={"county_fips": pl.String, "month": pl.String, "zhvi": pl.Float64})


def test_zhvi_counties_and_fips(zhvi):
    assert zhvi.columns == ["county_fips", "month", "zhvi"]
    assert zhvi["county_fips"].str.contains(r"^\d{5}$").all()
    assert set(zhvi["county_fips"].unique().to_list()) == ZHVI_COUNTIES


def test_zhvi_months_and_values(zhvi):
    months = zhvi["month"].str.to_date("%Y-%m-%d")
    assert (months == months.dt.month_end()).all()
    assert months.min() == dt.date(2000, 1, 31)
    assert months.max() >= dt.date(2022, 2, 28)
    assert zhvi.select("county_fips", "month").is_unique().all()
    assert zhvi["zhvi"].null_count() == 0
    assert (zhvi["zhvi"] > 0).all()
