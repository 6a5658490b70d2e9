"""One negative test per contract: each model rejects what it exists to reject."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
import pytest

from schemas.inputs import StagedFiling, StagedLien, StagedParcel, StagedVacancy, StagedValuation
from schemas.leads import LEAD_COLUMNS, PublishedLead
from schemas.vocabulary import FEED_FIELDS
from transforms.canonical import canonical_records


def _feed(kind: str, **values: str) -> pl.DataFrame:
    raw = pl.DataFrame(
        {"source_line": [1], "county_fips": ["12057"], "apn": ["1"], **{k: [v] for k, v in values.items()}}
    )
    fields = {c: c for c in raw.columns if c != "source_line"}
    return canonical_records(raw, fields, FEED_FIELDS[kind], [""], ["%Y-%m-%d"])


def _fails(model: type[pa.DataFrameModel], frame: pl.DataFrame) -> set[str]:
    with pytest.raises(pa.errors.SchemaErrors) as info:
        model.validate(frame, lazy=True)
    return set(info.value.failure_cases["check"])


def test_parcel_rejects_bad_flag_and_money() -> None:
    assert _fails(StagedParcel, _feed("parcels", homestead="MAYBE", assessed_value="lots")) == {
        "homestead_parses",
        "assessed_value_parses",
    }


def test_valuation_rejects_confidence_outside_0_100() -> None:
    assert "less_than_or_equal_to(100)" in _fails(
        StagedValuation, _feed("valuations", avm_value="1", confidence="140")
    )


def test_lien_rejects_an_unparseable_release_date() -> None:
    assert _fails(StagedLien, _feed("liens", lien_id="x", released_date="2025-02-30")) == {
        "released_date_parses"
    }


def test_vacancy_rejects_a_bad_county_code() -> None:
    frame = _feed("vacancy", vacant="Y").with_columns(pl.lit("12").alias("county_fips"))
    assert any(c.startswith("str_matches") for c in _fails(StagedVacancy, frame))


def test_filing_rejects_a_sale_before_its_recording_and_unknown_events() -> None:
    frame = pl.DataFrame(
        {
            "source_line": [1],
            "record_id": ["1"],
            "doc_type": ["NS"],
            "event": ["NOTICE_OF_SOMETHING"],
            "recorded_date": [dt.date(2026, 5, 1)],
            "sale_date": [dt.date(2026, 4, 1)],
        }
    )
    full = frame.with_columns(
        [
            pl.lit(None, dtype=t.type).alias(c)
            for c, t in StagedFiling.to_schema().dtypes.items()
            if c not in frame.columns
        ]
    ).with_columns(pl.lit("x").alias("recorded_date_raw"))
    fails = _fails(StagedFiling, full.select(list(StagedFiling.to_schema().columns)))
    assert "sale_date_not_before_recording" in fails
    assert any(c.startswith("isin") for c in fails)


def _lead(**overrides: object) -> dict:
    row = {c: None for c in LEAD_COLUMNS}
    row.update(
        lead_id="L0123456789abcdef",
        case_id="C1",
        state="FL",
        county_fips="12057",
        source="fl",
        parcel_count=1,
        match_method="parcel_id",
        match_confidence=0.99,
        owner_occupied=True,
        occupancy="owner_occupied",
        occupancy_confidence=0.9,
        plaintiff_type="lender",
        lane="mortgage",
        stage="LIS_PENDENS",
        status="active",
        actionable=True,
        first_filing_date=dt.date(2026, 1, 1),
        latest_filing_date=dt.date(2026, 1, 1),
        filing_count=1,
        value_source="unknown",
        payoff_source="unknown",
        equity_band="unknown",
        strategy="unknown",
        distress_count=0,
        distress_signals="",
        score=10,
        tier="D",
        reasons="x +10",
        score_version="v",
        as_of=dt.date(2026, 11, 27),
        run_id="r",
        suppressed=False,
        lane_confidence=0.9,
    )
    row.update(overrides)
    return row


def _leads(*rows: dict) -> pl.DataFrame:
    schema = {c: t for c, t in PublishedLead.to_schema().dtypes.items()}
    return pl.DataFrame(list(rows), schema={c: schema[c].type for c in LEAD_COLUMNS})


def test_published_lead_accepts_a_valid_row() -> None:
    PublishedLead.validate(_leads(_lead()))


def test_published_lead_rejects_equity_without_payoff_duplicates_and_inactive_mismatch() -> None:
    bad = _leads(
        _lead(equity_amount=50_000.0),  # equity claimed with an unknown payoff
        _lead(case_id="C2", score=130),  # duplicate lead id, score out of range
        _lead(lead_id="L1111111111111111", case_id="C3", tier="A", actionable=False),
    )
    fails = _fails(PublishedLead, bad)
    assert {"equity_needs_known_payoff", "inactive_iff_not_actionable", "field_uniqueness"} <= fails
    assert "less_than_or_equal_to(100)" in fails
