"""Rebuild the committed reference series from the shared raw copies.

Usage (from the repo root):
    .venv/bin/python data/reference/build_reference_series.py [SOURCE_ROOT]

SOURCE_ROOT defaults to /work/shared/data/real and must contain
freddie_mac_pmms/MORTGAGE30US.csv and
zillow_zhvi_county/County_zhvi_uc_sfrcondo_tier_0.33_0.67_sm_sa_month.csv.
Writes pmms_30y_weekly.csv and zhvi_county_monthly.csv next to this file and prints the
SHA-256 of inputs and outputs (record them in PROVENANCE.md when they change).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE_ROOT = Path("/work/shared/data/real")

# 5-digit county FIPS -> name, the counties the pipeline's configs and tests cover.
ZHVI_COUNTIES: dict[str, str] = {
    "12057": "Hillsborough County, FL",
    "06065": "Riverside County, CA",
    "48201": "Harris County, TX",
    "12011": "Broward County, FL",
    "42003": "Allegheny County, PA",
    "48355": "Nueces County, TX",
    "17031": "Cook County, IL",
    "36061": "New York County (Manhattan), NY",
    "36047": "Kings County (Brooklyn), NY",
    "36081": "Queens County, NY",
    "36005": "Bronx County, NY",
    "36085": "Richmond County (Staten Island), NY",
    "13121": "Fulton County, GA",
    "04013": "Maricopa County, AZ",
    "08031": "Denver County, CO",
    "53033": "King County, WA",
}

ZHVI_ID_COLUMNS = [
    "RegionID",
    "SizeRank",
    "RegionName",
    "RegionType",
    "StateName",
    "State",
    "Metro",
    "StateCodeFIPS",
    "MunicipalCodeFIPS",
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_pmms(source_root: Path) -> Path:
    src = source_root / "freddie_mac_pmms" / "MORTGAGE30US.csv"
    out = HERE / "pmms_30y_weekly.csv"
    df = pl.read_csv(src, schema={"observation_date": pl.String, "MORTGAGE30US": pl.String})
    df = df.select(
        pl.col("observation_date").str.to_date("%Y-%m-%d").alias("week_date"),
        pl.col("MORTGAGE30US").str.strip_chars().cast(pl.Float64, strict=True).alias("rate_pct"),
    ).sort("week_date")
    assert df["week_date"].is_unique().all(), "duplicate PMMS weeks"
    assert df["rate_pct"].null_count() == 0, "PMMS has missing rates"
    df.write_csv(out, date_format="%Y-%m-%d", float_precision=2)
    print(f"{src}  sha256={sha256(src)}")
    print(f"{out}  rows={df.height}  {df['week_date'].min()}..{df['week_date'].max()}  sha256={sha256(out)}")
    return out


def build_zhvi(source_root: Path) -> Path:
    src = source_root / "zillow_zhvi_county" / "County_zhvi_uc_sfrcondo_tier_0.33_0.67_sm_sa_month.csv"
    out = HERE / "zhvi_county_monthly.csv"
    wide = pl.read_csv(src, infer_schema_length=0)  # everything as strings: FIPS must not lose zeros
    wide = wide.with_columns(
        (pl.col("StateCodeFIPS").str.zfill(2) + pl.col("MunicipalCodeFIPS").str.zfill(3)).alias("county_fips")
    ).filter(pl.col("county_fips").is_in(list(ZHVI_COUNTIES)))
    found = set(wide["county_fips"].to_list())
    missing = set(ZHVI_COUNTIES) - found
    assert not missing, f"counties missing from source: {sorted(missing)}"
    assert wide.height == len(ZHVI_COUNTIES), "a county FIPS matched more than one row"
    month_cols = [c for c in wide.columns if c not in ZHVI_ID_COLUMNS and c != "county_fips"]
    long = (
        wide.unpivot(index="county_fips", on=month_cols, variable_name="month_raw", value_name="zhvi_raw")
        .with_columns(
            pl.col("month_raw").str.to_date("%m/%d/%y").alias("month"),
            pl.col("zhvi_raw").str.strip_chars().replace("", None).cast(pl.Float64).alias("zhvi"),
        )
        .filter(pl.col("zhvi").is_not_null())
        .select("county_fips", "month", "zhvi")
        .sort("county_fips", "month")
    )
    assert (long["month"] == long["month"].dt.month_end()).all(), "ZHVI column is not a month end"
    long.write_csv(out, date_format="%Y-%m-%d")
    print(f"{src}  sha256={sha256(src)}")
    print(
        f"{out}  rows={long.height}  counties={long['county_fips'].n_unique()}  "
        f"{long['month'].min()}..{long['month'].max()}  sha256={sha256(out)}"
    )
    return out


def main(argv: list[str]) -> None:
    source_root = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE_ROOT
    build_pmms(source_root)
    build_zhvi(source_root)


if __name__ == "__main__":
    main(sys.argv)
