"""`leads evaluate`: grade a run's working state against the sample generator's ground truth.

Reads data/state/pipeline.duckdb read-only (case_filings, cases, candidate_leads, quarantine, ref_state_rules)
and the truth files (truth/filings.csv, truth/cases.csv, ../sample_spec.json); every figure is computed by a
pure function in transforms/metrics.py. The report carries counts and shares only (nothing personal).

Same as-of date for run and truth (the usual case): every figure grades the run's state on that date, and
the calibration table can only restate the statuses (actionable tiers are pending by construction). For a
forward-looking calibration, generate the sample with `--daily-days N` and refresh with `--as-of` N days
before the sample's as-of: the truth then says how the run's leads ended N days later, and how far the
estimated and recorded auction dates were from the sales that followed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from rich.console import Console
from rich.table import Table

from leads.errors import LeadsError
from leads.scoring import load_scoring
from transforms import metrics

TRUTH_FILES = ("filings.csv", "cases.csv")
STATE_TABLES = ("case_filings", "cases", "candidate_leads")


@dataclass(frozen=True)
class Truth:
    filings: pl.DataFrame  # source, record_id, county_fips, apn, case_id, event, defect
    cases: pl.DataFrame  # truth/cases.csv, typed
    as_of: dt.date | None  # the generator's as-of date (sample_spec.json), when known


@dataclass(frozen=True)
class RunState:
    filings: pl.DataFrame  # case_filings: source, record_id, parcel_apn, match_method, case_id
    cases: pl.DataFrame  # cases: case_id, state, status
    leads: pl.DataFrame  # candidate_leads (published columns)
    quarantine: pl.DataFrame  # source, raw_record
    judicial_states: list[str]
    as_of: dt.date | None
    run_id: str | None


def truth_folder(path: Path) -> Path:
    """The folder holding filings.csv and cases.csv: `path` itself or its `truth/` (a sample's root)."""
    for folder in (path, path / "truth"):
        if all((folder / name).is_file() for name in TRUTH_FILES):
            return folder
    raise LeadsError(f"no truth files ({', '.join(TRUTH_FILES)}) in {path} or {path / 'truth'}")


def read_truth(path: Path) -> Truth:
    """The generator's truth, typed: ids and parcel ids stay text (leading zeros), money as float dollars."""
    folder = truth_folder(path)
    try:
        filings = pl.read_csv(folder / "filings.csv", infer_schema_length=0)
        raw_cases = pl.read_csv(folder / "cases.csv", infer_schema_length=0)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise LeadsError(f"cannot read the truth files in {folder}: {str(exc).splitlines()[0]}") from None
    missing = {"source", "record_id", "apn", "case_id", "defect"} - set(filings.columns)
    missing |= {"case_id", "state", "status", "auction_date", "outcome", "market_value", "payoff"} - set(
        raw_cases.columns
    )
    if missing:
        raise LeadsError(f"truth files in {folder} lack column(s) {sorted(missing)}")
    cases = raw_cases.with_columns(
        pl.col(c).str.to_date("%Y-%m-%d", strict=False)
        for c in ("first_filing_date", "last_filing_date", "auction_date", "outcome_date")
        if c in raw_cases.columns
    ).with_columns(
        pl.col("market_value", "payoff").cast(pl.Float64),  # integer US dollars on the truth's as-of date
        *[
            (pl.col(c).str.to_lowercase() == "true").alias(c)
            for c in ("is_mortgage_foreclosure", "loan_in_feed")
        ],
    )
    spec = folder.parent / "sample_spec.json"
    as_of = None
    if spec.is_file():
        value = json.loads(spec.read_text(encoding="utf-8")).get("as_of")
        as_of = dt.date.fromisoformat(value) if value else None
    return Truth(filings, cases, as_of)


def read_state(state_db: Path) -> RunState:
    """The run's working state, opened read-only (a refresh holding the write lock makes this fail)."""
    if not state_db.is_file():
        raise LeadsError(f"no pipeline state at {state_db}: run `leads refresh` first (or pass --data-dir)")
    try:
        con = duckdb.connect(str(state_db), read_only=True)
    except duckdb.Error as exc:
        raise LeadsError(
            f"cannot open {state_db} read-only ({str(exc).strip().splitlines()[0][:200]})"
        ) from None
    try:
        tables = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
        missing = [t for t in STATE_TABLES if t not in tables]
        if missing:
            raise LeadsError(f"{state_db} has no {', '.join(missing)}: the run did not reach scoring")
        filings = con.sql(
            "SELECT source, record_id, parcel_apn, match_method, case_id FROM case_filings"
        ).pl()
        cases = con.sql("SELECT case_id, state, status FROM cases").pl()
        leads = con.sql("SELECT * FROM candidate_leads").pl()
        quarantine = (
            con.sql("SELECT source, raw_record FROM quarantine WHERE raw_record IS NOT NULL").pl()
            if "quarantine" in tables
            else pl.DataFrame(schema={"source": pl.String, "raw_record": pl.String})
        )
        judicial = (
            [r[0] for r in con.sql("SELECT state FROM ref_state_rules WHERE process = 'judicial'").fetchall()]
            if "ref_state_rules" in tables
            else []
        )
    finally:
        con.close()
    as_of = leads["as_of"].max() if leads.height else None
    run_id = leads["run_id"].max() if leads.height else None
    return RunState(filings, cases, leads, quarantine, sorted(judicial), as_of, run_id)


def evaluation_report(truth: Truth, state: RunState, healthy_min: float, thin_min: float) -> dict[str, Any]:
    """Every figure of issues 4 and 5, as a dict of scalars and small frames (see transforms/metrics.py)."""
    graded = metrics.graded_filings(truth.filings, state.filings)
    if graded.filter(pl.col("in_truth") & pl.col("in_pipeline")).height == 0:
        raise LeadsError(
            "no filing of the run is in the truth: is this the truth of the sample that was run?"
        )
    case_map = metrics.majority_case(graded, "true_case_id", "pred_case_id")
    lead_map = metrics.majority_case(graded, "pred_case_id", "true_case_id")
    leads = metrics.graded_leads(state.leads, lead_map, truth.cases)
    sources = truth.filings["source"].unique().to_list()
    warnings = []
    if truth.as_of and state.as_of and truth.as_of != state.as_of:
        warnings.append(
            f"the truth is as of {truth.as_of}, the run as of {state.as_of}: the calibration table and the "
            "auction-date errors grade what happened after the run; match, case, status, payoff and equity "
            "figures compare the run with documents and balances of another date"
        )
    return {
        "run_id": state.run_id,
        "as_of": state.as_of,
        "truth_as_of": truth.as_of,
        "leads": state.leads.height,
        "leads_with_truth_case": leads.filter(pl.col("true_case_id").is_not_null()).height,
        "truth_cases": truth.cases.height,
        "warnings": warnings,
        "parcel_match": metrics.match_accuracy(graded),
        "quarantined": metrics.quarantine_check(
            truth.filings, state.quarantine.filter(pl.col("source").is_in(sources))
        ),
        "case_grouping": metrics.grouping_accuracy(graded),
        "lifecycle": metrics.lifecycle_accuracy(truth.cases, case_map, state.cases),
        "lis_pendens": {
            "judicial_states": ",".join(s for s in state.judicial_states if s in set(truth.cases["state"])),
            **metrics.lis_pendens_classification(truth.cases, case_map, state.leads, state.judicial_states),
        },
        "auction_date": metrics.auction_date_error(leads),
        "payoff": metrics.payoff_error(leads),
        "equity": {
            "healthy_min": healthy_min,
            "thin_min": thin_min,
            **metrics.equity_accuracy(leads, healthy_min, thin_min),
        },
        "value": {"by_source": metrics.value_error(leads)},
        "calibration": metrics.tier_calibration(leads),
    }


def evaluate_run(truth_dir: Path, data_dir: Path, config_dir: Path) -> dict[str, Any]:
    """Grade the run whose state is under `data_dir` against the truth in `truth_dir`."""
    scoring = load_scoring(config_dir / "scoring.yaml")
    return evaluation_report(
        read_truth(truth_dir),
        read_state(data_dir / "state" / "pipeline.duckdb"),
        scoring.equity_bands.healthy_min,
        scoring.equity_bands.thin_min,
    )


def _plain(value: Any) -> Any:
    """JSON-ready: frames -> lists of row dicts, dates -> ISO text, floats rounded to 4 decimals."""
    if isinstance(value, pl.DataFrame):
        return [_plain(row) for row in value.to_dicts()]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(_plain(report), indent=2)


SECTION_TITLES = {
    "parcel_match": "Parcel match (issue 4): precision = correct / matched, recall = correct / truth documents",
    "quarantined": "Malformed truth rows and the quarantine",
    "case_grouping": "Case grouping (issue 4): pairwise over filings",
    "lifecycle": "Lifecycle status (issue 4): each true case vs the predicted case holding most of its filings",
    "lis_pendens": "Lis pendens classification (issue 4): judicial cases",
    "auction_date": "Auction date (issue 5): error = predicted - true, days",
    "payoff": "Payoff (issue 5): % error = (predicted - true) / true",
    "equity": "Equity band and strategy (issue 5)",
    "value": "Value (input to equity): % error = (predicted - true market value) / true",
    "calibration": "Calibration (issue 5): per tier, how the true cases ended",
}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def _frame_table(frame: pl.DataFrame, title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(column, overflow="fold")  # long figure names wrap instead of being cut
    for row in frame.iter_rows():
        table.add_row(*[_cell(v) for v in row])
    return table


def print_report(console: Console, report: dict[str, Any]) -> None:
    """The report as rich tables: per section a heading, its scalars, then one table per breakdown."""
    console.print(
        f"[bold]evaluation[/] of run {report['run_id']} as of {report['as_of']} against the truth as of "
        f"{report['truth_as_of']}: {report['leads']:,} leads ({report['leads_with_truth_case']:,} with a truth "
        f"case), {report['truth_cases']:,} truth cases",
        highlight=False,
    )
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    for key, title in SECTION_TITLES.items():
        section = report[key]
        console.print(f"\n[bold]{title}[/]", highlight=False)
        if isinstance(section, pl.DataFrame):
            section = {"": section}
        scalars = {k: v for k, v in section.items() if not isinstance(v, pl.DataFrame)}
        if scalars:
            console.print(
                _frame_table(
                    pl.DataFrame({"figure": list(scalars), "value": [_cell(v) for v in scalars.values()]})
                )
            )
        for name, value in section.items():
            if isinstance(value, pl.DataFrame):
                label = f"{key}.{name}" if name else None
                if value.height == 0:
                    console.print(f"{label}: (none)", highlight=False)
                else:
                    console.print(_frame_table(value, label))
