"""The morning report: one self-contained HTML file per run in the reports folder, plus `latest.html`.

It reads only the published database, read-only (the queries are sql/report/*.sql, one per dataset). Inline CSS,
charts drawn here as inline SVG: no JavaScript, no external URLs, no web fonts, so it opens anywhere and can be
forwarded by email. That is also why it carries counts, ids, check and source names only: no owner names,
addresses, parcel ids, plaintiffs, quarantine reasons or raw records. Every string written into the page is
HTML-escaped. The charts' data is embedded as JSON in `<script type="application/json" id="report-data">`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from leads.db import analyst_connection
from leads.errors import LeadsError
from leads.files import fsync_dir
from schemas.vocabulary import TIERS
from transforms.changes import EVENT_TYPES

REPORT_SQL_DIR = Path(__file__).resolve().parents[1] / "sql" / "report"
REPORT_DATA_VERSION = 1
LATEST_NAME = "latest.html"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")

TIER_COLORS = {"A": "#08519c", "B": "#3182bd", "C": "#6baed6", "D": "#bdd7e7", "inactive": "#cfd4da"}
SOURCE_PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
]
FRESH_COLOR, STALE_COLOR, FAILED_COLOR = "#2e7d32", "#ef6c00", "#c62828"
EVENT_COLOR = "#4e79a7"
DAYS_COLOR, EQUITY_COLOR = "#3182bd", "#2e7d32"
STAGE_ORDER = [
    "rows_in",
    "rows_quarantined",
    "rows_staged",
    "filings",
    "filings_matched",
    "cases",
    "leads",
    "actionable",
    "suppressed",
    "change_events",
    "history_rows",
]


def esc(value: object) -> str:
    """Any value as HTML-escaped text (quotes too: safe in attributes); None is an empty string."""
    return "" if value is None else html.escape(str(value), quote=True)


# ---------------------------------------------------------------------------------------------------- queries


def _query(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None) -> list[dict]:
    """Rows of sql/report/<name>.sql as dicts (column name -> value)."""
    sql = (REPORT_SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    cursor = con.execute(sql, dict(params) if params else None)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _json_field(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        parsed = json.loads(text)
    except ValueError:
        return default
    return parsed if isinstance(parsed, type(default)) else default


def report_data(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> dict:
    """Everything the report shows, as JSON-ready data (the same dict is embedded in the page).

    `run_id` None = the latest run. A run missing from the published database (a failed run publishes nothing)
    gets a report of the latest published state with a notice saying so.
    """
    latest = _query(con, "latest_run_id")[0]["run_id"]
    if latest is None:
        raise LeadsError("the published database records no runs: nothing to report")
    subject = run_id or latest
    notices: list[str] = []
    rows = _query(con, "run", {"run_id": subject})
    if not rows:
        notices.append(
            f"Run {subject} is not in the published database: it did not publish (a failed run keeps the "
            f"previous publish), so this report shows the latest published run, {latest}. "
            "See `leads status` for the run's own record."
        )
        rows = _query(con, "run", {"run_id": latest})
    run = rows[0]
    basis = run["run_id"]
    started, finished = run["started_at"], run["finished_at"]
    run_info = {
        **{k: run[k] for k in ("run_id", "as_of", "status", "message", "started_at", "finished_at")},
        "sources_ok": run["sources_ok"],
        "sources_failed": run["sources_failed"],
        "leads_published": run["leads_published"],
        "duration_seconds": (finished - started).total_seconds() if started and finished else None,
        "warnings": [str(w) for w in _json_field(run["warnings"], [])],
        "stage_counts": _json_field(run["stage_counts"], {}),
        "timings": _json_field(run["timings"], {}),
    }
    snapshots = _query(con, "leads_snapshot")
    snapshot = snapshots[0] if snapshots else None
    if snapshot and snapshot["run_id"] != basis:
        notices.append(
            f"The leads shown (charts, top 20) are the published snapshot of run {snapshot['run_id']} "
            f"(as of {snapshot['as_of']}), not of run {basis}."
        )
    sources = _query(con, "source_counts", {"run_id": basis})
    data = {
        "version": REPORT_DATA_VERSION,
        "report_run_id": subject,
        "data_run_id": basis,
        "latest_run_id": latest,
        "notices": notices,
        "run": run_info,
        "leads_snapshot": snapshot,
        "sources": sources,
        "leads_by_tier_and_county": _query(con, "leads_by_tier_and_county"),
        "days_to_auction": _query(con, "days_to_auction_buckets"),
        "equity_pct": _query(con, "equity_pct_histogram"),
        "quarantine_by_check": _query(con, "quarantine_by_check", {"run_id": basis}),
        "source_freshness": [
            {k: s[k] for k in ("source", "status", "last_delivery_date", "freshness_days", "stale")}
            for s in sources
        ],
        "events_by_type": _events_with_zeros(_query(con, "events_by_type", {"run_id": basis})),
        "top_leads": _query(con, "top_actionable_leads"),
    }
    return _jsonable(data)


def _events_with_zeros(rows: list[dict]) -> list[dict]:
    """Every known event type (0 when absent) in the change feed's order, then any other type seen."""
    seen = {r["event_type"]: r for r in rows}
    known = [seen.get(t, {"event_type": t, "events": 0, "leads": 0}) for t in EVENT_TYPES]
    return known + [r for r in rows if r["event_type"] not in EVENT_TYPES]


# ------------------------------------------------------------------------------------------------ SVG charts


@dataclass(frozen=True)
class Segment:
    value: float
    color: str
    name: str = ""


@dataclass(frozen=True)
class BarRow:
    label: str
    segments: list[Segment] = field(default_factory=list)
    note: str | None = None  # written instead of the total (e.g. "never delivered")


def _nice_step(max_value: float, ticks: int = 5) -> float:
    """A 1/2/5 x 10^k step giving at most about `ticks` gridlines up to max_value."""
    if max_value <= 0:
        return 1.0
    raw = max_value / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if multiple * power >= raw:
            return max(multiple * power, 1.0)
    return 10 * power


def _fmt_num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _text_color(fill: str) -> str:
    """Black or white, whichever reads better on `fill` (#rrggbb)."""
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#111111" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def _svg_open(chart_id: str, width: int, height: int, title: str) -> str:
    return (
        f'<svg class="chart" data-chart="{esc(chart_id)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(title)}"><title>{esc(title)}</title>'
    )


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> str:
    parts, cursor = [], x
    for name, color in items:
        parts.append(
            f'<rect x="{cursor:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{esc(color)}"/>'
            f'<text x="{cursor + 14:.1f}" y="{y:.1f}">{esc(name)}</text>'
        )
        cursor += 14 + 7 * len(name) + 16
    return "".join(parts)


def svg_bar_chart(
    chart_id: str,
    rows: Sequence[BarRow],
    *,
    title: str,
    axis_label: str,
    legend: Sequence[tuple[str, str]] = (),
    min_axis: float = 0,
    width: int = 640,
) -> str:
    """Horizontal bars, one per row; a row's segments are stacked left to right, its total written at the end.
    The axis runs to at least `min_axis` (so that small values look small)."""
    row_h, bar_h, top = 26, 16, 10 + (22 if legend else 0)
    label_w = min(220, max([7 * len(r.label) for r in rows] + [40]) + 12)
    right = 56
    plot_w = width - label_w - right
    height = top + row_h * max(len(rows), 1) + 40
    max_total = max([sum(s.value for s in r.segments) for r in rows] + [min_axis])
    step = _nice_step(max_total)
    axis_max = step * max(1, math.ceil(max_total / step))
    scale = plot_w / axis_max
    out = [_svg_open(chart_id, width, height, title)]
    if legend:
        out.append(_legend(legend, label_w, 16))
    plot_bottom = top + row_h * max(len(rows), 1)
    tick = 0.0
    while tick <= axis_max + 1e-9:
        x = label_w + tick * scale
        out.append(
            f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{plot_bottom}"/>'
            f'<text class="tick" x="{x:.1f}" y="{plot_bottom + 14}" text-anchor="middle">{_fmt_num(tick)}</text>'
        )
        tick += step
    out.append(
        f'<text class="axis" x="{label_w + plot_w / 2:.1f}" y="{plot_bottom + 32}" text-anchor="middle">'
        f"{esc(axis_label)}</text>"
    )
    for i, row in enumerate(rows):
        y = top + i * row_h + (row_h - bar_h) / 2
        out.append(
            f'<text class="label" x="{label_w - 8}" y="{y + bar_h - 4:.1f}" text-anchor="end">{esc(row.label)}</text>'
        )
        x = float(label_w)
        for seg in row.segments:
            w = seg.value * scale
            if w <= 0:
                continue
            tip = f"{row.label} · {seg.name}: {_fmt_num(seg.value)}" if seg.name else _fmt_num(seg.value)
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" fill="{esc(seg.color)}">'
                f"<title>{esc(tip)}</title></rect>"
            )
            if len(row.segments) > 1 and w >= 8 * len(_fmt_num(seg.value)) + 4:
                out.append(
                    f'<text class="in" x="{x + w / 2:.1f}" y="{y + bar_h - 4:.1f}" text-anchor="middle" '
                    f'style="fill:{_text_color(seg.color)}">{_fmt_num(seg.value)}</text>'
                )
            x += w
        end = row.note if row.note is not None else _fmt_num(sum(s.value for s in row.segments))
        out.append(f'<text class="total" x="{x + 5:.1f}" y="{y + bar_h - 4:.1f}">{esc(end)}</text>')
    out.append("</svg>")
    return "".join(out)


def svg_histogram(
    chart_id: str,
    counts: Sequence[float],
    *,
    title: str,
    x_label: str,
    y_label: str,
    color: str,
    names: Sequence[str],
    bar_labels: Sequence[str] | None = None,
    edge_labels: Sequence[str] | None = None,
    width: int = 640,
    height: int = 270,
) -> str:
    """Adjacent vertical bars (one per bin) with counts on top. `names` describe each bin (tooltips); the axis
    is labelled under each bar (`bar_labels`) or at the bin edges (`edge_labels`, one more than the bins)."""
    left, right, top, bottom = 46, 14, 18, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(counts), 1)
    bin_w = plot_w / n
    max_count = max([*counts, 4])  # an axis of at least 4 keeps one or two leads from filling the chart
    step = _nice_step(max_count)
    axis_max = step * max(1, math.ceil(max_count / step))
    base = top + plot_h
    out = [_svg_open(chart_id, width, height, title)]
    tick = 0.0
    while tick <= axis_max + 1e-9:
        y = base - tick / axis_max * plot_h
        out.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt_num(tick)}</text>'
        )
        tick += step
    for i, count in enumerate(counts):
        x = left + i * bin_w
        h = count / axis_max * plot_h
        if h > 0:
            out.append(
                f'<rect x="{x + 0.5:.1f}" y="{base - h:.1f}" width="{bin_w - 1:.1f}" height="{h:.1f}" '
                f'fill="{esc(color)}"><title>{esc(names[i])}: {_fmt_num(count)}</title></rect>'
            )
            out.append(
                f'<text class="total" x="{x + bin_w / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle">'
                f"{_fmt_num(count)}</text>"
            )
        if bar_labels:
            out.append(
                f'<text class="tick" x="{x + bin_w / 2:.1f}" y="{base + 14}" text-anchor="middle">'
                f"{esc(bar_labels[i])}</text>"
            )
    if edge_labels and not bar_labels:
        for i, label in enumerate(edge_labels):
            x = left + i * bin_w
            out.append(
                f'<line class="axisline" x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}"/>'
                f'<text class="tick" x="{x:.1f}" y="{base + 16}" text-anchor="middle">{esc(label)}</text>'
            )
    out.append(f'<line class="axisline" x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}"/>')
    out.append(
        f'<text class="axis" x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">{esc(x_label)}</text>'
        f'<text class="axis" x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{esc(y_label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------------------------------- charts


def _source_colors(names: Sequence[str]) -> dict[str, str]:
    return {name: SOURCE_PALETTE[i % len(SOURCE_PALETTE)] for i, name in enumerate(sorted(set(names)))}


def chart_tier_county(data: dict) -> str:
    rows_in = data["leads_by_tier_and_county"]
    counties = sorted({r["county"] for r in rows_in})
    tiers = TIERS + sorted({r["tier"] for r in rows_in} - set(TIERS))
    counts = {(r["county"], r["tier"]): r["leads"] for r in rows_in}
    colors = {t: TIER_COLORS.get(t, "#999999") for t in tiers}
    rows = [
        BarRow(c, [Segment(counts.get((c, t), 0), colors[t], f"tier {t}") for t in tiers]) for c in counties
    ]
    return svg_bar_chart(
        "leads_by_tier_and_county",
        rows,
        title="Leads by county and tier",
        axis_label="leads",
        legend=[(t, colors[t]) for t in tiers],
    )


def chart_days_to_auction(data: dict) -> str:
    buckets = data["days_to_auction"]
    return svg_histogram(
        "days_to_auction",
        [b["leads"] for b in buckets],
        title="Actionable leads by days to auction",
        x_label="days from the as-of date to the auction",
        y_label="actionable leads",
        color=DAYS_COLOR,
        names=[
            f"{b['label']} days" if b["low"] is not None and b["low"] >= 0 else b["label"] for b in buckets
        ],
        bar_labels=[b["label"] for b in buckets],
    )


def chart_equity(data: dict) -> str:
    bins = data["equity_pct"]
    last = len(bins) - 1
    names = [
        f"below {b['bin_high']}%"
        if i == 0
        else f"{b['bin_low']}% and up"
        if i == last
        else f"{b['bin_low']}% to {b['bin_high']}%"
        for i, b in enumerate(bins)
    ]
    # the outer bins are open-ended: their outer edges carry no number
    edges = [""] + [f"{b['bin_low']}%" for b in bins[1:]] + [""] if bins else []
    return svg_histogram(
        "equity_pct",
        [b["leads"] for b in bins],
        title="Equity share of actionable leads",
        x_label="equity % = (value - payoff) / value   (outer bars: everything beyond)",
        y_label="actionable leads",
        color=EQUITY_COLOR,
        names=names,
        edge_labels=edges,
    )


def chart_quarantine(data: dict) -> str:
    rows_in = data["quarantine_by_check"]
    checks = sorted({r["check_name"] for r in rows_in})
    sources = sorted({r["source"] for r in rows_in})
    colors = _source_colors(sources)
    counts = {(r["check_name"], r["source"]): r["quarantined"] for r in rows_in}
    rows = [
        BarRow(c, [Segment(counts.get((c, s), 0), colors[s], s) for s in sources])
        for c in sorted(checks, key=lambda c: -sum(counts.get((c, s), 0) for s in sources))
    ]
    return svg_bar_chart(
        "quarantine_by_check",
        rows,
        title="Quarantined rows by check and source",
        axis_label="rows quarantined this run",
        legend=[(s, colors[s]) for s in sources],
    )


def chart_freshness(data: dict) -> str:
    rows = []
    for s in data["source_freshness"]:
        color = FAILED_COLOR if s["status"] == "failed" else STALE_COLOR if s["stale"] else FRESH_COLOR
        days = s["freshness_days"]
        note = "never delivered" if days is None else f"{days} d"
        rows.append(BarRow(s["source"], [Segment(days or 0, color, "days since last delivery")], note))
    return svg_bar_chart(
        "source_freshness",
        rows,
        title="Days since each source's last delivery",
        axis_label="days since the last delivery (on the as-of date)",
        legend=[("fresh", FRESH_COLOR), ("past its SLA", STALE_COLOR), ("failed this run", FAILED_COLOR)],
        min_axis=7,
    )


def chart_events(data: dict) -> str:
    rows = [BarRow(e["event_type"], [Segment(e["events"], EVENT_COLOR)]) for e in data["events_by_type"]]
    return svg_bar_chart("events_by_type", rows, title="What changed this run", axis_label="events")


# ----------------------------------------------------------------------------------------------------- HTML

CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f5f7fa; --card: #ffffff; --accent: #08519c; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1340px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 0 0 6px; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
               padding: 16px 18px; margin: 16px 0; }
.sub { color: var(--muted); margin: 0 0 12px; }
.how { color: var(--muted); font-size: 12.5px; margin: 0 0 8px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px;
         color: #fff; background: #616e7c; vertical-align: 1px; }
.badge.published, .badge.ok { background: #2e7d32; }
.badge.partial { background: #ef6c00; }
.badge.failed { background: #c62828; }
.badge.tier { color: #111; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px 16px; margin: 0; }
.facts div { border-left: 3px solid var(--line); padding-left: 8px; }
.facts dt { color: var(--muted); font-size: 12px; }
.facts dd { margin: 0; font-weight: 600; }
.notice { background: #fff4e5; border: 1px solid #f5c27a; border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
.error { background: #fdecea; border-color: #f2a9a4; }
ul.warnings { margin: 6px 0 0; padding-left: 20px; }
.cols { display: flex; flex-wrap: wrap; gap: 24px; margin-top: 12px; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { background: #f0f3f7; font-weight: 600; white-space: normal; vertical-align: bottom; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.msg { white-space: normal; min-width: 160px; max-width: 320px; color: var(--muted); }
.scroll { overflow-x: auto; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(600px, 1fr)); gap: 16px; }
.charts section.card { margin: 0; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg.chart text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #323f4b; }
svg.chart text.axis { fill: var(--muted); }
svg.chart text.total { font-weight: 600; }
svg.chart text.in { font-weight: 600; }
svg.chart line.grid { stroke: #e4e7eb; }
svg.chart line.axisline { stroke: #9aa5b1; }
.empty { color: var(--muted); font-style: italic; }
.below { margin-top: 10px; }
footer { color: var(--muted); font-size: 12px; margin-top: 20px; }
"""


def _fmt_dt(value: str | None) -> str:
    return "—" if not value else value.replace("T", " ")[:19] + " UTC"


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{seconds:.1f} s"


def _fmt_money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.0f}"


def _fmt_int(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _table(headers: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    """An HTML table; `headers` are (already-escaped name, numeric?) and rows hold already-escaped cells."""
    head = "".join(f'<th class="num">{h}</th>' if num else f"<th>{h}</th>" for h, num in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if num else ("msg" if h == "message" else "")}">{cell}</td>'
            for (h, num), cell in zip(headers, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    )


def _badge(status: str | None) -> str:
    cls = re.sub(r"[^a-z_]", "", (status or "").lower())
    return f'<span class="badge {cls}">{esc(status or "unknown")}</span>'


def _header(data: dict) -> str:
    run, snap = data["run"], data["leads_snapshot"] or {}
    counts = run["stage_counts"]
    facts = [
        ("As of", esc(run["as_of"])),
        ("Status", _badge(run["status"])),
        ("Started", esc(_fmt_dt(run["started_at"]))),
        ("Finished", esc(_fmt_dt(run["finished_at"]))),
        ("Duration", esc(_fmt_duration(run["duration_seconds"]))),
        ("Sources ok / failed", f"{_fmt_int(run['sources_ok'])} / {_fmt_int(run['sources_failed'])}"),
        ("Leads published", esc(_fmt_int(run["leads_published"]))),
        ("Actionable leads", esc(_fmt_int(snap.get("actionable")))),
        ("Rows in", esc(_fmt_int(counts.get("rows_in")))),
        ("Rows quarantined", esc(_fmt_int(counts.get("rows_quarantined")))),
    ]
    parts = [
        "<header>",
        "<h1>Pre-foreclosure leads — morning report</h1>",
        f'<p class="sub">Run <code>{esc(data["report_run_id"])}</code> · as of {esc(run["as_of"])} · '
        f"{_badge(run['status'])}</p>",
        "</header>",
        '<section class="card" id="run"><h2>Run</h2>',
    ]
    parts += [f'<div class="notice">{esc(n)}</div>' for n in data["notices"]]
    parts.append(
        '<dl class="facts">' + "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts) + "</dl>"
    )
    if run["message"]:
        parts.append(f'<div class="notice error"><strong>Message:</strong> {esc(run["message"])}</div>')
    if run["warnings"]:
        items = "".join(f"<li>{esc(w)}</li>" for w in run["warnings"])
        parts.append(
            f'<div class="notice"><strong>{len(run["warnings"])} warning(s)</strong>'
            f'<ul class="warnings">{items}</ul></div>'
        )
    else:
        parts.append('<p class="how">No warnings.</p>')
    ordered = [k for k in STAGE_ORDER if k in counts] + sorted(k for k in counts if k not in STAGE_ORDER)
    stage_rows = [
        [esc(k), esc(_fmt_int(counts[k]) if isinstance(counts[k], int) else counts[k])] for k in ordered
    ]
    timing_rows = [
        [esc(k), esc(f"{v:.2f}" if isinstance(v, int | float) else v)] for k, v in run["timings"].items()
    ]
    parts.append('<div class="cols">')
    parts.append(
        "<div><h3>Rows per stage</h3>" + _table([("stage", False), ("rows", True)], stage_rows) + "</div>"
    )
    parts.append(
        "<div><h3>Timings</h3>" + _table([("step", False), ("seconds", True)], timing_rows) + "</div>"
    )
    parts.append("</div></section>")
    return "".join(parts)


def _sources_section(data: dict) -> str:
    headers = [
        ("source", False),
        ("kind", False),
        ("status", False),
        ("files landed", True),
        ("files skipped", True),
        ("rows in", True),
        ("ignored", True),
        ("quarantined", True),
        ("duplicate", True),
        ("staged", True),
        ("last delivery", False),
        ("freshness (days)", True),
        ("message", False),
    ]
    rows = [
        [
            esc(s["source"]),
            esc(s["kind"]),
            _badge(s["status"]),
            *(
                esc(_fmt_int(s[k]))
                for k in (
                    "files_landed",
                    "files_skipped",
                    "rows_in",
                    "rows_ignored",
                    "rows_quarantined",
                    "rows_duplicate",
                    "rows_staged",
                )
            ),
            esc(s["last_delivery_date"] or "never"),
            esc(_fmt_int(s["freshness_days"])),
            esc(s["message"] or ""),
        ]
        for s in data["sources"]
    ]
    body = (
        _table([(esc(h), n) for h, n in headers], rows)
        if rows
        else '<p class="empty">No sources recorded for this run.</p>'
    )
    return (
        '<section class="card" id="sources"><h2>Sources</h2>'
        '<p class="how">How to read this: one row per source in this run — rows read, rows ignored (documents '
        "unrelated to foreclosure), rejected into quarantine, repeated within the run, and staged; freshness is "
        "days since the last delivery on the as-of date.</p>" + body + "</section>"
    )


def _chart_card(anchor: str, title: str, how: str, svg: str, extra: str = "") -> str:
    return (
        f'<section class="card" id="{esc(anchor)}"><h2>{esc(title)}</h2>'
        f'<p class="how">How to read this: {esc(how)}</p>{svg}{extra}</section>'
    )


def _tier_county_table(data: dict) -> str:
    """The tier x county counts as a small pivot table (narrow segments of the chart carry no number)."""
    rows_in = data["leads_by_tier_and_county"]
    if not rows_in:
        return '<p class="empty">No leads published.</p>'
    counties = sorted({r["county"] for r in rows_in})
    tiers = TIERS + sorted({r["tier"] for r in rows_in} - set(TIERS))
    counts = {(r["county"], r["tier"]): r["leads"] for r in rows_in}
    rows = [
        [
            esc(c),
            *(esc(_fmt_int(counts.get((c, t), 0))) for t in tiers),
            esc(_fmt_int(sum(counts.get((c, t), 0) for t in tiers))),
        ]
        for c in counties
    ]
    totals = [sum(counts.get((c, t), 0) for c in counties) for t in tiers]
    rows.append(
        ["<strong>all</strong>", *(f"<strong>{_fmt_int(n)}</strong>" for n in [*totals, sum(totals)])]
    )
    headers = [("county", False), *((esc(t), True) for t in tiers), ("total", True)]
    return '<div class="below">' + _table(headers, rows) + "</div>"


def _charts(data: dict) -> str:
    snap = data["leads_snapshot"] or {}
    unknown_equity = snap.get("actionable_unknown_equity", 0) or 0
    quarantine = (
        chart_quarantine(data)
        if data["quarantine_by_check"]
        else '<p class="empty">No rows were quarantined this run.</p>'
    )
    cards = [
        _chart_card(
            "chart-tier-county",
            "Leads by county and tier",
            "one bar per county, split by tier: A (best) to D are actionable leads, grey 'inactive' are sold, "
            "cancelled or stale cases kept for history. The number at the end is the county's total.",
            chart_tier_county(data),
            _tier_county_table(data),
        ),
        _chart_card(
            "chart-days",
            "Days to auction",
            "actionable leads per window of days between the as-of date and the (recorded or estimated) auction "
            "date; leftmost bars are the most urgent, 'unknown' have no auction date.",
            chart_days_to_auction(data),
        ),
        _chart_card(
            "chart-equity",
            "Equity distribution",
            "actionable leads per 10-point bin of equity % (estimated value minus estimated payoff, as a share "
            f"of value); right of 0% there is equity to work with. {unknown_equity} actionable lead(s) without "
            "a known payoff are not counted.",
            chart_equity(data),
        ),
        _chart_card(
            "chart-quarantine",
            "Quarantine by reason",
            "rows rejected this run per failed check, coloured by source. Counts only: the rows themselves "
            "are in the database's quarantine table.",
            quarantine,
        ),
        _chart_card(
            "chart-freshness",
            "Source freshness",
            "days since each source's last delivery, on the as-of date. Orange = past its delivery SLA (a run "
            "warning), red = the source failed this run, 'never delivered' = nothing has arrived yet.",
            chart_freshness(data),
        ),
        _chart_card(
            "chart-events",
            "What changed this run",
            "change-feed events this run recorded, per type (a lead can have several). On a first run every "
            "lead is a new_lead.",
            chart_events(data),
        ),
    ]
    return '<div class="charts">' + "".join(cards) + "</div>"


def _top_leads(data: dict) -> str:
    headers = [
        ("lead_id", False),
        ("county", False),
        ("stage", False),
        ("status", False),
        ("auction date", False),
        ("days", True),
        ("value", True),
        ("payoff", True),
        ("equity %", True),
        ("strategy", False),
        ("score", True),
        ("tier", False),
    ]
    rows = []
    for lead in data["top_leads"]:
        auction = lead["auction_date"] or "—"
        if lead["auction_date"] and lead["auction_date_source"] == "estimated":
            auction += " (est.)"
        equity = "—" if lead["equity_pct"] is None else f"{lead['equity_pct'] * 100:.0f}%"
        tier_color = TIER_COLORS.get(lead["tier"], "#999999")
        rows.append(
            [
                f"<code>{esc(lead['lead_id'])}</code>",
                esc(lead["county"]),
                esc(lead["stage"]),
                esc(lead["status"]),
                esc(auction),
                esc(_fmt_int(lead["days_to_auction"])),
                esc(_fmt_money(lead["estimated_value"])),
                esc(_fmt_money(lead["estimated_payoff"])),
                esc(equity),
                esc(lead["strategy"]),
                esc(lead["score"]),
                f'<span class="badge tier" style="background:{esc(tier_color)};color:{_text_color(tier_color)}">'
                f"{esc(lead['tier'])}</span>",
            ]
        )
    body = (
        _table([(esc(h), n) for h, n in headers], rows)
        if rows
        else '<p class="empty">No actionable leads.</p>'
    )
    return (
        '<section class="card" id="top-leads"><h2>Top 20 actionable leads</h2>'
        '<p class="how">How to read this: actionable mortgage-lane leads not on the do-not-contact list, highest '
        "score first, then the soonest auction; '(est.)' marks an auction date estimated from the state's rules. "
        "Look a lead up by its lead_id in the database (<code>leads query</code>) for the owner and address, "
        "which this report deliberately leaves out.</p>" + body + "</section>"
    )


def report_json(data: dict) -> str:
    """The data as JSON safe inside a <script> element: `<`, `>` and `&` are written as \\u escapes."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_html(data: dict) -> str:
    """The complete, self-contained report page for `report_data(...)`."""
    title = f"Leads morning report — {data['run']['as_of']} — run {data['report_run_id']}"
    return "".join(
        [
            "<!DOCTYPE html>\n",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            # no external fetches at all, even if someone adds one later
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'; img-src data:\">",
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>",
            _header(data),
            _sources_section(data),
            _charts(data),
            _top_leads(data),
            "<footer>Generated from the published database (read-only). This report holds counts, ids, "
            "check and source names only: no owner names, addresses or rejected rows. Its data is also in the "
            "JSON block <code>#report-data</code> of this file.</footer>",
            f'<script type="application/json" id="report-data">{report_json(data)}</script>',
            "</main></body></html>\n",
        ]
    )


# ---------------------------------------------------------------------------------------------------- write


def _atomic_write_text(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with temp.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def write_report(published_db: Path, reports_dir: Path, run_id: str | None = None) -> Path:
    """Write reports_dir/<run_id>.html (default: the latest run) and the same page as reports_dir/latest.html,
    each atomically (temp file, fsync, rename); returns the run's file. The published database is opened
    read-only. Re-rendering an older run leaves latest.html alone; a run the database does not hold (it did
    not publish) counts as the latest."""
    if run_id is not None and not _RUN_ID.fullmatch(run_id):
        raise LeadsError(f"not a run id: {run_id!r}")
    con = analyst_connection(Path(published_db))
    try:
        data = report_data(con, run_id)
    finally:
        con.close()
    page = render_html(data)
    name = data["report_run_id"]
    if not _RUN_ID.fullmatch(name):
        raise LeadsError(f"the run id {name!r} cannot name a report file")
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    target = reports_dir / f"{name}.html"
    _atomic_write_text(target, page)
    if name == data["latest_run_id"] or name != data["data_run_id"]:
        _atomic_write_text(reports_dir / LATEST_NAME, page)
    fsync_dir(reports_dir)
    return target
