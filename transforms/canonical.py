"""Raw delivery text -> canonical typed records, keeping the raw text of every parsed field for audits."""

from __future__ import annotations

import polars as pl

from schemas.vocabulary import DATE_FIELDS, FLAG_FIELDS, FLOAT_FIELDS, INT_FIELDS, MONEY_FIELDS, Event
from transforms.parsing import (
    cleaned_text,
    parsed_date,
    parsed_flag,
    parsed_float,
    parsed_int,
    parsed_money,
)

PARSED_FIELDS = DATE_FIELDS | MONEY_FIELDS | FLOAT_FIELDS | INT_FIELDS | FLAG_FIELDS


def _typed(field: str, date_formats: list[str], plain: bool = False) -> pl.Expr:
    """`plain`: every value of the column is a plain finite number (see _plain_numbers)."""
    raw = f"{field}_raw"
    if plain:
        return pl.col(raw).cast(pl.Float64, strict=False).alias(field)
    if field in DATE_FIELDS:
        return parsed_date(raw, date_formats).alias(field)
    if field in MONEY_FIELDS:
        return parsed_money(raw).alias(field)
    if field in FLOAT_FIELDS:
        return parsed_float(raw).alias(field)
    if field in INT_FIELDS:
        return parsed_int(raw).alias(field)
    return parsed_flag(raw).alias(field)


def _dtype(field: str) -> pl.DataType:
    if field in DATE_FIELDS:
        return pl.Date()
    if field in MONEY_FIELDS | FLOAT_FIELDS:
        return pl.Float64()
    if field in INT_FIELDS:
        return pl.Int64()
    if field in FLAG_FIELDS:
        return pl.Boolean()
    return pl.String()


def _raw_value(column: str | list[str], null_values: list[str]) -> pl.Expr:
    """One raw column, or several joined with `|` (a composite natural key such as case|docket|date|parcel)."""
    if isinstance(column, str):
        return cleaned_text(column, null_values)
    parts = [cleaned_text(c, null_values).fill_null("") for c in column]
    joined = pl.concat_str(parts, separator="|")
    return pl.when(joined.str.replace_all(r"\|", "") != "").then(joined)


def _plain_numbers(text: pl.DataFrame, fields: list[str]) -> set[str]:
    """The money and decimal fields among `fields` whose every value is a plain finite number ("1234.5",
    "-1.5e3"). Such a value has no currency sign, separator, space, parenthesis or percent sign, so the parsers'
    clean-up passes change nothing and a cast gives the same values: a tenth of the cost on a vendor's
    3.3M-row valuation file, whose amounts are all plain."""
    candidates = [f for f in fields if f in MONEY_FIELDS | FLOAT_FIELDS]
    if not candidates or text.is_empty():
        return set()
    checks = text.select(
        (pl.col(f).is_null() | pl.col(f).cast(pl.Float64, strict=False).is_finite().fill_null(False))
        .all()
        .alias(f)
        for f in candidates
    ).row(0, named=True)
    return {f for f, plain in checks.items() if plain}


def canonical_records(
    raw: pl.DataFrame,
    fields: dict[str, str | list[str]],
    all_fields: list[str],
    null_values: list[str],
    date_formats: list[str],
) -> pl.DataFrame:
    """One row per raw record in canonical shape: every field of `all_fields` typed (null when the source
    does not map it), the raw text of each parsed field as `<field>_raw`, and the record's `source_line`."""
    # lazy: the parsers reuse subexpressions (the trimmed text, the parsed value) that an eager frame would
    # compute once per use
    text = raw.lazy().select(
        pl.col("source_line"),
        *[_raw_value(column, null_values).alias(field) for field, column in fields.items()],
    )
    parsed = [f for f in fields if f in PARSED_FIELDS]
    text = text.collect()
    plain = _plain_numbers(text, parsed)
    typed = (
        text.lazy()
        .rename({f: f"{f}_raw" for f in parsed})
        .with_columns(_typed(f, date_formats, f in plain) for f in parsed)
    )
    unmapped = [f for f in all_fields if f not in fields]
    return (
        typed.with_columns(
            *[pl.lit(None, dtype=_dtype(f)).alias(f) for f in unmapped],
            *[pl.lit(None, dtype=pl.String).alias(f"{f}_raw") for f in unmapped if f in PARSED_FIELDS],
        )
        .select("source_line", *all_fields, *[f"{f}_raw" for f in all_fields if f in PARSED_FIELDS])
        .collect()
    )


def raw_text_columns(columns: list[str]) -> list[str]:
    """The `<field>_raw` columns among `columns` (the raw text of parsed fields, for audits)."""
    return [f"{f}_raw" for f in PARSED_FIELDS if f"{f}_raw" in columns]


def with_events(records: pl.DataFrame, events: dict[str, Event], default_event: Event) -> pl.DataFrame:
    """Filings with their canonical `event` from the county's document-type code (`IGNORE` when unlisted).

    A code written `RST>LP` applies only when the document references a document of type LP (Broward
    releases are generic: only those pointing back at a lis pendens end a foreclosure case); it wins over a
    plain `RST` entry.
    """
    codes = pl.col("doc_type").str.strip_chars().str.to_uppercase()
    linked = codes + ">" + pl.col("ref_doc_type").str.strip_chars().str.to_uppercase()
    mapping = {code.strip().upper().replace(" > ", ">"): event.value for code, event in events.items()}
    # a missing document type is not "unrelated to foreclosure": it stays null and is quarantined
    return records.with_columns(
        pl.when(codes.is_not_null())
        .then(
            pl.coalesce(
                linked.replace_strict(mapping, default=None, return_dtype=pl.String),
                codes.replace_strict(mapping, default=default_event.value, return_dtype=pl.String),
            )
        )
        .alias("event")
    )


def with_companion(
    main: pl.DataFrame,
    companion: pl.DataFrame,
    key: str,
    on: str,
    where: dict[str, str],
    order_by: str | None,
    take: str,
    prefix: str,
) -> pl.DataFrame:
    """Main records with the columns of a companion file (same delivery) joined on `on` = `key`.

    Rows are filtered by `where`, ordered by `order_by` (numerically when it is a number), then per key either
    the first row is taken or every value is joined with "; ". Main records without a companion row keep nulls.
    """
    rows = companion
    for column, value in where.items():
        rows = rows.filter(pl.col(column).str.strip_chars() == value)
    if order_by:
        rows = rows.sort(pl.col(order_by).cast(pl.Int64, strict=False), pl.col(order_by), maintain_order=True)
    values = [c for c in rows.columns if c not in (key, "source_line")]
    if take == "first":
        picked = [pl.col(c).first() for c in values]
    else:
        picked = [pl.col(c).drop_nulls().str.join("; ") for c in values]
    grouped = (
        rows.filter(pl.col(key).is_not_null())
        .group_by(key, maintain_order=True)
        .agg(picked)
        .rename({c: f"{prefix}{c}" for c in values})
    )
    return main.join(grouped, left_on=on, right_on=key, how="left", maintain_order="left")
