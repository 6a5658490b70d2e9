"""Accuracy of the pipeline against the sample generator's ground truth (issue 4 and 5 "Measure" sections).

Pure functions: frames in, figures out (a dict of scalars and small frames). No I/O, no settings:
`leads/evaluate.py` reads the state database and the truth files and calls these.

Vocabulary of the frames:
- truth filings (truth/filings.csv): source, record_id, apn, case_id, defect ('' | malformed | duplicate).
- truth cases (truth/cases.csv): case_id, state, status, auction_date, outcome, market_value, payoff, ...
- predicted filings (state `case_filings`): source, record_id, parcel_apn, match_method, case_id.
- `graded_filings` joins the two filing sets; `case_map` / `lead_map` map a case of one side to the case of
  the other side that holds most of its filings; `graded_leads` joins every lead with its truth case.

Shares are 0-1 (None when the denominator is 0); money errors are relative (0.05 = 5 %); dates in days.
"""

from __future__ import annotations

from typing import Any

import polars as pl

NO_CASE = "(no case)"  # a truth case none of whose filings reached the pipeline
TIER_ORDER = ["A", "B", "C", "D", "inactive"]
STATUS_ORDER = [
    "active",
    "judgment",
    "sale_scheduled",
    "postponed",
    "sold",
    "cancelled",
    "sale_date_passed_unknown",
    "stale",
    NO_CASE,
]
BAND_ORDER = ["healthy", "thin", "negative", "unknown"]
# The generator's plaintiff kinds in the published vocabulary (schemas/leads.py plaintiff_type).
TRUTH_PLAINTIFF_TYPE = {"individual": "individual_other"}
# Same routing as transforms/leads.py `_strategy`: the strategy an investor should take for an equity band.
STRATEGY_BY_BAND = {
    "healthy": "standard_purchase",
    "thin": "tight_subject_to",
    "negative": "short_sale_creative",
}


def _share(numerator: int | float, denominator: int | float) -> float | None:
    return numerator / denominator if denominator else None


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator)


def _ordered(values: list[str], order: list[str]) -> list[str]:
    """Values in the vocabulary's order first, then any others alphabetically."""
    return [v for v in order if v in values] + sorted(v for v in values if v not in order)


def confusion(
    frame: pl.DataFrame, truth: str, predicted: str, order: list[str] | None = None
) -> pl.DataFrame:
    """Wide confusion table: one row per truth value, one count column per predicted value (+ `total`)."""
    order = order or []
    counts = frame.group_by(truth, predicted).len()
    rows = _ordered(counts[truth].unique().to_list(), order)
    cols = _ordered(counts[predicted].unique().to_list(), order)
    wide = pl.DataFrame({truth: rows}, schema={truth: pl.String})
    for col in cols:
        cell = counts.filter(pl.col(predicted) == col).select(truth, pl.col("len").alias(col))
        wide = wide.join(cell, on=truth, how="left", maintain_order="left")
    wide = wide.with_columns(pl.col(cols).fill_null(0).cast(pl.Int64))
    return wide.with_columns(pl.sum_horizontal(cols).cast(pl.Int64).alias("total") if cols else pl.lit(0))


# ---------------------------------------------------------------------------------------------- filings


def graded_filings(truth_filings: pl.DataFrame, predicted: pl.DataFrame) -> pl.DataFrame:
    """Every foreclosure document of the truth and of the pipeline, side by side, by (source, record_id).

    Truth rows with a defect are extra copies of a document (malformed: quarantined by the pipeline;
    duplicate: superseded by record key), so only the document itself (empty defect) is graded.
    Columns: source, record_id, true_apn, true_case_id, parcel_apn, match_method, pred_case_id,
    in_truth, in_pipeline.
    """
    documents = (
        truth_filings.filter(pl.col("defect").is_null() | (pl.col("defect") == ""))
        .select(
            "source", "record_id", pl.col("apn").alias("true_apn"), pl.col("case_id").alias("true_case_id")
        )
        .unique(["source", "record_id"], keep="first", maintain_order=True)
    )
    pipeline = predicted.select(
        "source", "record_id", "parcel_apn", "match_method", pl.col("case_id").alias("pred_case_id")
    ).unique(["source", "record_id"], keep="first", maintain_order=True)
    return (
        documents.join(pipeline, on=["source", "record_id"], how="full", coalesce=True)
        .with_columns(
            pl.col("true_case_id").is_not_null().alias("in_truth"),
            pl.col("pred_case_id").is_not_null().alias("in_pipeline"),
        )
        .sort("source", "record_id")
    )


def _match_counts() -> list[pl.Expr]:
    in_both = pl.col("in_truth") & pl.col("in_pipeline")
    matched = in_both & pl.col("parcel_apn").is_not_null()
    correct = matched & (pl.col("parcel_apn") == pl.col("true_apn"))
    return [
        pl.col("in_truth").sum().cast(pl.Int64).alias("truth_filings"),
        in_both.sum().cast(pl.Int64).alias("staged"),
        matched.sum().cast(pl.Int64).alias("matched"),
        correct.fill_null(False).sum().cast(pl.Int64).alias("correct"),
        (pl.col("in_pipeline") & ~pl.col("in_truth")).sum().cast(pl.Int64).alias("not_in_truth"),
    ]


def _with_match_rates(counts: pl.DataFrame) -> pl.DataFrame:
    return counts.with_columns(
        (pl.col("matched") - pl.col("correct")).alias("wrong"),
        (pl.col("staged") - pl.col("matched")).alias("unmatched"),
        (pl.col("truth_filings") - pl.col("staged")).alias("not_staged"),
        _ratio(pl.col("correct"), pl.col("matched")).alias("precision"),
        _ratio(pl.col("correct"), pl.col("truth_filings")).alias("recall"),
    )


def match_accuracy(graded: pl.DataFrame) -> dict[str, Any]:
    """Parcel-match precision (correct / matched) and recall (correct / truth documents), overall and by
    source; and per match_method how many filings it placed and how many of them on the true parcel.

    A filing is matched when the pipeline gave it a parcel (method other than `none`); correct when that
    parcel is the true one. `not_staged`: truth documents the pipeline never staged; `not_in_truth`:
    pipeline filings the truth does not know (should be 0 on generated samples).
    """
    overall = _with_match_rates(graded.select(_match_counts())).row(0, named=True)
    by_source = _with_match_rates(graded.group_by("source").agg(_match_counts()).sort("source"))
    in_both = graded.filter(pl.col("in_truth") & pl.col("in_pipeline"))
    total = int(graded["in_truth"].sum())
    by_method = (
        in_both.group_by("match_method")
        .agg(
            pl.len().cast(pl.Int64).alias("filings"),
            (pl.col("parcel_apn") == pl.col("true_apn"))
            .fill_null(False)
            .sum()
            .cast(pl.Int64)
            .alias("correct"),
        )
        .with_columns(
            (pl.col("filings") - pl.col("correct")).alias("wrong"),
            pl.when(pl.col("match_method") != "none")
            .then(pl.col("correct") / pl.col("filings"))
            .alias("precision"),
            (pl.col("filings") / total if total else pl.lit(None, dtype=pl.Float64)).alias("share_of_truth"),
        )
        .with_columns(
            pl.when(pl.col("match_method") == "none").then(0).otherwise(pl.col("wrong")).alias("wrong")
        )
    )
    by_method = by_method.sort(
        pl.col("match_method").replace_strict(
            {"parcel_id": 0, "legal_description": 1, "situs_address": 2, "none": 3},
            default=9,
            return_dtype=pl.Int8,
        ),
        "match_method",
    )
    return {**overall, "by_source": by_source, "by_method": by_method}


def quarantine_check(truth_filings: pl.DataFrame, quarantine: pl.DataFrame) -> dict[str, Any]:
    """Truth rows with defect `malformed` (an extra copy with an impossible date) and whether the pipeline
    quarantined them: found when a quarantined raw record of the same source carries the record id.

    quarantine: source, raw_record (the raw record as JSON text).
    """
    malformed = truth_filings.filter(pl.col("defect") == "malformed").select("source", "record_id").unique()
    rows = quarantine.select("source", "raw_record").unique()
    quoted = pl.lit('"') + pl.col("record_id") + pl.lit('"')
    found = (
        malformed.join(rows, on="source", how="inner")
        .filter(pl.col("raw_record").str.contains(quoted, literal=True))
        .select("source", "record_id")
        .unique()
    )
    sources = sorted(set(malformed["source"].to_list()) | set(rows["source"].to_list()))
    counts = {
        "truth_malformed": malformed.group_by("source").len(),
        "found_in_quarantine": found.group_by("source").len(),
        "quarantine_rows": rows.group_by("source").len(),
    }
    by_source = pl.DataFrame({"source": sources}, schema={"source": pl.String})
    for name, frame in counts.items():
        by_source = by_source.join(
            frame.rename({"len": name}), on="source", how="left", maintain_order="left"
        ).with_columns(pl.col(name).fill_null(0).cast(pl.Int64))
    return {
        "truth_malformed": malformed.height,
        "found_in_quarantine": found.height,
        "quarantine_rows": rows.height,
        "by_source": by_source,
    }


# ------------------------------------------------------------------------------------------------ cases


def _pairs(n: pl.Expr) -> pl.Expr:
    """Unordered pairs among n filings."""
    return (n * (n - 1) // 2).sum()


def grouping_accuracy(graded: pl.DataFrame) -> dict[str, Any]:
    """Case grouping as pairwise precision / recall / F1 over pairs of filings (same predicted case vs same
    true case), and the share of true cases reconstructed exactly (one predicted case with exactly the same
    filings). Only documents both sides know are compared.

    `split_cases`: true cases spread over several predicted cases; `merged_cases`: predicted cases that hold
    filings of several true cases.
    """
    both = graded.filter(pl.col("in_truth") & pl.col("in_pipeline"))
    cells = both.group_by("true_case_id", "pred_case_id").agg(pl.len().cast(pl.Int64).alias("n"))
    true_sizes = cells.group_by("true_case_id").agg(
        pl.col("n").sum().alias("n_true"), pl.len().alias("parts_true")
    )
    pred_sizes = cells.group_by("pred_case_id").agg(
        pl.col("n").sum().alias("n_pred"), pl.len().alias("parts_pred")
    )
    shared = int(cells.select(_pairs(pl.col("n"))).item() or 0)
    true_pairs = int(true_sizes.select(_pairs(pl.col("n_true"))).item() or 0)
    pred_pairs = int(pred_sizes.select(_pairs(pl.col("n_pred"))).item() or 0)
    exact = (
        cells.join(true_sizes, on="true_case_id")
        .join(pred_sizes, on="pred_case_id")
        .filter((pl.col("n") == pl.col("n_true")) & (pl.col("n") == pl.col("n_pred")))
        .height
    )
    precision, recall = _share(shared, pred_pairs), _share(shared, true_pairs)
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
    return {
        "filings": both.height,
        "true_cases": true_sizes.height,
        "predicted_cases": pred_sizes.height,
        "true_pairs": true_pairs,
        "predicted_pairs": pred_pairs,
        "shared_pairs": shared,
        "pair_precision": precision,
        "pair_recall": recall,
        "pair_f1": f1,
        "exact_cases": exact,
        "exact_share": _share(exact, true_sizes.height),
        "split_cases": true_sizes.filter(pl.col("parts_true") > 1).height,
        "merged_cases": pred_sizes.filter(pl.col("parts_pred") > 1).height,
    }


def majority_case(graded: pl.DataFrame, source_col: str, target_col: str) -> pl.DataFrame:
    """For each case in `source_col`, the case in `target_col` holding most of its filings (ties: the
    smaller id), with `shared_filings` and the source case's `case_filings` in both sets.

    majority_case(g, "true_case_id", "pred_case_id"): the predicted case standing for each true case;
    majority_case(g, "pred_case_id", "true_case_id"): the true case behind each predicted case (lead).
    """
    both = graded.filter(pl.col("in_truth") & pl.col("in_pipeline"))
    cells = both.group_by(source_col, target_col).agg(pl.len().cast(pl.Int64).alias("shared_filings"))
    return (
        cells.with_columns(pl.col("shared_filings").sum().over(source_col).alias("case_filings"))
        .sort(source_col, pl.col("shared_filings"), target_col, descending=[False, True, False])
        .unique(source_col, keep="first", maintain_order=True)
    )


def lifecycle_accuracy(
    truth_cases: pl.DataFrame, case_map: pl.DataFrame, pred_cases: pl.DataFrame
) -> dict[str, Any]:
    """Status of each true case vs the status of the predicted case holding most of its filings.

    truth_cases: case_id, status; case_map: majority_case(graded, "true_case_id", "pred_case_id");
    pred_cases: case_id, status. `stale` exists only in the pipeline (an inference from silence: no
    follow-on document within the state's window), so it is reported with the true statuses it stood for,
    and accuracy is also given over the cases not called stale.
    """
    joined = (
        truth_cases.select(pl.col("case_id").alias("true_case_id"), pl.col("status").alias("true_status"))
        .join(case_map.select("true_case_id", "pred_case_id"), on="true_case_id", how="left")
        .join(
            pred_cases.select(pl.col("case_id").alias("pred_case_id"), pl.col("status").alias("pred_status")),
            on="pred_case_id",
            how="left",
        )
        .with_columns(pl.col("pred_status").fill_null(NO_CASE))
    )
    right = pl.col("true_status") == pl.col("pred_status")
    stale = joined.filter(pl.col("pred_status") == "stale")
    not_stale = joined.filter(pl.col("pred_status") != "stale")
    correct = int(joined.select(right.sum()).item())
    return {
        "cases": joined.height,
        "correct": correct,
        "accuracy": _share(correct, joined.height),
        "without_case": joined.filter(pl.col("pred_status") == NO_CASE).height,
        "stale_cases": stale.height,
        "accuracy_excluding_stale": _share(int(not_stale.select(right.sum()).item()), not_stale.height),
        "stale_by_true_status": stale.group_by("true_status")
        .len("cases")
        .sort("cases", "true_status", descending=[True, False]),
        "confusion": confusion(joined, "true_status", "pred_status", STATUS_ORDER),
    }


def lis_pendens_classification(
    truth_cases: pl.DataFrame, case_map: pl.DataFrame, leads: pl.DataFrame, judicial_states: list[str]
) -> dict[str, Any]:
    """For judicial cases (opened by a lis pendens): the lead's lane (mortgage / non_mortgage) vs the truth's
    is_mortgage_foreclosure, and its plaintiff_type vs the true plaintiff type.

    truth_cases: case_id, state, is_mortgage_foreclosure, plaintiff_type; leads: case_id, lane, plaintiff_type.
    """
    joined = (
        truth_cases.filter(pl.col("state").is_in(judicial_states))
        .select(
            pl.col("case_id").alias("true_case_id"),
            pl.when(pl.col("is_mortgage_foreclosure"))
            .then(pl.lit("mortgage"))
            .otherwise(pl.lit("non_mortgage"))
            .alias("true_lane"),
            pl.col("plaintiff_type").replace(TRUTH_PLAINTIFF_TYPE).alias("true_plaintiff_type"),
        )
        .join(case_map.select("true_case_id", "pred_case_id"), on="true_case_id", how="left")
        .join(
            leads.select(
                pl.col("case_id").alias("pred_case_id"),
                pl.col("lane").alias("pred_lane"),
                pl.col("plaintiff_type").alias("pred_plaintiff_type"),
            ),
            on="pred_case_id",
            how="left",
        )
        .with_columns(pl.col("pred_lane", "pred_plaintiff_type").fill_null(NO_CASE))
    )
    lane_ok = int(joined.select((pl.col("true_lane") == pl.col("pred_lane")).sum()).item())
    type_ok = int(
        joined.select((pl.col("true_plaintiff_type") == pl.col("pred_plaintiff_type")).sum()).item()
    )
    non_mortgage = joined.filter(pl.col("true_lane") == "non_mortgage")
    called_non_mortgage = joined.filter(pl.col("pred_lane") == "non_mortgage")
    both_non = int(non_mortgage.select((pl.col("pred_lane") == "non_mortgage").sum()).item() or 0)
    return {
        "cases": joined.height,
        "lane_accuracy": _share(lane_ok, joined.height),
        "plaintiff_type_accuracy": _share(type_ok, joined.height),
        "non_mortgage_recall": _share(both_non, non_mortgage.height),
        "non_mortgage_precision": _share(both_non, called_non_mortgage.height),
        "lane_confusion": confusion(joined, "true_lane", "pred_lane", ["mortgage", "non_mortgage", NO_CASE]),
        "plaintiff_type_confusion": confusion(
            joined,
            "true_plaintiff_type",
            "pred_plaintiff_type",
            ["lender", "hoa", "government", "individual_other", "unknown", NO_CASE],
        ),
    }


# ------------------------------------------------------------------------------------------------ leads


def graded_leads(leads: pl.DataFrame, lead_map: pl.DataFrame, truth_cases: pl.DataFrame) -> pl.DataFrame:
    """Every lead with the truth case behind it (the one holding most of its filings), truth columns
    prefixed `true_`; null when none of the lead's filings is a truth document.

    lead_map: majority_case(graded, "pred_case_id", "true_case_id").
    """
    truth = truth_cases.select(
        pl.col("case_id").alias("true_case_id"),
        pl.col("status").alias("true_status"),
        pl.col("auction_date").alias("true_auction_date"),
        pl.col("outcome").alias("true_outcome"),
        pl.col("market_value").cast(pl.Float64).alias("true_market_value"),
        pl.col("payoff").cast(pl.Float64).alias("true_payoff"),
        pl.col("loan_in_feed").alias("true_loan_in_feed"),
    )
    return leads.join(
        lead_map.select(pl.col("pred_case_id").alias("case_id"), "true_case_id"),
        on="case_id",
        how="left",
        maintain_order="left",
    ).join(truth, on="true_case_id", how="left", maintain_order="left")


def auction_date_error(leads: pl.DataFrame) -> dict[str, Any]:
    """Auction-date error in days, `recorded` and `estimated` leads apart, where the truth has a date.

    leads: graded_leads (auction_date, auction_date_low/high, auction_date_source, status, true_auction_date).
    error = predicted - true (days; positive = predicted later). within_range: low <= true <= high.
    `no_predicted_date`: leads whose truth has an auction date but the lead has none, by predicted status.
    """
    err = (pl.col("auction_date") - pl.col("true_auction_date")).dt.total_days()
    graded = pl.col("true_auction_date").is_not_null() & pl.col("auction_date").is_not_null()
    inside = (pl.col("auction_date_low") <= pl.col("true_auction_date")) & (
        pl.col("true_auction_date") <= pl.col("auction_date_high")
    )
    by_source = (
        leads.filter(pl.col("auction_date_source").is_not_null())
        .group_by("auction_date_source")
        .agg(
            pl.len().cast(pl.Int64).alias("leads"),
            graded.sum().cast(pl.Int64).alias("with_true_date"),
            err.filter(graded).abs().median().alias("median_abs_error_days"),
            err.filter(graded).abs().mean().alias("mean_abs_error_days"),
            err.filter(graded).median().alias("median_error_days"),
            (err.filter(graded) == 0).mean().alias("share_exact"),
            (err.filter(graded).abs() <= 30).mean().alias("share_within_30_days"),
            inside.filter(graded).mean().alias("share_within_range"),
        )
        .sort(
            pl.col("auction_date_source").replace_strict(
                {"recorded": 0, "estimated": 1}, default=2, return_dtype=pl.Int8
            )
        )
    )
    missing = (
        leads.filter(pl.col("true_auction_date").is_not_null() & pl.col("auction_date").is_null())
        .group_by("status")
        .len("leads")
        .sort("leads", "status", descending=[True, False])
    )
    return {"by_source": by_source, "no_predicted_date": missing}


def _payoff_figures() -> list[pl.Expr]:
    graded = pl.col("estimated_payoff").is_not_null() & (pl.col("true_payoff") > 0)
    pct = (pl.col("estimated_payoff") - pl.col("true_payoff")) / pl.col("true_payoff")
    inside = (pl.col("payoff_low") <= pl.col("true_payoff")) & (
        pl.col("true_payoff") <= pl.col("payoff_high")
    )
    return [
        pl.len().cast(pl.Int64).alias("leads"),
        graded.sum().cast(pl.Int64).alias("graded"),
        pct.filter(graded).abs().median().alias("median_abs_pct_error"),
        pct.filter(graded).median().alias("median_pct_error"),
        (pct.filter(graded).abs() <= 0.10).mean().alias("share_within_10pct"),
        inside.filter(graded).mean().alias("share_within_range"),
        (pl.col("true_payoff") == 0).sum().cast(pl.Int64).alias("true_payoff_zero"),
        (~pl.col("true_loan_in_feed"))
        .fill_null(False)
        .sum()
        .cast(pl.Int64)
        .alias("true_loan_missing_from_feed"),
    ]


def payoff_error(leads: pl.DataFrame) -> dict[str, Any]:
    """Payoff error by payoff_source and overall: median absolute % error and the share of true payoffs inside
    payoff_low..payoff_high, over leads with a predicted payoff and a true payoff > 0.

    leads: graded_leads (estimated_payoff, payoff_low/high, payoff_source, true_payoff, true_loan_in_feed);
    only leads with a truth case are graded. median_pct_error is signed (positive = payoff overstated).
    """
    known = leads.filter(pl.col("true_case_id").is_not_null())
    order = {"judgment": 0, "notice_amount_due": 1, "amortized_loans": 2, "unknown": 3}
    by_source = (
        known.group_by("payoff_source")
        .agg(_payoff_figures())
        .sort(pl.col("payoff_source").replace_strict(order, default=9, return_dtype=pl.Int8))
    )
    overall = known.select(_payoff_figures()).with_columns(pl.lit("all").alias("payoff_source"))
    return {"by_source": pl.concat([by_source, overall.select(by_source.columns)])}


def equity_band(value: str, payoff: str, healthy_min: float, thin_min: float) -> pl.Expr:
    """Band of (value - payoff) / value against the scoring cut-offs (transforms/leads.py `_equity`); null
    when the value is missing or not positive or the payoff is missing."""
    pct = (pl.col(value) - pl.col(payoff)) / pl.col(value)
    return (
        pl.when(pl.col(value).is_null() | (pl.col(value) <= 0) | pl.col(payoff).is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(pct >= healthy_min)
        .then(pl.lit("healthy"))
        .when(pct >= thin_min)
        .then(pl.lit("thin"))
        .otherwise(pl.lit("negative"))
    )


def value_error(leads: pl.DataFrame) -> pl.DataFrame:
    """Value error by value_source and overall: median absolute % error against the true market value and
    the share of true values inside value_low..value_high (the other half of every equity figure).

    leads: graded_leads (estimated_value, value_low/high, value_source, true_market_value).
    """
    graded = pl.col("estimated_value").is_not_null() & (pl.col("true_market_value") > 0)
    pct = (pl.col("estimated_value") - pl.col("true_market_value")) / pl.col("true_market_value")
    inside = (pl.col("value_low") <= pl.col("true_market_value")) & (
        pl.col("true_market_value") <= pl.col("value_high")
    )
    figures = [
        pl.len().cast(pl.Int64).alias("leads"),
        graded.sum().cast(pl.Int64).alias("graded"),
        pct.filter(graded).abs().median().alias("median_abs_pct_error"),
        pct.filter(graded).median().alias("median_pct_error"),
        (pct.filter(graded).abs() <= 0.10).mean().alias("share_within_10pct"),
        inside.filter(graded).mean().alias("share_within_range"),
    ]
    known = leads.filter(pl.col("true_case_id").is_not_null())
    order = {"avm": 0, "assessed": 1, "last_sale_indexed": 2, "unknown": 3}
    by_source = (
        known.group_by("value_source")
        .agg(figures)
        .sort(pl.col("value_source").replace_strict(order, default=9, return_dtype=pl.Int8))
    )
    overall = known.select(figures).with_columns(pl.lit("all").alias("value_source"))
    return pl.concat([by_source, overall.select(by_source.columns)])


def equity_accuracy(leads: pl.DataFrame, healthy_min: float, thin_min: float) -> dict[str, Any]:
    """Equity band and strategy of each lead vs the band the truth's market value and payoff give.

    leads: graded_leads (equity_band, strategy, estimated_value, estimated_payoff, true_market_value,
    true_payoff). healthy_min / thin_min: the equity_pct cut-offs of config/scoring.yaml. A lead whose band is
    `unknown` counts as wrong in `*_accuracy` and is left out of `*_accuracy_known`.
    `claims_equity_but_underwater`: band healthy or thin while the true payoff exceeds the true market value -
    the mistake that sends outreach to a house with no deal in it. `band_accuracy_if_value_true` /
    `_if_payoff_true`: the accuracy had the pipeline known the true value / the true payoff (which of the
    two estimates costs more).
    """
    graded = leads.with_columns(
        equity_band("true_market_value", "true_payoff", healthy_min, thin_min).alias("true_band"),
        equity_band("true_market_value", "estimated_payoff", healthy_min, thin_min).alias("_band_true_value"),
        equity_band("estimated_value", "true_payoff", healthy_min, thin_min).alias("_band_true_payoff"),
    ).filter(pl.col("true_band").is_not_null())
    graded = graded.with_columns(
        pl.col("true_band").replace_strict(STRATEGY_BY_BAND, return_dtype=pl.String).alias("true_strategy")
    )
    known = graded.filter(pl.col("equity_band") != "unknown")

    def share(frame: pl.DataFrame, hit: pl.Expr) -> float | None:
        return _share(int(frame.select(hit.fill_null(False).sum()).item()), frame.height)

    band_ok = pl.col("equity_band") == pl.col("true_band")
    strategy_ok = pl.col("strategy") == pl.col("true_strategy")
    underwater = pl.col("true_payoff") > pl.col("true_market_value")
    claims = pl.col("equity_band").is_in(["healthy", "thin"])
    return {
        "leads": graded.height,
        "band_unknown": graded.height - known.height,
        "band_accuracy": share(graded, band_ok),
        "band_accuracy_known": share(known, band_ok),
        "band_accuracy_if_value_true": share(graded, pl.col("_band_true_value") == pl.col("true_band")),
        "band_accuracy_if_payoff_true": share(graded, pl.col("_band_true_payoff") == pl.col("true_band")),
        "strategy_accuracy": share(graded, strategy_ok),
        "strategy_accuracy_known": share(known, strategy_ok),
        "truly_underwater": int(graded.select(underwater.sum()).item()),
        "claims_equity_but_underwater": int(graded.select((claims & underwater).sum()).item()),
        "band_confusion": confusion(graded, "true_band", "equity_band", BAND_ORDER),
    }


def tier_calibration(leads: pl.DataFrame) -> pl.DataFrame:
    """Per tier: leads, and how their true cases ended (truth outcome on the truth's as-of date): sold at
    auction, cured / cancelled, or still pending; shares of the leads that have a truth case.

    leads: graded_leads (tier, true_outcome). Tiers in order A, B, C, D, inactive.
    """
    outcome = pl.col("true_outcome")
    graded = pl.col("true_case_id").is_not_null()
    table = leads.group_by("tier").agg(
        pl.len().cast(pl.Int64).alias("leads"),
        graded.sum().cast(pl.Int64).alias("with_truth"),
        (outcome == "sold").sum().cast(pl.Int64).alias("sold"),
        (outcome == "cancelled").sum().cast(pl.Int64).alias("cancelled"),
        (outcome == "pending").sum().cast(pl.Int64).alias("pending"),
    )
    return table.with_columns(
        _ratio(pl.col("sold"), pl.col("with_truth")).alias("share_sold"),
        _ratio(pl.col("cancelled"), pl.col("with_truth")).alias("share_cancelled"),
        _ratio(pl.col("pending"), pl.col("with_truth")).alias("share_pending"),
    ).sort(
        pl.col("tier").replace_strict(
            {t: i for i, t in enumerate(TIER_ORDER)}, default=9, return_dtype=pl.Int8
        )
    )
