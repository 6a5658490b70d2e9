"""Cases + parcel facts + payoff + auction timing -> scored leads with value, equity, occupancy and reasons."""

from __future__ import annotations

import datetime as dt

import polars as pl

from leads.scoring import ScoringConfig
from schemas.vocabulary import ACTIONABLE_STATUSES
from transforms.cases import stable_ids, with_mapped_once
from transforms.normalize import normalized_party, normalized_street

# Confidence given to each value source (0-1); an AVM carries its own (0-100 -> 0-1).
ASSESSED_VALUE_CONFIDENCE = 0.4
AGED_SALE_CONFIDENCE = 0.3
ASSESSED_RANGE = 0.25  # +/- share around an assessed-value estimate
AGED_SALE_RANGE = 0.30

_LENDER = r"BANK|MORTGAGE|LOAN|SERVICING|SAVINGS|CREDIT UNION|FINANCIAL|FUNDING|LENDING|CAPITAL|FANNIE|FREDDIE|FEDERAL NATIONAL|FEDERAL HOME|\bTRUST\b|TRUSTEE|\bNA\b|\bFSB\b|HOME LOANS"
_HOA = r"ASSOCIATION|\bHOA\b|CONDOMINIUM|CONDO|HOMEOWNERS|OWNERS ASSN|\bPOA\b|COMMUNITY"
_GOVERNMENT = (
    r"COUNTY|CITY OF|STATE OF|UNITED STATES|TAX COLLECTOR|DEPARTMENT OF|TOWNSHIP|BOROUGH OF|SCHOOL DISTRICT"
)


def plaintiff_type() -> pl.Expr:
    """lender | hoa | government | individual_other | unknown, from the foreclosing party's name.

    A plaintiff that holds a recorded loan on the parcel (`plaintiff_holds_loan`) is a lender whatever its name
    (servicers such as NEWREZ LLC carry no banking word). Lender words are checked before association words:
    "U.S. BANK NATIONAL ASSOCIATION" is a bank, not an HOA.
    """
    name = pl.col("plaintiff").str.to_uppercase()
    return (
        pl.when(name.is_null())
        .then(pl.lit("unknown"))
        .when(pl.col("plaintiff_holds_loan").fill_null(False) | name.str.contains(_LENDER))
        .then(pl.lit("lender"))
        .when(name.str.contains(_HOA))
        .then(pl.lit("hoa"))
        .when(name.str.contains(_GOVERNMENT))
        .then(pl.lit("government"))
        .otherwise(pl.lit("individual_other"))
    )


def with_plaintiff_type(cases: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    """Cases with `plaintiff_holds_loan` (the plaintiff's normalized name is the lender of an open recorded
    loan on the parcel) and `plaintiff_type`. cases: case_id, plaintiff; loans: case_id, lender."""
    # names repeat (a few lenders hold most loans): each distinct name is normalized once
    lenders = (
        with_mapped_once(loans.select("case_id", "lender"), "lender", normalized_party("lender"), "_lender")
        .select("case_id", "_lender")
        .drop_nulls()
        .unique()
        .group_by("case_id")
        .agg(pl.col("_lender").alias("_loan_lenders"))
    )
    return (
        with_mapped_once(cases, "plaintiff", normalized_party("plaintiff"), "_plaintiff_key")
        .join(lenders, on="case_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("_loan_lenders")
            .list.contains(pl.col("_plaintiff_key"))
            .fill_null(False)
            .alias("plaintiff_holds_loan")
        )
        .drop("_loan_lenders", "_plaintiff_key")
        .with_columns(plaintiff_type().alias("plaintiff_type"))
    )


def lane_confidence() -> pl.Expr:
    """How sure the mortgage / non-mortgage lane is (0-1)."""
    return (
        pl.when(pl.col("process") != "judicial")
        .then(0.99)  # a trustee sale is always on a deed of trust
        .when(pl.col("plaintiff_holds_loan").fill_null(False))
        .then(0.97)
        .when(pl.col("plaintiff_type") == "lender")
        .then(0.9)
        .when(pl.col("plaintiff_type").is_in(["hoa", "government"]))
        .then(0.85)
        .when(pl.col("plaintiff_type") == "individual_other")
        .then(0.6)
        .otherwise(0.5)
    )


def _value() -> list[pl.Expr]:
    avm = pl.col("avm_value").is_not_null()
    assessed = pl.col("assessed_value").is_not_null() & pl.col("assessment_ratio").is_not_null()
    aged = pl.col("last_sale_price").is_not_null() & pl.col("price_index_factor").is_not_null()
    assessed_value = pl.col("assessed_value") / pl.col("assessment_ratio")
    aged_value = pl.col("last_sale_price") * pl.col("price_index_factor")
    return [
        pl.when(avm)
        .then(pl.col("avm_value"))
        .when(assessed)
        .then(assessed_value)
        .when(aged)
        .then(aged_value)
        .alias("estimated_value"),
        pl.when(avm)
        .then(pl.coalesce("avm_low", "avm_value"))
        .when(assessed)
        .then(assessed_value * (1 - ASSESSED_RANGE))
        .when(aged)
        .then(aged_value * (1 - AGED_SALE_RANGE))
        .alias("value_low"),
        pl.when(avm)
        .then(pl.coalesce("avm_high", "avm_value"))
        .when(assessed)
        .then(assessed_value * (1 + ASSESSED_RANGE))
        .when(aged)
        .then(aged_value * (1 + AGED_SALE_RANGE))
        .alias("value_high"),
        pl.when(avm)
        .then(pl.lit("avm"))
        .when(assessed)
        .then(pl.lit("assessed"))
        .when(aged)
        .then(pl.lit("last_sale_indexed"))
        .otherwise(pl.lit("unknown"))
        .alias("value_source"),
        pl.when(avm)
        .then(pl.col("avm_confidence").fill_null(50.0) / 100.0)
        .when(assessed)
        .then(pl.lit(ASSESSED_VALUE_CONFIDENCE))
        .when(aged)
        .then(pl.lit(AGED_SALE_CONFIDENCE))
        .alias("value_confidence"),
    ]


def _equity(bands: ScoringConfig) -> list[pl.Expr]:
    pct = pl.col("equity_pct")
    return [
        pl.when(pct.is_null())
        .then(pl.lit("unknown"))
        .when(pct >= bands.equity_bands.healthy_min)
        .then(pl.lit("healthy"))
        .when(pct >= bands.equity_bands.thin_min)
        .then(pl.lit("thin"))
        .otherwise(pl.lit("negative"))
        .alias("equity_band"),
        _equity_confidence().alias("equity_confidence"),
    ]


def _equity_confidence() -> pl.Expr:
    """How sure the sign of the equity is (0-1): verified when the value and payoff ranges do not overlap,
    scaled by how sure the value is. Null when equity is unknown."""
    separated = (pl.col("value_low") > pl.col("payoff_high")) | (pl.col("value_high") < pl.col("payoff_low"))
    base = pl.when(separated).then(0.9).otherwise(0.5)
    return pl.when(pl.col("equity_pct").is_not_null()).then(
        (base * pl.col("value_confidence").fill_null(0.5).clip(0.5, 1.0) / 0.9).clip(0, 1).round(2)
    )


def _occupancy() -> list[pl.Expr]:
    """owner_occupied | absentee | vacant | unknown, with a confidence from how many signals agree."""
    same_street = normalized_street("mailing_address") == normalized_street("situs_address")
    same_zip = pl.col("mailing_zip").str.slice(0, 5) == pl.col("situs_zip").str.slice(0, 5)
    mailing_home = same_street & same_zip.fill_null(True)
    known_mailing = pl.col("mailing_address").is_not_null() & pl.col("situs_address").is_not_null()
    homestead = pl.col("homestead")
    occupancy = (
        pl.when(pl.col("vacant").fill_null(False))
        .then(pl.lit("vacant"))
        .when(known_mailing & mailing_home | homestead.fill_null(False))
        .then(pl.lit("owner_occupied"))
        .when(known_mailing & ~mailing_home)
        .then(pl.lit("absentee"))
        .otherwise(pl.lit("unknown"))
    )
    agree = (known_mailing & homestead.is_not_null()) & (mailing_home == homestead)
    confidence = (
        pl.when(pl.col("vacant").fill_null(False))
        .then(0.8)
        .when(agree)
        .then(0.9)
        .when(known_mailing & homestead.is_not_null())
        .then(0.6)  # the two signals disagree
        .when(known_mailing | homestead.is_not_null())
        .then(0.7)
        .otherwise(0.0)
    )
    return [occupancy.alias("occupancy"), confidence.alias("occupancy_confidence")]


def _reason_rules(cfg: ScoringConfig) -> list[tuple[str, int, pl.Expr]]:
    """The scoring rules in reason order: (code, points, when the rule applies)."""
    p = cfg.points
    days = pl.col("days_to_auction")
    stage = pl.col("stage")
    band = pl.col("equity_band")
    wide = (
        pl.col("auction_date_high") - pl.col("auction_date_low")
    ).dt.total_days() > cfg.auction_range_wide_days
    return [
        ("stage_notice_of_sale", p["stage_notice_of_sale"], stage == "NOTICE_OF_SALE"),
        ("stage_final_judgment", p["stage_final_judgment"], stage == "FINAL_JUDGMENT"),
        ("stage_notice_of_default", p["stage_notice_of_default"], stage == "NOTICE_OF_DEFAULT"),
        ("stage_lis_pendens", p["stage_lis_pendens"], stage == "LIS_PENDENS"),
        ("equity_healthy", p["equity_healthy"], band == "healthy"),
        ("equity_thin", p["equity_thin"], band == "thin"),
        ("equity_negative", p["equity_negative"], band == "negative"),
        ("payoff_unknown", p["payoff_unknown"], pl.col("payoff_source") == "unknown"),
        # the brief's rule: verify equity before spending outreach
        (
            "equity_unverified",
            p["equity_unverified"],
            band.is_in(["healthy", "thin"]) & (pl.col("value_low") <= pl.col("payoff_high")),
        ),
        ("sale_in_7_days", p["sale_in_7_days"], days <= 7),
        ("sale_in_30_days", p["sale_in_30_days"], (days > 7) & (days <= 30)),
        ("sale_in_90_days", p["sale_in_90_days"], (days > 30) & (days <= 90)),
        ("sale_in_180_days", p["sale_in_180_days"], (days > 90) & (days <= 180)),
        ("sale_later", p["sale_later"], days > 180),
        (
            "auction_estimate_wide",
            p["auction_estimate_wide"],
            (pl.col("auction_date_source") == "estimated") & wide,
        ),
        ("vacant", p["vacant"], pl.col("occupancy") == "vacant"),
        ("absentee", p["absentee"], pl.col("occupancy") == "absentee"),
        ("tax_lien", p["tax_lien"], pl.col("tax_liens") > 0),
        ("hoa_lien", p["hoa_lien"], pl.col("hoa_liens") > 0),
        ("code_lien", p["code_lien"], pl.col("code_liens") > 0),
        ("other_foreclosure", p["other_foreclosure"], pl.col("other_cases_on_parcel") > 0),
        ("value_unknown", p["value_unknown"], pl.col("value_source") == "unknown"),
        (
            "value_low_confidence",
            p["value_low_confidence"],
            pl.col("value_confidence") < cfg.value_confidence_low,
        ),
        ("parcel_not_matched", p["parcel_not_matched"], pl.col("parcel_apn").is_null()),
        (
            "parcel_match_indirect",
            p["parcel_match_indirect"],
            pl.col("match_method").is_in(["legal_description", "situs_address"]),
        ),
    ]


def _score_points(cfg: ScoringConfig) -> pl.Expr:
    """Sum of the points of every rule that applies (a null condition does not apply)."""
    return pl.sum_horizontal(
        pl.when(when).then(pl.lit(points, dtype=pl.Int32)).otherwise(pl.lit(0, dtype=pl.Int32))
        for _, points, when in _reason_rules(cfg)
    )


def _reason_text(cfg: ScoringConfig) -> pl.Expr:
    """`code +points; code -points; ...` of the rules that apply, in rule order ("" when none does).

    One string expression per rule (no per-row lists of structs: those cost seconds on 100k leads)."""
    return pl.concat_str(
        [
            pl.when(when).then(pl.lit(f"{code} {'+' if points >= 0 else ''}{points}"))
            for code, points, when in _reason_rules(cfg)
        ],
        separator="; ",
        ignore_nulls=True,
    )


# Other distress on the parcel, in the order `distress_signals` lists them.
_DISTRESS = [
    ("tax_lien", pl.col("tax_liens") > 0),
    ("hoa_lien", pl.col("hoa_liens") > 0),
    ("code_lien", pl.col("code_liens") > 0),
    ("other_foreclosure", pl.col("other_cases_on_parcel") > 0),
]


def _tier(cfg: ScoringConfig) -> pl.Expr:
    score = pl.col("score")
    return (
        pl.when(~pl.col("actionable"))
        .then(pl.lit("inactive"))
        .when(score >= cfg.tiers["A"])
        .then(pl.lit("A"))
        .when(score >= cfg.tiers["B"])
        .then(pl.lit("B"))
        .when(score >= cfg.tiers["C"])
        .then(pl.lit("C"))
        .otherwise(pl.lit("D"))
    )


def _strategy() -> pl.Expr:
    return pl.col("equity_band").replace_strict(
        {"healthy": "standard_purchase", "thin": "tight_subject_to", "negative": "short_sale_creative"},
        default="unknown",
        return_dtype=pl.String,
    )


def _full_address(street: str, city: str, state: str, zip_code: str) -> pl.Expr:
    tail = pl.concat_str([pl.col(city), pl.col(state), pl.col(zip_code)], separator=" ", ignore_nulls=True)
    return pl.when(pl.col(street).is_not_null()).then(
        pl.concat_str([pl.col(street), tail], separator=", ", ignore_nulls=True)
    )


def scored_leads(
    inputs: pl.DataFrame,
    payoffs: pl.DataFrame,
    timeline: pl.DataFrame,
    cfg: ScoringConfig,
    as_of: dt.date,
) -> pl.DataFrame:
    """One scored lead per case, in the published column order (schemas.leads.PublishedLead).

    inputs: case_inputs.sql output + assessment_ratio and price_index_factor per case.
    """
    keys = inputs.select("case_key").unique()
    ids = keys.with_columns(stable_ids("L", keys["case_key"]).alias("lead_id"))
    frame = (
        inputs.join(payoffs, on="case_id", how="left", maintain_order="left")
        .join(timeline, on="case_id", how="left", maintain_order="left")
        .join(ids, on="case_key", how="left", maintain_order="left")
        .with_columns(_value())
        .with_columns(
            (pl.col("estimated_value") - pl.col("estimated_payoff")).alias("equity_amount"),
            pl.col("status").is_in(ACTIONABLE_STATUSES).alias("actionable"),
            *_occupancy(),
        )
        .with_columns(
            (pl.col("equity_amount") / pl.col("estimated_value")).alias("equity_pct"),
            (pl.col("estimated_payoff") / pl.col("estimated_value")).alias("ltv"),
        )
        .with_columns(_equity(cfg))
        .with_columns(
            _strategy().alias("strategy"),
            (pl.col("occupancy") == "owner_occupied").alias("owner_occupied"),
            # trustee sales are always on a deed of trust; in court, HOA/government/private suits are another lane
            pl.when(pl.col("plaintiff_type").is_in(["lender", "unknown"]) | (pl.col("process") != "judicial"))
            .then(pl.lit("mortgage"))
            .otherwise(pl.lit("non_mortgage"))
            .alias("lane"),
            lane_confidence().alias("lane_confidence"),
        )
        .with_columns(
            pl.sum_horizontal(
                pl.when(when).then(pl.lit(1, dtype=pl.Int32)).otherwise(pl.lit(0, dtype=pl.Int32))
                for _, when in _DISTRESS
            ).alias("distress_count"),
            pl.concat_str(
                [pl.when(when).then(pl.lit(signal)) for signal, when in _DISTRESS],
                separator=",",
                ignore_nulls=True,
            ).alias("distress_signals"),
            pl.when(pl.col("actionable"))
            .then(_score_points(cfg).clip(0, 100))
            .otherwise(0)
            .cast(pl.Int32)
            .alias("score"),
            pl.when(pl.col("actionable"))
            .then(_reason_text(cfg))
            .otherwise(pl.lit("not_actionable: ") + pl.col("status"))
            .alias("reasons"),
        )
        .with_columns(
            _tier(cfg).alias("tier"),
            pl.lit(cfg.version).alias("score_version"),
            _full_address("situs_address", "situs_city", "situs_state", "situs_zip").alias("situs_full"),
            _full_address("mailing_address", "mailing_city", "mailing_state", "mailing_zip").alias(
                "mailing_full"
            ),
            pl.lit(as_of).alias("as_of"),
        )
    )
    return frame
