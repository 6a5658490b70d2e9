"""Validate canonical records against their pandera contract; split them into staged rows and quarantine rows.

Row-level failures become quarantine rows (with the raw record, which may hold owners' names: it goes only to
the quarantine table, never to logs). Schema-level failures (a missing or renamed column, a wrong type) fail
the whole source with a one-line reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from leads.errors import SourceFailed
from leads.readers import Unreadable

QUARANTINE_SCHEMA = {
    "source": pl.String,
    "file": pl.String,
    "source_line": pl.Int64,
    "column_name": pl.String,
    "check_name": pl.String,
    "reason": pl.String,
    "raw_record": pl.String,
}


@dataclass
class Validated:
    valid: pl.DataFrame
    quarantine: pl.DataFrame  # QUARANTINE_SCHEMA rows
    rejected_rows: int


def _reason(column: str, check: str, value: str | None) -> str:
    shown = "null" if value is None else repr(value[:60])
    if check.endswith("_parses"):
        return f"{column}: {shown} does not parse as the declared type/format"
    if check == "recorded_date_present":
        return "recorded_date: missing"
    if check == "not_nullable":
        return f"{column}: required value is missing"
    return f"{column}: {shown} fails {check}"


def _row_failures(failures: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """One quarantine row per failed (record, check): names the column, the check and the offending value."""
    rows = failures.filter(pl.col("index").is_not_null())
    if rows.is_empty():
        return pl.DataFrame(
            schema={"index": pl.Int64, "column_name": pl.String, "check_name": pl.String, "reason": pl.String}
        )
    checked = rows.with_columns(
        pl.col("index").cast(pl.Int64),
        # dataframe-level checks are named <column>_<rule>; column checks name their column
        pl.when(pl.col("schema_context") == "DataFrameSchema")
        .then(pl.col("check").str.replace(r"_(parses|present|not_before_recording)$", ""))
        .otherwise(pl.col("column"))
        .alias("column"),
    )
    raw_values = records.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    out = []
    for row in checked.select("index", "column", "check").unique(maintain_order=True).iter_rows(named=True):
        column = row["column"]
        raw_col = f"{column}_raw" if f"{column}_raw" in records.columns else column
        value = raw_values[row["index"], raw_col] if raw_col in records.columns else None
        out.append({**row, "reason": _reason(column, row["check"], None if value is None else str(value))})
    schema = {"index": pl.Int64, "column": pl.String, "check": pl.String, "reason": pl.String}
    return pl.DataFrame(out, schema=schema).rename({"column": "column_name", "check": "check_name"})


def validated(
    records: pl.DataFrame,
    model: type[pa.DataFrameModel],
    raw: pl.DataFrame,
    source: str,
    file: str,
) -> Validated:
    """Records that satisfy `model`, and quarantine rows (raw record attached) for those that do not."""
    try:
        model.validate(records, lazy=True)
        return Validated(records, pl.DataFrame(schema=QUARANTINE_SCHEMA), 0)
    except pa.errors.SchemaErrors as exc:
        failures = exc.failure_cases
    schema_level = failures.filter(pl.col("index").is_null())
    if not schema_level.is_empty():
        first = schema_level.row(0, named=True)
        raise SourceFailed(
            f"{file}: schema drift: {first['check']} ({first['failure_case']}); "
            f"{schema_level.height} schema-level failure(s)"
        )
    bad = _row_failures(failures, records)
    bad_lines = records.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    bad = bad.join(bad_lines.select("index", "source_line"), on="index", how="left", maintain_order="left")
    raw_json = raw.select(
        "source_line",
        pl.struct(pl.exclude("source_line")).struct.json_encode().alias("raw_record"),
    )
    quarantine = (
        bad.join(raw_json, on="source_line", how="left", maintain_order="left")
        .with_columns(pl.lit(source).alias("source"), pl.lit(file).alias("file"))
        .select(list(QUARANTINE_SCHEMA))
        .cast(QUARANTINE_SCHEMA)
    )
    rejected = bad.select("index").unique()
    valid = (
        records.with_row_index("index")
        .with_columns(pl.col("index").cast(pl.Int64))
        .join(rejected, on="index", how="anti", maintain_order="left")
        .drop("index")
    )
    return Validated(valid, quarantine, rejected.height)


def unreadable_rows(unreadable: list[Unreadable], source: str, file: str) -> pl.DataFrame:
    """Quarantine rows for records that could not be read at all."""
    return pl.DataFrame(
        [
            {
                "source": source,
                "file": file,
                "source_line": u.line,
                "column_name": None,
                "check_name": u.check,
                "reason": u.reason,
                "raw_record": u.raw_text,
            }
            for u in unreadable
        ],
        schema=QUARANTINE_SCHEMA,
    )
