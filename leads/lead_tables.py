"""The leads of the state database: every lead scored again, or only the leads that can have moved.

A lead's figures move with the as-of date while its case is open (days to auction, accrued payoff, the price
index). Once the case is in a final status (sold, cancelled, sale date passed, stale: transforms.cases.
FINAL_STATUSES) nothing about it is still in play, so its lead keeps the row computed on the night it was
last scored: a lead's `as_of` and `run_id` say when and by which run its figures were computed. Each night
scores again

- every open case's lead,
- the lead of every case that is new or changed since the published leads were scored (a digest of each case
  row and its filings is kept in `lead_inputs`), and of every case on a parcel where a case appeared, changed
  or went away (a lead counts the other cases on its parcel);

every other lead is carried over from the published snapshot (`published_leads`). Everything is scored again
on the first night, on an earlier as-of date, and when anything else a lead derives from changed: the
scoring, valuation, payoff or suppression code, the scoring config, the reference data, or the opt-out list.
Open leads see new valuations, loans and liens every night; a final lead keeps what it had.

Write-audit-publish stays: tonight's rows wait in `candidate_rows` (the view `candidate_leads` shows the whole
candidate snapshot) until the audits pass, and only then replace theirs in `published_leads`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl

import leads.scoring
import schemas
import transforms
from leads.db import is_table, registered, sql_text, transaction
from leads.errors import LeadsError
from leads.scoring import ScoringConfig
from leads.settings import Settings
from schemas.leads import published_leads
from transforms.auction import auction_timeline
from transforms.cases import FINAL_STATUSES
from transforms.leads import scored_leads, with_plaintiff_type
from transforms.payoff import case_payoffs, loan_balances
from transforms.suppression import with_suppression

_META_KEY = "lead_tables"  # the published leads' as-of date and inputs digest
_CANDIDATE_KEY = "lead_tables_candidate"  # tonight's, until published
# Any change to the transforms, the schemas (contract, vocabularies) or the scoring config loader scores
# everything once: deploys are rare, and a list of the modules scoring depends on would miss the next one.
_CODE = [
    *sorted(Path(transforms.__file__).parent.glob("*.py")),
    *sorted(Path(schemas.__file__).parent.glob("*.py")),
    Path(leads.scoring.__file__),
    Path(__file__),
]
_SQL = ["case_inputs", "case_loans", "leads_to_rescore", "lead_inputs_rows", "candidate_leads_view"]


def build_leads(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    scoring: ScoringConfig,
    as_of: dt.date,
    run_id: str,
    full: bool = False,
) -> dict[str, int]:
    """Join cases with parcel, valuation, loan and lien facts in DuckDB; value, payoff and score in Polars.

    Writes tonight's scored rows (`candidate_rows`), the published leads whose case is gone
    (`candidate_removed`), tonight's digests (`candidate_inputs`), and the view `candidate_leads` (the whole
    candidate snapshot: the published leads with those changes). publish.commit_publish applies them."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS lead_inputs (case_id VARCHAR, case_hash UBIGINT, county_fips VARCHAR, "
        "parcel_apn VARCHAR)"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE tonight_inputs AS " + sql_text(settings, "lead_inputs_rows"))
    inputs = _inputs_fingerprint(con, settings, scoring)
    last = last_publish(con)
    full = full or last is None or last["inputs"] != inputs or as_of < dt.date.fromisoformat(last["as_of"])
    if full:
        scope = con.sql("SELECT case_id FROM cases").pl()
    else:
        scope = con.sql(sql_text(settings, "leads_to_rescore"), params={"final": FINAL_STATUSES}).pl()
    with registered(con, lead_scope=scope):
        scored = _scored(con, settings, scoring, as_of, run_id)
    with registered(con, scored_in=scored), transaction(con):
        con.execute("CREATE OR REPLACE TABLE candidate_rows AS SELECT * FROM scored_in")
        con.execute("CREATE OR REPLACE TABLE candidate_inputs AS SELECT * FROM tonight_inputs")
        con.execute("CREATE TABLE IF NOT EXISTS published_leads AS SELECT * FROM candidate_rows LIMIT 0")
        con.execute(
            "CREATE OR REPLACE TABLE candidate_removed AS "
            "SELECT lead_id FROM published_leads WHERE case_id NOT IN (SELECT case_id FROM cases)"
        )
        if is_table(con, "candidate_leads"):  # a state written before leads were carried over
            con.execute("DROP TABLE candidate_leads")
        con.execute(sql_text(settings, "candidate_leads_view"))
        value = json.dumps({"as_of": as_of.isoformat(), "inputs": inputs, "full": full})
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_CANDIDATE_KEY, value])
    leads, actionable, suppressed = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE actionable), count(*) FILTER (WHERE suppressed) "
        "FROM candidate_leads"
    ).fetchall()[0]
    return {"leads": leads, "actionable": actionable, "suppressed": suppressed, "leads_scored": scored.height}


def published_candidates(con: duckdb.DuckDBPyConnection) -> None:
    """Apply the audited candidates to the published snapshot (`published_leads`, `lead_inputs`), inside the
    caller's transaction (publish.commit_publish). Idempotent: applying twice gives the same tables."""
    candidate = con.execute("SELECT value FROM meta WHERE key = ?", [_CANDIDATE_KEY]).fetchall()
    if not candidate:
        raise LeadsError("no candidate leads to publish: the leads were not built in this state")
    if json.loads(candidate[0][0])["full"]:  # every lead scored: also takes a changed contract's columns
        con.execute("CREATE OR REPLACE TABLE published_leads AS SELECT * FROM candidate_rows")
    else:
        con.execute(
            "DELETE FROM published_leads WHERE lead_id IN (SELECT lead_id FROM candidate_rows) "
            "OR lead_id IN (SELECT lead_id FROM candidate_removed)"
        )
        con.execute("INSERT INTO published_leads BY NAME SELECT * FROM candidate_rows")
    con.execute("CREATE OR REPLACE TABLE lead_inputs AS SELECT * FROM candidate_inputs")
    con.execute(
        "INSERT OR REPLACE INTO meta SELECT ?, value FROM meta WHERE key = ?", [_META_KEY, _CANDIDATE_KEY]
    )


def _scored(
    con: duckdb.DuckDBPyConnection, settings: Settings, scoring: ScoringConfig, as_of: dt.date, run_id: str
) -> pl.DataFrame:
    """The published rows of the cases in `lead_scope` (registered)."""
    params = {"as_of": as_of}
    loans = con.sql(sql_text(settings, "case_loans"), params=params).pl()
    inputs = con.sql(sql_text(settings, "case_inputs"), params=params).pl()
    inputs = with_plaintiff_type(inputs, loans)
    payoffs = case_payoffs(inputs, loan_balances(loans, inputs, as_of), as_of)
    rules = con.sql("SELECT * FROM ref_state_rules").pl()
    timeline = auction_timeline(inputs, rules, as_of)
    optouts = con.sql("SELECT owner_name, address, zip FROM staged_suppression").pl()
    scored = with_suppression(scored_leads(inputs, payoffs, timeline, scoring, as_of), optouts)
    return published_leads(scored, run_id)


def _inputs_fingerprint(con: duckdb.DuckDBPyConnection, settings: Settings, scoring: ScoringConfig) -> str:
    """A digest of everything but the cases and the dimension feeds that the leads derive from."""
    digest = hashlib.sha256(scoring.model_dump_json().encode())
    references = sorted(settings.reference_dir.glob("*.csv"))
    for path in [*_CODE, *(settings.sql_dir / f"{name}.sql" for name in _SQL), *references]:
        digest.update(path.read_bytes())
    optouts = con.execute("SELECT count(*), bit_xor(hash(s)) FROM staged_suppression s").fetchall()
    digest.update(repr(optouts).encode())
    return digest.hexdigest()


def last_publish(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The as-of date and inputs digest of the published leads (what carried leads come from)."""
    found = con.execute("SELECT value FROM meta WHERE key = ?", [_META_KEY]).fetchall()
    return json.loads(found[0][0]) if found and is_table(con, "published_leads") else None
