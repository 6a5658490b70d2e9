"""The case tables of the state database (case_filings, cases): rebuilt in full, or only where filings changed.

A night brings a few hundred filings; the history holds years of them. The incremental build regroups only the
cases the changed filings can reach and re-derives the lifecycle of those and of the cases still open, so its
cost follows the night's filings and the open cases, not the history. It gives the same tables as a full
build (tests/test_case_tables.py replays nights with late and corrected deliveries against full builds):

- a filing's parcel match depends only on the filing and the parcel roll, so stored matches are kept;
- a case's key depends only on its filings, the case numbers of the filings they reference, and the other
  filings of its window group (transforms/cases.case_filings), so regrouping the changed filings with the
  stored cases that share a case key, a window group or a reference with them, until no further stored case
  is reached, regroups exactly what a full build would change;
- a case in a final status (FINAL_STATUSES) keeps it as the as-of date moves on, unless a filing changes it;
  an open case whose filings did not change only moves by the date-driven rules (`advanced_statuses`).

A full build runs when there is no previous build, when the as-of date is earlier than the last build's, or
when anything else the tables derive from changed since: the grouping and matching code, the window, the
states' stale-after rules, or the parcel roll (a new roll can move any filing's match).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl

import schemas
import transforms
from leads.db import is_table, registered, sql_text, transaction
from leads.settings import Settings
from transforms.cases import (
    FINAL_STATUSES,
    advanced_statuses,
    case_filings,
    case_lifecycles,
    has_case_number,
    stable_ids,
)
from transforms.matching import matched_filings

# Grouping window for filings without a case number (parcel + lender): a re-posted notice within this many
# days of the previous one belongs to the same case.
CASE_WINDOW_DAYS = 180

_META_KEY = "case_tables"
# Any change to the transforms or the schemas (vocabularies) builds in full once: deploys are rare, and a
# list of the modules grouping depends on would miss the next helper it imports.
_CODE = [
    *sorted(Path(transforms.__file__).parent.glob("*.py")),
    *sorted(Path(schemas.__file__).parent.glob("*.py")),
    Path(__file__),
]
_SQL = [
    "filings_to_match",
    "parcel_candidates",
    "filings_changed",
    "case_filings_outdated",
    "cases_referencing",
    "cases_sharing",
    "case_filings_of",
    "referenced_filings",
    "open_cases",
    "case_filings_rows",
]


def build_cases(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date, full: bool = False
) -> dict[str, int]:
    """Match staged filings to parcels, group them into cases, derive each case's lifecycle on `as_of`; in
    full when `full` or when the last build cannot be carried forward, else only where filings changed."""
    inputs = _inputs_fingerprint(con, settings)
    stale_after = con.sql("SELECT state, stale_after_days FROM ref_state_rules").pl()
    last = _last_build(con)
    if full or last is None or last["inputs"] != inputs or as_of < dt.date.fromisoformat(last["as_of"]):
        recomputed = _rebuilt_in_full(con, settings, as_of, stale_after, inputs)
    else:
        recomputed = _rebuilt_where_changed(con, settings, as_of, stale_after, inputs)
    filings, matched = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE match_method <> 'none') FROM case_filings"
    ).fetchall()[0]
    cases = con.execute("SELECT count(*) FROM cases").fetchall()[0][0]
    return {"filings": filings, "filings_matched": matched, "cases": cases, "cases_recomputed": recomputed}


def _inputs_fingerprint(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """A digest of everything but the filings that the case tables derive from."""
    digest = hashlib.sha256(f"window={CASE_WINDOW_DAYS}".encode())
    for path in [*_CODE, *(settings.sql_dir / f"{name}.sql" for name in _SQL)]:
        digest.update(path.read_bytes())
    rules = con.execute("SELECT state, stale_after_days FROM ref_state_rules ORDER BY state").fetchall()
    # the roll by the content of every delivery staged into it (a corrected re-delivery keeps its file name)
    roll = con.execute(
        "SELECT source, delivery_date, file_name, sha256 FROM raw_manifest WHERE status = 'staged' "
        "AND source IN (SELECT source FROM feed_files WHERE kind = 'parcels') ORDER BY ALL"
    ).fetchall()
    digest.update(repr((rules, roll)).encode())
    return digest.hexdigest()


def _last_build(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The last build's as-of date and inputs digest, when its tables are still there."""
    found = con.execute("SELECT value FROM meta WHERE key = ?", [_META_KEY]).fetchall()
    kept = is_table(con, "case_filings") and is_table(con, "cases")
    return json.loads(found[0][0]) if found and kept else None


def _record_build(con: duckdb.DuckDBPyConnection, as_of: dt.date, inputs: str) -> None:
    value = json.dumps({"as_of": as_of.isoformat(), "inputs": inputs})
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_META_KEY, value])


def _matched(con: duckdb.DuckDBPyConnection, settings: Settings, filings: pl.DataFrame) -> pl.DataFrame:
    """`filings` placed on parcels; only the roll's rows sharing a key with them are read."""
    keys = filings.select("county_fips", "apn_key", "legal_key", "street_key")
    with registered(con, filing_keys=keys):
        parcels = con.sql(sql_text(settings, "parcel_candidates")).pl()
    return matched_filings(filings, parcels)


def _rebuilt_in_full(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date, stale_after: pl.DataFrame, inputs: str
) -> int:
    filings = con.sql(sql_text(settings, "filings_to_match"), params={"as_of": as_of}).pl()
    grouped = case_filings(_matched(con, settings, filings), CASE_WINDOW_DAYS)
    cases = case_lifecycles(grouped, as_of, stale_after)
    with registered(con, case_rows=grouped, cases_in=cases), transaction(con):
        con.execute("CREATE OR REPLACE TABLE case_filings AS " + sql_text(settings, "case_filings_rows"))
        con.execute("CREATE OR REPLACE TABLE cases AS SELECT * FROM cases_in")
        _record_build(con, as_of, inputs)
    return cases.height


def _rebuilt_where_changed(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date, stale_after: pl.DataFrame, inputs: str
) -> int:
    params = {"as_of": as_of}
    arrived = _matched(con, settings, con.sql(sql_text(settings, "filings_changed"), params=params).pl())
    outdated = con.sql(sql_text(settings, "case_filings_outdated"), params=params).pl()
    touched = pl.concat([arrived.select("source", "record_id"), outdated.select("source", "record_id")])
    with registered(con, touched_records=touched.unique()):
        referencing = con.sql(sql_text(settings, "cases_referencing")).pl()
        keys = set(outdated["case_key"]) | set(referencing["case_key"])
        regrouped = _regrouped(con, settings, arrived, keys)
    # a case's id is derived from its key alone: the stored cases regrouped are the ids of `keys`
    key_list = pl.Series("case_key", sorted(keys | set(regrouped["case_key"])), dtype=pl.String)
    regrouped_ids = pl.DataFrame({"case_id": stable_ids("C", key_list)})
    cases = case_lifecycles(regrouped, as_of, stale_after)
    with registered(con, regrouped_cases=regrouped_ids):
        still_open = con.sql(sql_text(settings, "open_cases"), params={"final": FINAL_STATUSES}).pl()
    statuses = advanced_statuses(still_open, as_of, stale_after)
    stored_keys = pl.DataFrame({"case_key": sorted(keys)}, schema={"case_key": pl.String})
    with (
        registered(
            con,
            case_rows=regrouped,
            cases_in=cases,
            stored_keys=stored_keys,
            regrouped_cases=regrouped_ids,
            statuses=statuses,
        ),
        transaction(con),
    ):
        con.execute("DELETE FROM case_filings WHERE case_key IN (SELECT case_key FROM stored_keys)")
        con.execute("INSERT INTO case_filings BY NAME " + sql_text(settings, "case_filings_rows"))
        con.execute("DELETE FROM cases WHERE case_id IN (SELECT case_id FROM regrouped_cases)")
        con.execute("INSERT INTO cases BY NAME SELECT * FROM cases_in")
        con.execute(
            "UPDATE cases SET status = s.status FROM statuses s "
            "WHERE cases.case_id = s.case_id AND cases.status <> s.status"
        )
        _record_build(con, as_of, inputs)
    return regrouped_ids.height + still_open.height


def _regrouped(
    con: duckdb.DuckDBPyConnection, settings: Settings, arrived: pl.DataFrame, keys: set[str]
) -> pl.DataFrame:
    """The changed filings (`arrived`, matched) grouped together with the stored cases they reach: starting
    from the stored cases `keys` (grown in place), every stored case sharing a case key or a window group with
    the regrouped filings joins, until none is left. Needs `touched_records` registered."""
    while True:
        wanted = pl.DataFrame({"case_key": sorted(keys)}, schema={"case_key": pl.String})
        with registered(con, wanted_cases=wanted):
            stored = con.sql(sql_text(settings, "case_filings_of")).pl()
        work = pl.concat([arrived, stored.select(arrived.columns)])
        with registered(con, referencing=work.select("source", "ref_record_id").drop_nulls().unique()):
            referenced = con.sql(sql_text(settings, "referenced_filings")).pl()
        # filings only looked up for their case number: they are numbered, so they never join a window
        lookup = (
            referenced.select(arrived.columns)
            .filter(has_case_number())
            .join(work.select("source", "record_id"), on=["source", "record_id"], how="anti")
        )
        grouped = case_filings(
            pl.concat([work.with_columns(_lookup=False), lookup.with_columns(_lookup=True)]),
            CASE_WINDOW_DAYS,
        )
        regrouped = grouped.filter(~pl.col("_lookup")).drop("_lookup")
        with registered(con, regrouped=regrouped.select("case_key", "window_group")):
            reached = set(con.sql(sql_text(settings, "cases_sharing")).pl()["case_key"]) - keys
        if not reached:
            return regrouped
        keys |= reached
