"""Calendar arithmetic on day numbers (int64 days since 1970-01-01), vectorized with numpy."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

EPOCH = date(1970, 1, 1)
NEVER = 10**7  # a day number far beyond any simulated date: "this event does not happen"
DAYS_PER_MONTH = 365.25 / 12


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def next_weekday(days: np.ndarray) -> np.ndarray:
    """The day itself on Monday-Friday, else the following Monday (recorders do not record on weekends)."""
    wd = weekday(days)
    return days + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))


def prev_weekday(days: np.ndarray) -> np.ndarray:
    """The day itself on Monday-Friday, else the Friday before."""
    wd = weekday(days)
    return days - np.where(wd == 5, 1, np.where(wd == 6, 2, 0))


def first_tuesday_on_or_after(days: np.ndarray) -> np.ndarray:
    """The first Tuesday of a month on or after each day (Texas sales: Prop. Code 51.002)."""
    month_start = days.astype("datetime64[D]").astype("datetime64[M]")
    this_month = _first_tuesday(month_start)
    next_month = _first_tuesday(month_start + 1)
    return np.where(this_month >= days, this_month, next_month)


def _first_tuesday(months: np.ndarray) -> np.ndarray:
    first = months.astype("datetime64[D]").astype(np.int64)
    return first + (1 - weekday(first)) % 7


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def fractional_year(days: np.ndarray) -> np.ndarray:
    """1970.0 at 1970-01-01; used to interpolate annual tables month by month."""
    return 1970.0 + days / 365.25


def whole_months(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whole monthly payment periods between two days (0 when end precedes start)."""
    return np.maximum(np.floor((end - start) / DAYS_PER_MONTH), 0).astype(np.int64)


def uniform_days(
    rng: np.random.Generator, low: np.ndarray | int, high: np.ndarray | int, n: int
) -> np.ndarray:
    """Integer day offsets uniform in [low, high] (inclusive), elementwise."""
    low_a = np.broadcast_to(np.asarray(low, dtype=np.int64), (n,))
    high_a = np.broadcast_to(np.asarray(high, dtype=np.int64), (n,))
    span = np.maximum(high_a - low_a + 1, 1)
    return low_a + np.floor(rng.random(n) * span).astype(np.int64)


def as_date(days: np.ndarray | pl.Series, name: str) -> pl.Series:
    """A polars Date series; day numbers >= NEVER become null."""
    values = pl.Series(name, np.asarray(days, dtype=np.int64))
    return pl.select(
        pl.when(values < NEVER).then(values).otherwise(None).cast(pl.Int32).cast(pl.Date).alias(name)
    ).to_series()


def text_date(column: str, fmt: str) -> pl.Expr:
    """A day-number column rendered as text in a date format (null stays null)."""
    return pl.when(pl.col(column) < NEVER).then(pl.col(column).cast(pl.Int32).cast(pl.Date).dt.strftime(fmt))
