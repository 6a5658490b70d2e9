"""Prefect artifacts of a run: a markdown summary and tables people read in the Prefect UI.

Counts, names of sources and checks only: no rejected rows, no owners, no addresses.
"""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from leads.db import analyst_connection
from leads.settings import Settings

TIERS_BY_COUNTY = """
SELECT state || ' ' || county_fips AS county, tier, count(*) AS leads FROM leads GROUP BY ALL ORDER BY ALL
"""
QUARANTINE_BY_CHECK = """
SELECT source, check_name, count(*) AS rows FROM quarantine WHERE run_id = $run_id GROUP BY ALL ORDER BY ALL
"""
CHANGES_BY_TYPE = """
SELECT event_type, count(*) AS leads FROM lead_events WHERE run_id = $run_id GROUP BY ALL ORDER BY ALL
"""


def _markdown(summary: dict) -> str:
    counts = summary["stage_counts"]
    lines = [
        f"# Nightly refresh {summary['as_of']}: {summary['status']}",
        "",
        f"Run `{summary['run_id']}`: {counts.get('rows_in', 0):,} rows in, "
        f"{counts.get('rows_quarantined', 0):,} quarantined, {counts.get('cases', 0):,} cases, "
        f"{counts.get('leads', 0):,} leads ({counts.get('actionable', 0):,} actionable, "
        f"{counts.get('suppressed', 0):,} suppressed), {counts.get('change_events', 0):,} changes.",
        "",
        "| source | status | files | rows in | quarantined | staged | freshness (days) |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in summary["sources"]:
        lines.append(
            f"| {s['source']} | {s['status']} | {s['files_landed']} | {s['rows_in']} | {s['rows_quarantined']} "
            f"| {s['rows_staged']} | {s['freshness_days'] if s['freshness_days'] is not None else '-'} |"
        )
    if summary["warnings"]:
        lines += ["", "## Warnings", *[f"- {w}" for w in summary["warnings"]]]
    if summary.get("message"):
        lines += ["", f"**{summary['message']}**"]
    return "\n".join(lines)


def publish_artifacts(settings: Settings, summary: dict) -> None:
    """Markdown summary + tables (leads by tier and county, quarantine by check, changes by type)."""
    run_id = summary["run_id"]
    create_markdown_artifact(_markdown(summary), key="nightly-summary", description="What the run did")
    create_table_artifact(
        [{k: v for k, v in s.items() if k != "quarantine_by_check"} for s in summary["sources"]],
        key="sources",
        description="Counts per source",
    )
    con = analyst_connection(settings.published_db)
    try:
        for key, query, description in (
            ("leads-by-tier", TIERS_BY_COUNTY, "Leads per county and tier"),
            ("quarantine-by-check", QUARANTINE_BY_CHECK, "Rows quarantined this run, by check"),
            ("changes-by-type", CHANGES_BY_TYPE, "What changed this run"),
        ):
            params = {"run_id": run_id} if "$run_id" in query else None
            table = con.sql(query, params=params).pl()
            create_table_artifact(table.to_dicts(), key=key, description=description)
    finally:
        con.close()
