"""The synthetic sample generator: determinism, native file shapes, legal timelines, truth consistency."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from leads.sample import COUNTIES, SampleSpec, generate_sample
from leads.sample.cases import KIND_LENDER, simulate_cases
from leads.sample.days import day_number
from leads.sample.render import CA_COLUMNS, FL_COLUMNS, TX_KEYS

SPEC = SampleSpec(parcels_per_county=2000)
H = SPEC.as_of - timedelta(days=SPEC.daily_days)
DELIVERY_DATES = [H + timedelta(days=i) for i in range(SPEC.daily_days + 1)]
FEED_COLUMNS = {
    "vendor_parcels": "county_fips,apn,situs_address,situs_city,situs_state,situs_zip,legal_description,"
    "owner_name,mailing_address,mailing_city,mailing_state,mailing_zip,homestead,assessed_value,"
    "assessment_year,last_sale_date,last_sale_price,land_use",
    "vendor_avm": "county_fips,apn,avm_value,avm_low,avm_high,confidence,valuation_date",
    "vendor_loans": "county_fips,apn,loan_id,position,loan_type,lender,original_amount,interest_rate,"
    "term_months,origination_date,heloc_limit,satisfied_date",
    "vendor_liens": "county_fips,apn,lien_id,lien_type,amount,recorded_date,released_date",
    "usps_vacancy": "county_fips,apn,vacant,checked_date",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate_sample(out, SPEC)
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate_sample(out, SampleSpec(parcels_per_county=2000, messiness=0.0))
    return out


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _filing_files(root: Path, source: str) -> list[Path]:
    county = COUNTIES[source]
    return [
        root / "deliveries" / source / d.isoformat() / county.filing_file.format(date=d)
        for d in DELIVERY_DATES
    ]


def _fl_rows(root: Path) -> list[list[str]]:
    rows = []
    for path in _filing_files(root, "fl_hillsborough"):
        text = path.read_bytes().decode("utf-8")
        rows += [line.split("|") for line in text.split("\r\n") if line]
    return rows


def _ca_rows(root: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in _filing_files(root, "ca_riverside"):
        rows += list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return rows


def _tx_rows(root: Path) -> list[dict]:
    rows: list[dict] = []
    for path in _filing_files(root, "tx_harris"):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return rows


def _date_or_none(text: str, fmt: str) -> date | None:
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        return None


def test_same_spec_gives_byte_identical_files(sample: Path, tmp_path: Path) -> None:
    generate_sample(tmp_path, SPEC)
    first, second = _digests(sample), _digests(tmp_path)
    assert first == second
    assert len(first) == 3 * 3 + 5 * 3 + 3 + 1  # filings, feeds, truth, spec


def test_another_seed_gives_other_files(sample: Path, tmp_path: Path) -> None:
    generate_sample(tmp_path, SampleSpec(parcels_per_county=2000, seed=7))
    first, second = _digests(sample), _digests(tmp_path)
    assert first.keys() == second.keys()
    changed = [k for k in first if first[k] != second[k] and not k.endswith("sample_spec.json")]
    assert len(changed) >= 20


def test_florida_files_are_pipe_delimited_crlf_with_trailing_bar(sample: Path) -> None:
    for path in _filing_files(sample, "fl_hillsborough"):
        data = path.read_bytes()
        lines = data.split(b"\r\n")
        assert lines[-1] == b""  # the file ends with CRLF (or is empty)
        for line in lines[:-1]:
            assert line.endswith(b"|") and b"\n" not in line and b"\r" not in line
            assert line.count(b"|") == len(FL_COLUMNS)
    rows = _fl_rows(sample)
    assert rows
    assert {r[1] for r in rows} >= {"LP", "FJ", "NS", "CT", "RLP", "D", "MTG", "SAT"}
    assert all(r[-1] == "" and r[-2] == "" for r in rows)  # 13th value empty, then the trailing delimiter
    assert all(len(r[6]) <= 50 for r in rows)
    instruments = [r[0] for r in rows if _date_or_none(r[2], "%m/%d/%Y")]
    assert all(len(i) == 10 and i.isdigit() for i in instruments)


def test_california_files_are_csv_with_the_stated_header(sample: Path) -> None:
    for path in _filing_files(sample, "ca_riverside"):
        text = path.read_bytes().decode("utf-8")
        assert "\r" not in text
        assert text.splitlines()[0] == ",".join(CA_COLUMNS)
    rows = _ca_rows(sample)
    assert {r["DocType"] for r in rows} >= {"NOD", "NTS", "NPP", "TDUS", "RESC"}
    assert all(r["TSNumber"].startswith("TS-") for r in rows)
    resc = [r for r in rows if r["DocType"] == "RESC"]
    assert resc and all(r["RefDocNumber"] for r in resc)
    amounts = [r["AmountDue"] for r in rows if r["DocType"] in ("NOD", "NTS")]
    assert all(a.startswith("$") and a[-3] == "." for a in amounts)


def test_texas_files_are_json_lines_with_the_stated_keys(sample: Path) -> None:
    rows = _tx_rows(sample)
    assert rows
    assert all(tuple(r) == TX_KEYS for r in rows)
    shown = [r["hcad_account"] for r in rows if r["hcad_account"] is not None]
    assert 0.4 < len(shown) / len(rows) < 0.8
    assert all(len(a) == 13 and a.isdigit() for a in shown)


def test_dimension_feeds_have_canonical_columns(sample: Path) -> None:
    for source, header in FEED_COLUMNS.items():
        paths = sorted((sample / "deliveries" / source / H.isoformat()).glob("*.csv"))
        assert len(paths) == 3
        for path in paths:
            assert path.read_text(encoding="utf-8").splitlines()[0] == header


def test_texas_sales_are_on_first_tuesdays_21_days_out(sample: Path) -> None:
    for r in _tx_rows(sample):
        sale = date.fromisoformat(r["sale_date"])
        assert sale.weekday() == 1 and sale.day <= 7
        filed = _date_or_none(r["filed"], "%Y-%m-%dT%H:%M:%S")
        assert filed is None or (sale - filed).days >= 21


def test_california_sales_are_at_least_21_days_after_the_notice(sample: Path) -> None:
    notices = [r for r in _ca_rows(sample) if r["DocType"] == "NTS"]
    assert notices
    for r in notices:
        recorded = _date_or_none(r["RecDate"], "%Y-%m-%d")
        assert recorded is None or (date.fromisoformat(r["SaleDate"]) - recorded).days >= 21


def test_florida_sales_are_20_to_35_days_after_judgment(sample: Path) -> None:
    rows = [r for r in _fl_rows(sample) if _date_or_none(r[2], "%m/%d/%Y")]
    judgment = {r[3]: _date_or_none(r[2], "%m/%d/%Y") for r in rows if r[1] == "FJ"}
    first_notice: dict[str, list[str]] = {}
    for r in sorted((r for r in rows if r[1] == "NS"), key=lambda r: r[0]):
        first_notice.setdefault(r[3], r)
    checked = 0
    for case_number, fj in judgment.items():
        ns = first_notice.get(case_number)
        if fj is None or ns is None:
            continue
        recorded = _date_or_none(ns[2], "%m/%d/%Y")
        sale = _date_or_none(ns[9], "%m/%d/%Y")
        assert recorded is not None and sale is not None
        assert 0 <= (recorded - fj).days <= 5
        assert 20 <= (sale - fj).days <= 35
        checked += 1
    assert checked > 0


def test_truth_parcels_exist_in_the_roll(sample: Path) -> None:
    filings = pl.read_csv(sample / "truth" / "filings.csv", infer_schema=False)
    cases = pl.read_csv(sample / "truth" / "cases.csv", infer_schema=False)
    for county in COUNTIES.values():
        roll = pl.read_csv(
            sample / "deliveries" / "vendor_parcels" / H.isoformat() / f"parcels_{county.fips}.csv",
            infer_schema=False,
        )
        assert roll["apn"].str.len_chars().unique().to_list() == [county.apn_digits]
        for table in (filings, cases):
            apns = table.filter(pl.col("county_fips") == county.fips)["apn"]
            assert apns.len() > 0 and apns.is_in(roll["apn"].implode()).all()
    assert set(filings["case_id"]) == set(cases["case_id"])


def test_truth_lists_every_delivered_foreclosure_row(sample: Path) -> None:
    filings = pl.read_csv(sample / "truth" / "filings.csv", infer_schema=False)
    per_source = dict(filings.group_by("source").len().iter_rows())
    fl = [r for r in _fl_rows(sample) if r[1] in ("LP", "FJ", "NS", "CT", "RLP")]
    assert per_source == {
        "fl_hillsborough": len(fl),
        "ca_riverside": len(_ca_rows(sample)),
        "tx_harris": len(_tx_rows(sample)),
    }


def test_foreclosed_parcels_have_an_open_first_loan_from_the_plaintiff(sample: Path) -> None:
    cases = pl.read_csv(sample / "truth" / "cases.csv", infer_schema=False).filter(
        pl.col("is_mortgage_foreclosure") == "true"
    )
    loans = pl.concat(
        pl.read_csv(path, infer_schema=False)
        for path in sorted((sample / "deliveries" / "vendor_loans" / H.isoformat()).glob("*.csv"))
    )
    open_firsts = loans.filter((pl.col("loan_type") == "FIRST") & pl.col("satisfied_date").is_null())
    matched = cases.join(
        open_firsts.select("county_fips", "apn", loan_lender="lender"),
        on=["county_fips", "apn"],
        how="left",
    )
    found = matched.group_by("case_id", "loan_in_feed").agg(
        ok=(pl.col("lender") == pl.col("loan_lender")).any()
    )
    in_feed = found.filter(pl.col("loan_in_feed") == "true")
    assert in_feed["ok"].fill_null(False).all()
    trap = found.filter(pl.col("loan_in_feed") == "false")
    assert trap.height / found.height < 0.15
    trap_parcels = cases.filter(pl.col("loan_in_feed") == "false").select("county_fips", "apn")
    assert trap_parcels.join(loans, on=["county_fips", "apn"]).height == 0  # no loan rows at all


def test_statuses_and_events_use_the_shared_vocabulary(sample: Path) -> None:
    cases = pl.read_csv(sample / "truth" / "cases.csv", infer_schema=False)
    events = pl.read_csv(sample / "truth" / "case_events.csv", infer_schema=False)
    statuses = {
        "active",
        "judgment",
        "sale_scheduled",
        "postponed",
        "sold",
        "cancelled",
        "sale_date_passed_unknown",
    }
    assert set(cases["status"]) <= statuses
    assert set(cases["outcome"]) <= {"sold", "cancelled", "pending"}
    canonical = {"LIS_PENDENS", "NOTICE_OF_DEFAULT", "FINAL_JUDGMENT", "NOTICE_OF_SALE", "POSTPONEMENT"}
    canonical |= {"RELEASE", "SALE_RESULT"}
    assert set(events["event"]) <= canonical | {"DEFAULT", "AUCTION_SOLD", "CURED"}
    tx = cases.filter(pl.col("source") == "tx_harris")
    assert "sold" not in set(tx["status"])  # sales are invisible in the Texas source


def test_clean_sample_has_no_defects(clean: Path) -> None:
    filings = pl.read_csv(clean / "truth" / "filings.csv", infer_schema=False)
    assert filings["defect"].is_null().all()
    assert all(_date_or_none(r[2], "%m/%d/%Y") for r in _fl_rows(clean))
    assert all(_date_or_none(r["RecDate"], "%Y-%m-%d") for r in _ca_rows(clean))
    assert all(_date_or_none(r["filed"], "%Y-%m-%dT%H:%M:%S") for r in _tx_rows(clean))
    cases = pl.read_csv(clean / "truth" / "cases.csv", infer_schema=False)
    assert (cases["loan_in_feed"] == "true").all()


def test_messy_sample_has_quarantinable_rows(sample: Path) -> None:
    summary = generate_sample(sample.parent / "messy", SampleSpec(parcels_per_county=2000, messiness=20.0))
    assert sum(c["malformed_rows"] for c in summary["counties"].values()) > 0
    assert sum(c["duplicate_rows"] for c in summary["counties"].values()) > 0


def test_spec_is_recorded(sample: Path) -> None:
    spec = json.loads((sample / "sample_spec.json").read_text(encoding="utf-8"))
    assert spec["as_of"] == "2026-11-27" and spec["parcels_per_county"] == 2000
    assert list(spec) == sorted(spec)


def test_bad_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown counties"):
        SampleSpec(counties=("zz_nowhere",))
    with pytest.raises(ValueError):
        SampleSpec(messiness=-1)


def _recent_lender_filings(history_days: int) -> int:
    """Mortgage foreclosures filed in the last 365 days of a 60,000-parcel county with that much history."""
    county = COUNTIES["fl_hillsborough"]
    as_of = day_number(SPEC.as_of)
    world = np.random.default_rng(7)
    first_orig_day = as_of - world.integers(0, 15 * 365, 60_000)  # open first loans, originated over 15 years
    land_use = np.zeros(60_000, dtype=np.int64)
    batch = simulate_cases(
        np.random.default_rng(1), county, land_use, first_orig_day, as_of - history_days, as_of
    )
    return int(((batch.kind == KIND_LENDER) & (batch.start > as_of - 365)).sum())


def test_the_recent_filing_rate_does_not_depend_on_the_history_length() -> None:
    """A longer history adds older filings, not more recent ones (a steady filing rate)."""
    one_year, four_years = _recent_lender_filings(365), _recent_lender_filings(4 * 365)
    assert one_year > 200
    assert abs(four_years - one_year) / one_year < 0.15, (one_year, four_years)
