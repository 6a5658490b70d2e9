"""Foreclosure cases: who is foreclosed, when, and the true dated timeline of each case.

A case's documents are rows of `docs` (case, code, event, record_day, sale_day, seq); events that leave no
document (the default, an auction, a Texas cure) are rows of `truth_only`. Both hold the full timeline, past and
future; the generator keeps what happened on or before as_of.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from leads.sample.counties import County
from leads.sample.days import (
    NEVER,
    first_tuesday_on_or_after,
    next_weekday,
    prev_weekday,
    uniform_days,
)

KIND_LENDER, KIND_HOA, KIND_GOVERNMENT, KIND_INDIVIDUAL = 0, 1, 2, 3
PLAINTIFF_TYPES = ("lender", "hoa", "government", "individual")

# canonical document events, plus truth-only events that no source records
LIS_PENDENS, NOTICE_OF_DEFAULT, FINAL_JUDGMENT = "LIS_PENDENS", "NOTICE_OF_DEFAULT", "FINAL_JUDGMENT"
NOTICE_OF_SALE, POSTPONEMENT, RELEASE, SALE_RESULT = (
    "NOTICE_OF_SALE",
    "POSTPONEMENT",
    "RELEASE",
    "SALE_RESULT",
)
DEFAULT, AUCTION_SOLD, CURED = "DEFAULT", "AUCTION_SOLD", "CURED"
SCHEDULE_EVENTS = (NOTICE_OF_SALE, POSTPONEMENT)

_DOC_SCHEMA = {
    "case": pl.Int64,
    "code": pl.String,
    "event": pl.String,
    "record_day": pl.Int64,
    "sale_day": pl.Int64,
    "seq": pl.Int64,
}


@dataclass(frozen=True)
class Timeline:
    """Documents and truth-only events of a batch of cases, with how each case ends."""

    docs: pl.DataFrame
    truth_only: pl.DataFrame
    cancel_day: np.ndarray  # the day the foreclosure stopped without a sale (NEVER: it did not)
    sold_day: np.ndarray  # the auction day on which it sold (NEVER: it did not)


@dataclass(frozen=True)
class CaseBatch:
    """All simulated cases of a county (visible or not) and their timelines."""

    parcel: np.ndarray
    kind: np.ndarray
    start: np.ndarray
    default_day: np.ndarray  # NEVER for suits that are not about a missed payment
    timeline: Timeline


def _part(
    mask: np.ndarray, day: np.ndarray, code: str, event: str, seq: int, sale: np.ndarray | None = None
) -> pl.DataFrame:
    idx = np.flatnonzero(mask)
    return pl.DataFrame(
        {
            "case": idx.astype(np.int64),
            "code": pl.Series([code] * idx.size, dtype=pl.String),
            "event": pl.Series([event] * idx.size, dtype=pl.String),
            "record_day": day[idx].astype(np.int64),
            "sale_day": (sale[idx] if sale is not None else np.full(idx.size, NEVER)).astype(np.int64),
            "seq": np.full(idx.size, seq, dtype=np.int64),
        },
        schema=_DOC_SCHEMA,
    )


def _select(k: np.ndarray, options: list[np.ndarray]) -> np.ndarray:
    return np.choose(k, options)


def _before_final(rng: np.random.Generator, start: np.ndarray, final: np.ndarray) -> np.ndarray:
    """A weekday strictly after start and at least one day before the final sale date."""
    span = np.maximum(final - 3 - start, 1)
    return next_weekday(start + 1 + np.floor(rng.random(start.size) * span).astype(np.int64))


def judicial(rng: np.random.Generator, start: np.ndarray, kind: np.ndarray) -> Timeline:
    """Florida: LP -> FJ (90-420 d) -> NS (0-5 d) for a sale 20-35 d after FJ -> CT, or re-noticed sales
    (postponements), or RLP at any point before the sale. Suits that are not foreclosures never reach FJ."""
    n = start.size
    fc = kind <= KIND_HOA
    fj = next_weekday(start + uniform_days(rng, 90, 420, n))
    ns0 = prev_weekday(fj + uniform_days(rng, 0, 5, n))  # FJ is a weekday, so FJ <= NS <= FJ + 5
    sales = [next_weekday(fj + uniform_days(rng, 20, 33, n))]  # next_weekday adds <= 2: sale <= FJ + 35
    for _ in range(2):
        sales.append(next_weekday(sales[-1] + uniform_days(rng, 14, 60, n)))
    postponements = rng.choice(3, n, p=(0.75, 0.17, 0.08))
    final = _select(postponements, sales)
    released = rng.random(n) < np.where(fc, 0.2, 0.5)
    release_day = np.where(
        fc, _before_final(rng, start, final), next_weekday(start + uniform_days(rng, 60, 600, n))
    )
    release_day = np.where(released, release_day, NEVER)
    sold = fc & ~released
    certificate = next_weekday(final + uniform_days(rng, 1, 8, n))  # recorded 1-10 days after the sale
    docs = pl.concat(
        [
            _part(np.ones(n, dtype=bool), start, "LP", LIS_PENDENS, 0),
            _part(fc & (fj < release_day), fj, "FJ", FINAL_JUDGMENT, 1),
            _part(fc & (ns0 < release_day), ns0, "NS", NOTICE_OF_SALE, 2, sales[0]),
            # a repeated notice of sale, recorded on the day the sale was moved, is a postponement
            _part(
                fc & (postponements >= 1) & (sales[0] < release_day),
                sales[0],
                "NS",
                POSTPONEMENT,
                3,
                sales[1],
            ),
            _part(
                fc & (postponements >= 2) & (sales[1] < release_day),
                sales[1],
                "NS",
                POSTPONEMENT,
                4,
                sales[2],
            ),
            _part(released, release_day, "RLP", RELEASE, 5),
            _part(sold, certificate, "CT", SALE_RESULT, 6),
        ]
    )
    truth = _part(sold, final, "", AUCTION_SOLD, 6)
    return Timeline(docs, truth, release_day, np.where(sold, final, NEVER))


def notice_of_default(rng: np.random.Generator, start: np.ndarray, kind: np.ndarray) -> Timeline:
    """California: NOD -> (>= 90 d) NTS for a sale >= 21 d later -> 0-3 NPP postponements (7-60 d each) ->
    TDUS 1-15 d after the sale, or RESC at any point before it."""
    n = start.size
    nts = next_weekday(start + uniform_days(rng, 90, 200, n))
    sales = [next_weekday(nts + uniform_days(rng, 21, 38, n))]
    for _ in range(3):
        sales.append(next_weekday(sales[-1] + uniform_days(rng, 7, 58, n)))
    postponements = rng.choice(4, n, p=(0.55, 0.25, 0.12, 0.08))
    final = _select(postponements, sales)
    rescinded = rng.random(n) < 0.25
    rescission = np.where(rescinded, _before_final(rng, start, final), NEVER)
    sold = ~rescinded
    deed = next_weekday(final + uniform_days(rng, 1, 13, n))
    parts = [
        _part(np.ones(n, dtype=bool), start, "NOD", NOTICE_OF_DEFAULT, 0),
        _part(nts < rescission, nts, "NTS", NOTICE_OF_SALE, 1, sales[0]),
    ]
    for i in range(3):  # announced at or shortly before the sale it moves
        recorded = prev_weekday(sales[i] - uniform_days(rng, 0, 4, n))
        parts.append(
            _part(
                (postponements > i) & (recorded < rescission),
                recorded,
                "NPP",
                POSTPONEMENT,
                2 + i,
                sales[i + 1],
            )
        )
    parts.append(_part(rescinded, rescission, "RESC", RELEASE, 5))
    parts.append(_part(sold, deed, "TDUS", SALE_RESULT, 6))
    truth = _part(sold, final, "", AUCTION_SOLD, 6)
    return Timeline(pl.concat(parts), truth, rescission, np.where(sold, final, NEVER))


def sale_notice(rng: np.random.Generator, start: np.ndarray, kind: np.ndarray) -> Timeline:
    """Texas: a notice of (substitute) trustee sale for a first Tuesday >= 21 d ahead; a postponed sale is
    re-posted as a new notice. Sales and cures leave no document in this source."""
    n = start.size
    first_sale = first_tuesday_on_or_after(start + 21)
    first_sale = np.where(rng.random(n) < 0.25, first_tuesday_on_or_after(first_sale + 1), first_sale)
    filed, sales = [start], [first_sale]
    for _ in range(2):
        filed.append(next_weekday(sales[-1] + uniform_days(rng, 1, 12, n)))
        sales.append(first_tuesday_on_or_after(filed[-1] + 21))
    reposts = rng.choice(3, n, p=(0.7, 0.2, 0.1))
    final, final_filed = _select(reposts, sales), _select(reposts, filed)
    sold = rng.random(n) < 0.65
    cure = final_filed + 1 + np.floor(rng.random(n) * np.maximum(final - final_filed - 1, 1)).astype(np.int64)
    parts = [_part(np.ones(n, dtype=bool), start, "NOTICE", NOTICE_OF_SALE, 0, sales[0])]
    for i in (1, 2):
        parts.append(_part(reposts >= i, filed[i], "NOTICE", POSTPONEMENT, i, sales[i]))
    truth = pl.concat([_part(sold, final, "", AUCTION_SOLD, 6), _part(~sold, cure, "", CURED, 5)])
    return Timeline(pl.concat(parts), truth, np.where(sold, NEVER, cure), np.where(sold, final, NEVER))


LIFECYCLES: dict[str, Callable[[np.random.Generator, np.ndarray, np.ndarray], Timeline]] = {
    "judicial": judicial,
    "notice_of_default": notice_of_default,
    "sale_notice": sale_notice,
}


def _weighted_without_replacement(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices drawn with probability proportional to weight, in increasing order."""
    keys = rng.exponential(size=weights.size) / weights
    return np.sort(np.argsort(keys, kind="stable")[: min(k, weights.size)])


def _filing_parcels(
    rng: np.random.Generator, earliest: np.ndarray, start_lo: int, as_of_day: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Up to k distinct parcels and the day each files, filing days uniform over [start_lo, as_of_day].

    earliest: per candidate parcel, the first day it can file. The day comes first, then a parcel able to
    file that day: picking the parcel first and then a day in its span would crowd the recently originated
    loans, whose span is short, into the last weeks, so that the recent filing rate grew with the length of
    the history. Returns (candidate indices in increasing order, filing days)."""
    order = np.argsort(earliest, kind="stable")
    ready_by = earliest[order]
    chosen = np.empty(0, dtype=np.int64)
    day = np.empty(0, dtype=np.int64)
    # a parcel drawn twice is redrawn with a fresh day; when k nears the number of candidates a few may
    # still be missing after the last round (the batch is then a little smaller than drawn)
    for _ in range(32):
        need = min(k, earliest.size) - chosen.size
        if need <= 0:
            break
        new_day = uniform_days(rng, start_lo, as_of_day, need)
        ready = np.searchsorted(ready_by, new_day, side="right")  # parcels able to file on that day
        new_day, ready = new_day[ready > 0], ready[ready > 0]
        pick = order[np.floor(rng.random(ready.size) * ready).astype(np.int64)]
        chosen, day = np.concatenate([chosen, pick]), np.concatenate([day, new_day])
        chosen, first = np.unique(chosen, return_index=True)
        day = day[first]
    return chosen, day


def simulate_cases(
    rng: np.random.Generator,
    county: County,
    land_use_idx: np.ndarray,
    first_orig_day: np.ndarray,
    window_start: int,
    as_of_day: int,
) -> CaseBatch:
    """Every case that files in or before the history window, with its full timeline.

    first_orig_day: per parcel, the origination day of its open first loan (NEVER when it has none)."""
    n = land_use_idx.size
    start_lo = window_start - county.lead_in_days
    expected = county.case_rate * n * (as_of_day - start_lo) / 365.25
    total = int(rng.poisson(expected))
    shares = (0.87, 0.10, 0.015, 0.015) if county.process == "judicial" else (1.0, 0.0, 0.0, 0.0)
    counts = rng.multinomial(total, shares)

    # mortgage foreclosures: parcels with an open first loan; default >= 6 months after origination and the
    # first filing >= 120 days after default (12 CFR 1024.41)
    candidates = np.flatnonzero(first_orig_day < NEVER)
    gap = uniform_days(rng, 120, 400, candidates.size)
    earliest = first_orig_day[candidates] + 180 + gap
    feasible = earliest <= as_of_day
    candidates, gap, earliest = candidates[feasible], gap[feasible], earliest[feasible]
    chosen, lender_day = _filing_parcels(rng, earliest, start_lo, as_of_day, int(counts[0]))
    lender_parcel = candidates[chosen]
    lender_start = prev_weekday(lender_day)
    lender_default = lender_start - gap[chosen]

    # HOA foreclosures (mostly condos) and other suits on parcels not already in foreclosure
    taken = np.zeros(n, dtype=bool)
    taken[lender_parcel] = True
    parcels, kinds = [lender_parcel], [np.full(chosen.size, KIND_LENDER)]
    starts, defaults = [lender_start], [lender_default]
    for kind in (KIND_HOA, KIND_GOVERNMENT, KIND_INDIVIDUAL):
        free = np.flatnonzero(~taken)
        weight = np.where(land_use_idx[free] == 1, 6.0, 1.0) if kind == KIND_HOA else np.ones(free.size)
        chosen = free[_weighted_without_replacement(rng, weight, int(counts[kind]))]
        taken[chosen] = True
        start = prev_weekday(uniform_days(rng, start_lo, as_of_day, chosen.size))
        parcels.append(chosen)
        kinds.append(np.full(chosen.size, kind))
        starts.append(start)
        unpaid = start - uniform_days(rng, 120, 365, chosen.size)  # HOA assessments unpaid since
        defaults.append(unpaid if kind == KIND_HOA else np.full(chosen.size, NEVER))

    parcel, kind_a = np.concatenate(parcels), np.concatenate(kinds)
    start_a, default_a = np.concatenate(starts), np.concatenate(defaults)
    lifecycle = LIFECYCLES[county.process]
    first = lifecycle(rng, start_a, kind_a)

    # the same house re-enters foreclosure: ~15% of cured mortgage cases are re-filed 5-20 months later
    refile_start = next_weekday(first.cancel_day + 150 + uniform_days(rng, 0, 450, parcel.size))
    refile = (
        (kind_a == KIND_LENDER)
        & (first.cancel_day < NEVER)
        & (refile_start <= as_of_day)
        & (rng.random(parcel.size) < 0.15)
    )
    idx = np.flatnonzero(refile)
    r_start = refile_start[idx]
    cured = first.cancel_day[idx]
    r_default = (
        cured
        + 30
        + np.floor(rng.random(idx.size) * np.maximum(r_start - 120 - cured - 30, 1)).astype(np.int64)
    )
    second = lifecycle(rng, r_start, np.full(idx.size, KIND_LENDER))
    offset = parcel.size
    timeline = Timeline(
        docs=pl.concat([first.docs, second.docs.with_columns(pl.col("case") + offset)]),
        truth_only=pl.concat([first.truth_only, second.truth_only.with_columns(pl.col("case") + offset)]),
        cancel_day=np.concatenate([first.cancel_day, second.cancel_day]),
        sold_day=np.concatenate([first.sold_day, second.sold_day]),
    )
    return CaseBatch(
        parcel=np.concatenate([parcel, parcel[idx]]),
        kind=np.concatenate([kind_a, np.full(idx.size, KIND_LENDER)]),
        start=np.concatenate([start_a, r_start]),
        default_day=np.concatenate([default_a, r_default]),
        timeline=timeline,
    )


def case_status(events: pl.DataFrame, process: str, on_day: int) -> pl.DataFrame:
    """Per case: status, auction_date (day), outcome and outcome day on a given day, from its true events.

    events: case, event, day, sale_day, seq. Rules: sold / cancelled once an auction sold / a release or cure
    happened; otherwise the latest notice decides (postponed when it was a postponement); a Texas case whose
    noticed sale date has passed with no newer notice is `sale_date_passed_unknown`, whatever truly happened.
    """
    past = events.filter(pl.col("day") <= on_day).sort("case", "day", "seq")
    is_sched = pl.col("event").is_in(SCHEDULE_EVENTS)
    per_case = past.group_by("case").agg(
        sold_day=pl.col("day").filter(pl.col("event") == AUCTION_SOLD).min(),
        cancel_day=pl.col("day").filter(pl.col("event").is_in([RELEASE, CURED])).min(),
        has_judgment=(pl.col("event") == FINAL_JUDGMENT).any(),
        last_notice=pl.col("event").filter(is_sched).last(),
        sale_day=pl.col("sale_day").filter(is_sched).last(),
    )
    sold, cancelled = pl.col("sold_day").is_not_null(), pl.col("cancel_day").is_not_null()
    noticed = pl.col("last_notice").is_not_null()
    scheduled = (
        pl.when(pl.col("last_notice") == POSTPONEMENT)
        .then(pl.lit("postponed"))
        .otherwise(pl.lit("sale_scheduled"))
    )
    if process == "sale_notice":
        status = (
            pl.when(noticed & (pl.col("sale_day") < on_day))
            .then(pl.lit("sale_date_passed_unknown"))
            .when(cancelled)
            .then(pl.lit("cancelled"))
            .otherwise(scheduled)
        )
    else:
        status = (
            pl.when(sold)
            .then(pl.lit("sold"))
            .when(cancelled)
            .then(pl.lit("cancelled"))
            .when(noticed)
            .then(scheduled)
            .when(pl.col("has_judgment"))
            .then(pl.lit("judgment"))
            .otherwise(pl.lit("active"))
        )
    shows_date = status.is_in(["sale_scheduled", "postponed", "sale_date_passed_unknown", "sold"])
    return per_case.select(
        "case",
        status.alias("status"),
        pl.when(shows_date).then(pl.col("sale_day")).alias("auction_day"),
        pl.when(sold)
        .then(pl.lit("sold"))
        .when(cancelled)
        .then(pl.lit("cancelled"))
        .otherwise(pl.lit("pending"))
        .alias("outcome"),
        pl.when(sold).then(pl.col("sold_day")).otherwise(pl.col("cancel_day")).alias("outcome_day"),
    ).sort("case")
