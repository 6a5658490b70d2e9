"""The incremental case build gives the same case tables as a full build, night after night.

Random nights of filings (case numbers in several spellings, references to records not delivered yet, late
and future-dated recordings, corrected re-deliveries, lenders re-posting within and beyond the grouping
window) are staged into two state databases: one builds its case tables incrementally, the other in full.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from leads import feeds
from leads.case_tables import build_cases
from leads.db import registered, state_db
from leads.pipeline import ensure_staged_tables, load_reference
from leads.settings import Settings
from schemas.vocabulary import Event

START = dt.date(2023, 1, 2)
APNS = [f"P{n:02d}" for n in range(1, 9)]
EVENTS = [e.value for e in Event if e is not Event.IGNORE]
NUMBERS = [None, None, None, None, "26-CA-1", "26-ca-1 ", "26-CA-2", "25-CA-9", "  "]
LENDERS = ["BANK A", "Bank A, N.A.", "BANK B", "HOA C", None]


def _parcels(version: int) -> pl.DataFrame:
    """A small roll: two parcels share a street line (ambiguous), one owner mails to another's street line.
    `version` 2 moves a legal description, so matches can change."""
    rows = []
    for i, apn in enumerate(APNS):
        street = "1 MAIN ST" if i in (0, 1) else f"{i} OAK AVE"
        rows.append(
            {
                "county_fips": "12057",
                "apn": apn,
                "apn_key": apn,
                "legal_key": f"LOT {i if version == 1 or i != 3 else 7}",
                "street_key": street,
                "mailing_key": "5 OAK AVE" if i == 2 else street,
                "source": "vendor_parcels",
                "file": "roll.csv",  # a corrected roll keeps its name and its row count
                "delivery_date": START,
            }
        )
    return pl.DataFrame(rows)


def _filing(rng: random.Random, n: int, night: int, as_of: dt.date) -> dict:
    lag = rng.choice([0, 0, 0, 1, 2, 9, 40, 200])
    recorded = as_of - dt.timedelta(days=lag)
    if rng.random() < 0.06:  # recorded after the as-of date: enters the case tables on a later night
        recorded = as_of + dt.timedelta(days=rng.randint(1, 20))
    refers = rng.random() < 0.25
    event = rng.choice(EVENTS)
    # sale notices and postponements mostly name the sale date (which later nights then pass)
    dated = rng.random() < (0.8 if event in ("NOTICE_OF_SALE", "POSTPONEMENT") else 0.1)
    return {
        "source": "fl_test",
        "county_fips": "12057",
        "state": "FL",
        "record_id": f"R{n:04d}",
        "doc_type": "DOC",
        "event": event,
        "recorded_date": recorded,
        "case_number": rng.choice(NUMBERS),
        "apn": None,
        "situs_address": rng.choice([None, "1 Main St"]),
        "legal_description": None,
        "plaintiff": rng.choice(LENDERS),
        "defendant": rng.choice([None, "DOE JOHN"]),
        "amount_due": rng.choice([None, 1000.0 * rng.randint(50, 300)]),
        "sale_date": recorded + dt.timedelta(days=rng.randint(-10, 60)) if dated else None,
        # references go back, or forward to records delivered on later nights
        "ref_record_id": f"R{rng.randint(0, n + 6):04d}" if refers else None,
        "original_loan_amount": None,
        "file": f"night-{night}.csv",
        "delivery_date": as_of,
        "apn_key": rng.choice([*APNS, None, None, "P99"]),
        "legal_key": rng.choice([None, None, "LOT 3", "LOT 7"]),
        "street_key": rng.choice([None, "1 MAIN ST", "4 OAK AVE", "5 OAK AVE"]),
    }


def _corrected(rng: random.Random, row: dict, night: int, as_of: dt.date) -> dict:
    """A re-delivery of `row` with one or two fields changed."""
    fixed = dict(row, file=f"night-{night}-fix.csv", delivery_date=as_of)
    for field in rng.sample(["case_number", "plaintiff", "ref_record_id", "apn_key", "recorded_date"], 2):
        if field == "recorded_date":
            fixed[field] = row["recorded_date"] - dt.timedelta(days=rng.randint(0, 250))
        elif field == "ref_record_id":
            fixed[field] = rng.choice([None, f"R{rng.randint(0, 40):04d}"])
        elif field == "apn_key":
            fixed[field] = rng.choice([*APNS, None])
        else:
            fixed[field] = rng.choice(NUMBERS if field == "case_number" else LENDERS)
    return fixed


def _stage(con: duckdb.DuckDBPyConnection, filings: list[dict], roll: pl.DataFrame | None) -> None:
    """Upsert the night's rows as staging does (a record's newer delivery replaces it)."""
    frame = pl.DataFrame(filings, infer_schema_length=None)
    with registered(con, incoming=frame):
        con.execute(
            "DELETE FROM staged_filings s USING incoming i WHERE s.source = i.source AND s.record_id = i.record_id"
        )
        con.execute("INSERT INTO staged_filings BY NAME SELECT * FROM incoming")
    if roll is not None:  # staged as landing and staging record it: a manifest row with the file's sha256
        digest = hashlib.sha256(roll.write_csv().encode()).hexdigest()
        # the roll replaces the whole feed (its resolved Parquet file, see leads/feeds.py)
        con.execute("DELETE FROM feed_files WHERE kind = 'parcels'")
        feeds.upserted(con, "parcels", "vendor_parcels", roll, ["county_fips", "apn"])
        con.execute(
            "INSERT INTO raw_manifest VALUES ('vendor_parcels', ?, 'roll.csv', 'raw/x', ?, 1, ?, now(), 'r', "
            "'staged', NULL)",
            [START, digest, roll.height],
        )


def _tables(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        con.sql("SELECT * FROM case_filings ORDER BY source, record_id").pl(),
        con.sql("SELECT * FROM cases ORDER BY case_id").pl(),
    )


def _state(path: Path) -> tuple[Settings, duckdb.DuckDBPyConnection]:
    settings = Settings(data_dir=path)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.state_db))
    return settings, con


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_nights_give_the_tables_of_a_full_build(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    incremental = Settings(data_dir=tmp_path / "incremental")
    full = Settings(data_dir=tmp_path / "full")
    rows: dict[str, dict] = {}
    as_of, n, took_the_short_path = START, 0, 0
    with state_db(incremental) as inc, state_db(full) as ref:
        for con, settings in ((inc, incremental), (ref, full)):
            ensure_staged_tables(con)
            load_reference(con, settings)
        for night in range(28):
            as_of += dt.timedelta(days=rng.choice([1, 1, 3, 20, 60, 150]))
            delivered = []
            for _ in range(rng.randint(1, 6)):
                delivered.append(_filing(rng, n, night, as_of))
                n += 1
            for old in rng.sample(sorted(rows), min(len(rows), rng.randint(0, 2))):
                delivered.append(_corrected(rng, rows[old], night, as_of))
            rows |= {r["record_id"]: r for r in delivered}
            # night 17: the roll re-delivered corrected, under the same name with as many rows
            roll = _parcels(1) if night == 0 else _parcels(2) if night == 17 else None
            for con in (inc, ref):
                _stage(con, delivered, roll)
            counts = build_cases(inc, incremental, as_of)
            expected = build_cases(ref, full, as_of, full=True)

            inc_filings, inc_cases = _tables(inc)
            ref_filings, ref_cases = _tables(ref)
            assert_frame_equal(inc_filings, ref_filings)
            assert_frame_equal(inc_cases, ref_cases)
            assert {k: counts[k] for k in ("filings", "filings_matched", "cases")} == {
                k: expected[k] for k in ("filings", "filings_matched", "cases")
            }
            if night not in (0, 17):
                took_the_short_path += counts["cases_recomputed"] < counts["cases"]
            else:  # no previous build, then a new parcel roll: every case is derived again
                assert counts["cases_recomputed"] == counts["cases"]
    assert took_the_short_path >= 15  # the comparison above is of the incremental path, not a full fallback
