"""The versioned scoring config (config/scoring.yaml): weights, equity bands and tier cut-offs."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from leads.errors import ConfigError

REQUIRED_POINTS = {
    "stage_notice_of_sale",
    "stage_final_judgment",
    "stage_notice_of_default",
    "stage_lis_pendens",
    "equity_healthy",
    "equity_thin",
    "equity_negative",
    "payoff_unknown",
    "equity_unverified",
    "sale_in_7_days",
    "sale_in_30_days",
    "sale_in_90_days",
    "sale_in_180_days",
    "sale_later",
    "auction_estimate_wide",
    "vacant",
    "absentee",
    "tax_lien",
    "hoa_lien",
    "code_lien",
    "other_foreclosure",
    "value_low_confidence",
    "value_unknown",
    "parcel_not_matched",
    "parcel_match_indirect",
}


class EquityBands(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    healthy_min: float
    thin_min: float


class ScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    equity_bands: EquityBands
    tiers: dict[str, int]
    value_confidence_low: float
    auction_range_wide_days: int
    points: dict[str, int]

    @model_validator(mode="after")
    def _complete(self) -> ScoringConfig:
        missing = sorted(REQUIRED_POINTS - set(self.points))
        if missing:
            raise ValueError(f"points missing {missing}")
        unknown = sorted(set(self.points) - REQUIRED_POINTS)
        if unknown:
            raise ValueError(f"unknown points {unknown}")
        if sorted(self.tiers) != ["A", "B", "C"] or not self.tiers["A"] > self.tiers["B"] > self.tiers["C"]:
            raise ValueError("tiers must be A > B > C minimum scores")
        return self


def load_scoring(path: Path) -> ScoringConfig:
    try:
        return ScoringConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be read as YAML ({type(exc).__name__})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {key}: {first['msg']}") from None
