"""`leads`: refresh the published leads, generate sample data, query the published database.

Exit codes: 0 ok; 1 the run failed (nothing new published); 2 a usage or expected error (one line, no
traceback); 3 published, but at least one source failed (see `runs` / `run_sources`).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leads.errors import LeadsError
from leads.settings import Settings, configure_prefect_defaults, get_settings

app = typer.Typer(
    help="Pre-foreclosure leads: nightly refresh, sample data, read-only queries.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# wide enough for the summary tables when output goes to a file or CI log instead of a terminal
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"{name} {value!r} is not a date (expected YYYY-MM-DD)")
    return None


def _preflight(settings: Settings, sources: list[str] | None) -> None:
    """Expected problems are reported before Prefect starts: one line each."""
    from leads.scoring import load_scoring
    from leads.sources import load_sources

    if not settings.landing.is_dir():
        raise LeadsError(
            f"landing folder {settings.landing} does not exist (set LEADS_LANDING_DIR or LEADS_DATA_DIR)"
        )
    load_sources(settings.sources_dir, sources or settings.selected_sources)
    load_scoring(settings.config_dir / "scoring.yaml")
    settings.data_dir.mkdir(parents=True, exist_ok=True)


@app.command()
def refresh(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD (default: today, UTC).")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Only this source id (repeatable). Default: all configs."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Do not print the summary.")] = False,
    dask: Annotated[
        bool,
        typer.Option(
            "--dask",
            help="Prepare the sources on a Dask cluster (LEADS_DASK_ADDRESS, else LEADS_DASK_WORKERS local "
            "processes); needs a real Prefect server (PREFECT_API_URL). See docs/scale-out.md.",
        ),
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Rebuild every case and score every lead again, closed ones included (e.g. after a corrected "
            "valuation or roll delivery). A night normally redoes only what its deliveries can change.",
        ),
    ] = False,
) -> None:
    """Run the nightly refresh once: land, validate, stage, match, score, audit, publish, export."""
    settings = get_settings()
    as_of_date = _date(as_of, "--as-of")
    try:
        _preflight(settings, source)
    except LeadsError as exc:
        _fail(str(exc))
    _refuse_if_running(settings)
    _refuse_if_state_unreadable(settings)
    configure_prefect_defaults(settings)
    # flows are imported after the Prefect defaults are in the environment
    if dask:
        from prefect.settings import get_current_settings

        if not get_current_settings().api.url:
            _fail(
                "--dask needs a real Prefect server (Dask worker processes cannot reach the temporary one): "
                "start one with `prefect server start` or `make serve` and set PREFECT_API_URL"
            )
        from flows.scale_out import nightly_refresh_dask as refresh_flow
    else:
        from flows.nightly import nightly_refresh as refresh_flow

    try:
        state = refresh_flow(as_of=as_of_date, sources=source or None, full=full, return_state=True)
    except LeadsError as exc:
        _fail(str(exc))
    summary = _state_data(state)
    if state.is_failed() or summary is None:
        _fail(state.message or 'the run failed; see `leads query "select * from runs"`', EXIT_RUN_FAILED)
    if not quiet:
        from leads.report import print_summary

        print_summary(out, settings, summary)
    if summary["status"] == "partial":
        err.print(f"[yellow]warning:[/] source(s) failed: {', '.join(summary['failed_sources'])}")
        raise typer.Exit(EXIT_PARTIAL)


def _refuse_if_running(settings: Settings) -> None:
    """One line and exit 2 when another refresh holds the lock (the flow takes it again for its run)."""
    from leads.locks import RefreshRunning, refresh_lock

    try:
        with refresh_lock(settings):
            pass
    except RefreshRunning as exc:
        _fail(str(exc))


def _refuse_if_state_unreadable(settings: Settings) -> None:
    """One line and exit 1 when the working state is damaged or from another version (before Prefect starts,
    so that no traceback hides the command that repairs it)."""
    from leads.db import ensure_state_readable

    try:
        ensure_state_readable(settings)
    except LeadsError as exc:
        _fail(str(exc), EXIT_RUN_FAILED)


def _state_data(state: object) -> dict | None:
    try:
        result = state.result(raise_on_failure=False)  # type: ignore[attr-defined]
    except Exception:  # the state holds no retrievable result
        return None
    return result if isinstance(result, dict) else None


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the sample into.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, byte-identical output.")] = 42,
    parcels: Annotated[int, typer.Option(help="Parcels per county.")] = 2000,
    as_of: Annotated[str, typer.Option("--as-of", help="Last delivery date YYYY-MM-DD.")] = "2026-11-27",
    daily_days: Annotated[int, typer.Option(help="Daily deliveries after the bulk history delivery.")] = 2,
    counties: Annotated[
        str, typer.Option(help="Comma-separated county ids.")
    ] = "fl_hillsborough,ca_riverside,tx_harris",
    messiness: Annotated[float, typer.Option(help="Scale of injected errors and noise (0 = clean).")] = 1.0,
) -> None:
    """Generate deterministic synthetic county deliveries with ground truth."""
    from leads.sample import COUNTIES, SampleSpec, generate_sample

    chosen = tuple(c.strip() for c in counties.split(",") if c.strip())
    unknown = [c for c in chosen if c not in COUNTIES]
    if unknown:
        _fail(f"unknown county {', '.join(unknown)}; known: {', '.join(sorted(COUNTIES))}")
    if parcels < 10:
        _fail("--parcels must be at least 10")
    spec = SampleSpec(
        seed=seed,
        parcels_per_county=parcels,
        as_of=_date(as_of, "--as-of") or dt.date(2026, 11, 27),
        daily_days=daily_days,
        counties=chosen,
        messiness=messiness,
    )
    with err.status(f"generating {parcels:,} parcels per county into {out_dir} ..."):
        summary = generate_sample(out_dir, spec)
    out.print(f"wrote sample to {out_dir}")
    for key, value in sorted(summary.items()):
        out.print(f"  {key}: {value}")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run read-only against the published database.")],
    output: Annotated[str, typer.Option("--format", help="table | csv | json")] = "table",
    limit: Annotated[int, typer.Option(help="Rows to print in table format.")] = 50,
) -> None:
    """Run read-only SQL on data/warehouse/leads.duckdb (no file access, settings locked)."""
    import duckdb

    from leads.db import analyst_connection

    settings = get_settings()
    if output not in ("table", "csv", "json"):
        _fail("--format must be table, csv or json")
    try:
        con = analyst_connection(settings.published_db)
    except LeadsError as exc:
        _fail(str(exc))
    try:
        frame = con.sql(sql).pl()
    except duckdb.Error as exc:
        _fail(f"query failed: {str(exc).strip().splitlines()[0]}")
    except AttributeError:
        _fail("the statement returned no rows (only queries are allowed)")
    finally:
        con.close()
    if output == "csv":
        from leads.publish import spreadsheet_safe

        sys.stdout.write(spreadsheet_safe(frame).write_csv())
    elif output == "json":
        sys.stdout.write(frame.write_ndjson())
    else:
        table = Table(*frame.columns, show_lines=False)
        for row in frame.head(limit).iter_rows():
            table.add_row(*["" if v is None else str(v) for v in row])
        out.print(table)
        if frame.height > limit:
            out.print(f"... {frame.height - limit} more rows (use --limit or --format csv)")


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--from", help="First as-of date YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last as-of date YYYY-MM-DD (inclusive).")],
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Set the working state aside and replay the raw landing (data/raw)."),
    ] = False,
) -> None:
    """Re-run the refresh for each as-of date in order (same final state as nightly runs)."""
    settings = get_settings()
    first, last = _date(start, "--from"), _date(end, "--to")
    try:
        _preflight(settings, None)
    except LeadsError as exc:
        _fail(str(exc))
    _refuse_if_running(settings)
    if not rebuild:  # a rebuild sets the state aside unread
        _refuse_if_state_unreadable(settings)
    configure_prefect_defaults(settings)
    from flows.backfill import backfill as backfill_flow

    try:
        state = backfill_flow(start=first, end=last, rebuild=rebuild, return_state=True)
    except LeadsError as exc:
        _fail(str(exc))
    summaries = _state_data_list(state)
    for summary in summaries:
        out.print(f"{summary['as_of']}: {summary['status']}", highlight=False)
    if state.is_failed() or any(s["status"] == "failed" for s in summaries):
        _fail(state.message or "a run of the backfill failed", EXIT_RUN_FAILED)


def _state_data_list(state: object) -> list[dict]:
    try:
        result = state.result(raise_on_failure=False)  # type: ignore[attr-defined]
    except Exception:  # the state holds no retrievable result
        return []
    return result if isinstance(result, list) else []


@app.command()
def status() -> None:
    """Last runs, freshness by source and published row counts (from the published database)."""
    from leads.db import analyst_connection
    from leads.report import print_status

    settings = get_settings()
    try:
        con = analyst_connection(settings.published_db)
    except LeadsError as exc:
        _fail(str(exc))
    try:
        print_status(out, con, settings)
    finally:
        con.close()


@app.command()
def evaluate(
    truth: Annotated[
        Path, typer.Option("--truth", help="The sample's truth folder (or the sample folder holding truth/).")
    ],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data dir of the run to grade (default: LEADS_DATA_DIR)."),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Also write the figures as JSON here.")
    ] = None,
) -> None:
    """Grade the last run against a generated sample's truth: matching, cases, lifecycle, auction, payoff."""
    from leads.evaluate import evaluate_run, print_report, report_json

    if output not in ("table", "json"):
        _fail("--format must be table or json")
    settings = get_settings()
    try:
        report = evaluate_run(truth, data_dir or settings.data_dir, settings.config_dir)
    except LeadsError as exc:
        _fail(str(exc))
    text = report_json(report)
    if out_file is not None:
        out_file.write_text(text + "\n", encoding="utf-8")
    if output == "json":
        sys.stdout.write(text + "\n")
    else:
        print_report(out, report)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
