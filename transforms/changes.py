"""What changed since the last publish: history rows and the change feed outreach follows.

Compared per lead_id between the previous published snapshot and this run's candidate leads. One chain of
documents yields one event per kind per run.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

# Fields whose change makes a new lead_history row ("what did we know on date X").
TRACKED = [
    "status",
    "stage",
    "auction_date",
    "auction_date_source",
    "estimated_value",
    "estimated_payoff",
    "equity_band",
    "score",
    "tier",
    "suppressed",
]
STAGE_ORDER = {
    "LIS_PENDENS": 0,
    "NOTICE_OF_DEFAULT": 0,
    "FINAL_JUDGMENT": 1,
    "NOTICE_OF_SALE": 2,
    "SALE_RESULT": 3,
}
EVENT_TYPES = [
    "new_lead",
    "stage_advanced",
    "sale_scheduled",
    "auction_date_changed",
    "postponed",
    "cancelled",
    "sold",
    "equity_band_changed",
    "tier_changed",
]
EVENT_SCHEMA = {
    "run_id": pl.String,
    "as_of": pl.Date,
    "lead_id": pl.String,
    "event_type": pl.String,
    "old_value": pl.String,
    "new_value": pl.String,
}


def _differs(column: str) -> pl.Expr:
    return pl.col(column).ne_missing(pl.col(f"{column}_prev"))


def lead_history_rows(
    previous: pl.DataFrame, current: pl.DataFrame, run_id: str, as_of: dt.date
) -> pl.DataFrame:
    """Leads that are new or whose tracked fields changed since the previous publish, as history rows."""
    prev = previous.select("lead_id", *[pl.col(c).alias(f"{c}_prev") for c in TRACKED])
    joined = current.select("lead_id", *TRACKED).join(prev, on="lead_id", how="left", maintain_order="left")
    is_new = pl.col("status_prev").is_null() & ~pl.col("lead_id").is_in(previous["lead_id"].implode())
    changed = pl.any_horizontal([_differs(c) for c in TRACKED])
    return (
        joined.filter(is_new | changed)
        .select(pl.lit(run_id).alias("run_id"), pl.lit(as_of).alias("as_of"), "lead_id", *TRACKED)
        .sort("lead_id")
    )


def _event(name: str, when: pl.Expr, old: pl.Expr, new: pl.Expr) -> tuple[str, pl.Expr, pl.Expr, pl.Expr]:
    return name, when, old, new


def lead_events(previous: pl.DataFrame, current: pl.DataFrame, run_id: str, as_of: dt.date) -> pl.DataFrame:
    """The change feed of this run: one row per lead and kind of change (see EVENT_TYPES)."""
    columns = ["status", "stage", "auction_date", "auction_date_source", "equity_band", "tier"]
    prev = previous.select("lead_id", *[pl.col(c).alias(f"{c}_prev") for c in columns])
    joined = current.select("lead_id", *columns).join(prev, on="lead_id", how="left", maintain_order="left")
    known = pl.col("lead_id").is_in(previous["lead_id"].implode())
    rank = pl.col("stage").replace_strict(STAGE_ORDER, default=-1, return_dtype=pl.Int8)
    rank_prev = pl.col("stage_prev").replace_strict(STAGE_ORDER, default=-1, return_dtype=pl.Int8)
    recorded = pl.col("auction_date_source") == "recorded"
    was_recorded = pl.col("auction_date_source_prev").eq_missing("recorded")
    became = lambda status: (pl.col("status") == status) & pl.col("status_prev").ne_missing(status)  # noqa: E731
    events = [
        _event("new_lead", ~known, pl.lit(None), pl.col("status")),
        _event("stage_advanced", known & (rank > rank_prev), pl.col("stage_prev"), pl.col("stage")),
        _event("sale_scheduled", known & recorded & ~was_recorded, pl.lit(None), pl.col("auction_date")),
        _event(
            "auction_date_changed",
            known & recorded & was_recorded & _differs("auction_date"),
            pl.col("auction_date_prev"),
            pl.col("auction_date"),
        ),
        _event("postponed", known & became("postponed"), pl.col("status_prev"), pl.col("status")),
        _event("cancelled", known & became("cancelled"), pl.col("status_prev"), pl.col("status")),
        _event("sold", known & became("sold"), pl.col("status_prev"), pl.col("status")),
        _event(
            "equity_band_changed",
            known & _differs("equity_band"),
            pl.col("equity_band_prev"),
            pl.col("equity_band"),
        ),
        _event("tier_changed", known & _differs("tier"), pl.col("tier_prev"), pl.col("tier")),
    ]
    # one filtered frame per kind of event (a null condition is no event), then lead by lead in EVENT_TYPES
    # order: no per-row lists of structs (those cost seconds on 100k leads)
    rows = [
        joined.filter(when).select(
            "lead_id",
            pl.lit(name).alias("event_type"),
            old.cast(pl.String).alias("old_value"),
            new.cast(pl.String).alias("new_value"),
        )
        for name, when, old, new in events
    ]
    return (
        pl.concat(rows)
        .select(
            pl.lit(run_id).alias("run_id"),
            pl.lit(as_of).alias("as_of"),
            "lead_id",
            "event_type",
            "old_value",
            "new_value",
        )
        .cast(EVENT_SCHEMA)
        .sort(
            "lead_id",
            pl.col("event_type").replace_strict(
                {e: i for i, e in enumerate(EVENT_TYPES)}, return_dtype=pl.Int8
            ),
        )
    )
