"""The short summary `leads refresh` prints: what ran, leads per county and tier, the top ten, how to query.

Counts and ids only: owners' names and addresses stay in the database (this text ends up in logs).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from leads.db import analyst_connection
from leads.settings import Settings

TOP_TEN = """
SELECT lead_id, state || ' ' || county_fips AS county, stage, status, auction_date,
       days_to_auction AS days, auction_date_source AS date_from, round(estimated_value) AS value,
       round(estimated_payoff) AS payoff, round(equity_pct * 100)::INTEGER AS "equity %", strategy, score, tier
FROM leads
WHERE actionable AND lane = 'mortgage'
ORDER BY score DESC, days_to_auction NULLS LAST, lead_id
LIMIT 10
"""

BY_COUNTY_TIER = """
PIVOT (SELECT state || ' ' || county_fips AS county, tier FROM leads) ON tier IN ('A', 'B', 'C', 'D', 'inactive')
USING count(*) GROUP BY county ORDER BY county
"""

EXAMPLE_QUERY = "select tier, count(*) from leads group by 1 order by 1"


def _table(title: str, columns: list[str], rows: list[tuple]) -> Table:
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


def print_summary(console: Console, settings: Settings, summary: dict) -> None:
    counts = summary["stage_counts"]
    console.print(
        f"[bold]run {summary['run_id']}[/] as of {summary['as_of']}: [bold]{summary['status']}[/] — "
        f"{counts.get('rows_in', 0):,} rows in, {counts.get('rows_quarantined', 0):,} quarantined, "
        f"{counts.get('cases', 0):,} cases, {counts.get('leads', 0):,} leads "
        f"({counts.get('actionable', 0):,} actionable)"
    )
    for warning in summary.get("warnings", []):
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    con = analyst_connection(settings.published_db)
    try:
        pivot = con.sql(BY_COUNTY_TIER)
        console.print(_table("Leads per county and tier", pivot.columns, pivot.fetchall()))
        top = con.sql(TOP_TEN)
        console.print(_table("Top ten actionable leads", top.columns, top.fetchall()))
    finally:
        con.close()
    console.print(f"Database: {settings.published_db}")
    console.print(f'Example:  leads query "{EXAMPLE_QUERY}"')


LAST_RUNS = """
SELECT run_id, as_of, status, leads_published AS leads, sources_failed,
       round(epoch(finished_at) - epoch(started_at), 1) AS seconds, message
FROM runs ORDER BY started_at DESC LIMIT 10
"""

FRESHNESS = """
SELECT source, kind, status, last_delivery_date, freshness_days, rows_in, rows_quarantined, warnings
FROM run_sources
WHERE run_id = (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1)
ORDER BY source
"""

PUBLISHED_COUNTS = """
SELECT status, count(*) AS leads, count(*) FILTER (WHERE actionable AND NOT suppressed) AS contactable
FROM leads GROUP BY status ORDER BY leads DESC
"""


def print_status(console: Console, con: object, settings: Settings) -> None:
    """`leads status`: what the last runs did, how fresh each source is, what is published."""
    for title, query in (
        ("Last runs", LAST_RUNS),
        ("Sources in the latest published run", FRESHNESS),
        ("Published leads by status", PUBLISHED_COUNTS),
    ):
        rel = con.sql(query)  # type: ignore[attr-defined]
        console.print(_table(title, rel.columns, rel.fetchall()))
    console.print(f"Database: {settings.published_db}")
