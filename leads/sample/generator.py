"""Deterministic synthetic sample of the pipeline's inputs and the truth to grade it against.

`generate_sample(out, spec)` writes::

    deliveries/<source>/<H>/<file>            bulk history: filings recorded in [as_of - history_days, H]
    deliveries/<source>/<D>/<file>            one daily file per D in (H, as_of] (empty when nothing recorded)
    deliveries/vendor_parcels|vendor_avm|vendor_loans|vendor_liens|usps_vacancy/<H>/<kind>_<fips>.csv
    truth/filings.csv  truth/cases.csv  truth/case_events.csv
    sample_spec.json

where H = as_of - daily_days. Same spec -> byte-identical files: every random draw comes from
`np.random.default_rng([seed, county.seed_index, stream])`, every output is sorted, no wall clock is read.

Truth semantics:
- filings.csv lists every foreclosure row delivered (Florida's unrelated deeds/mortgages/satisfactions are not
  listed), one line per delivered row: `defect` is empty for the document itself, `malformed` for an extra copy
  with an impossible date, `duplicate` for an exact extra copy (same file or a later delivery). `apn` is the
  roll form; `event` the true canonical event (a repeated notice of sale is POSTPONEMENT).
- cases.csv: one row per case with at least one delivered document. Cases may have started before the history
  window (their early documents are not delivered). first/last_filing_date are the case's first and last
  delivered documents. status/auction_date/outcome follow `cases.case_status` on as_of. market_value and payoff
  are integer USD on as_of; payoff = unpaid principal of every open loan (payments stop at the default date
  for a pending or sold mortgage foreclosure; a cured or non-mortgage case's loans amortize normally) + simple
  interest accrued since default + open liens. loan_in_feed is false when the parcel's loans were withheld
  from the loan feed (the missing-loan trap; the parcel truly has an open first loan).
- case_events.csv: the true dated timeline up to as_of, documents and truth-only events: DEFAULT (payments
  stopped), AUCTION_SOLD (the sale happened), CURED (a Texas foreclosure stopped without any document).

Messiness scales every defect and variant rate (0 = clean): malformed and duplicate rows, parcel-id forms,
owner-name variants, spelled-out street words, mailing-address-instead-of-situs on absentee owners, legal
description noise, scientific-notation loan amounts, the missing-loan trap. Structural properties stay:
Texas HCAD accounts on ~60% of notices, addresses on ~70% of Florida notices, ~30% of loans without a rate,
co-owners shown on ~60% of California / Texas notices of co-owned parcels.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from leads.sample import cases, feeds, render, vocab, world
from leads.sample.counties import COUNTIES, County
from leads.sample.days import NEVER, as_date, day_number, prev_weekday, uniform_days
from leads.sample.world import pick

__all__ = ["COUNTIES", "SampleSpec", "generate_sample"]

# independent random streams per county, so that changing one part does not reshuffle the others
STREAM_PARCELS, STREAM_LOANS, STREAM_CASES, STREAM_FEEDS, STREAM_RENDER, STREAM_DEFECTS, STREAM_NATIVE = (
    range(7)
)

MALFORMED_RATE = 0.005  # share of filing rows delivered a second time with an impossible date
DUPLICATE_RATE = 0.003  # share of filing rows delivered twice
MISSING_LOANS_RATE = 0.05  # share of foreclosed parcels whose loans are absent from the loan feed
FEED_FILES = {
    "vendor_parcels": "parcels_{fips}.csv",
    "vendor_avm": "avm_{fips}.csv",
    "vendor_loans": "loans_{fips}.csv",
    "vendor_liens": "liens_{fips}.csv",
    "usps_vacancy": "vacancy_{fips}.csv",
}
TRUTH_CASE_COLUMNS = (
    "case_id",
    "source",
    "county_fips",
    "state",
    "apn",
    "lender",
    "plaintiff_type",
    "is_mortgage_foreclosure",
    "first_filing_date",
    "last_filing_date",
    "status",
    "auction_date",
    "outcome",
    "outcome_date",
    "market_value",
    "payoff",
    "loan_in_feed",
)


@dataclass(frozen=True)
class SampleSpec:
    """What to generate. Equal specs give byte-identical output."""

    seed: int = 42
    parcels_per_county: int = 2000
    as_of: date = date(2026, 11, 27)  # last delivery date
    daily_days: int = 2  # number of daily deliveries after the bulk history delivery
    history_days: int = 730  # how far back filings go
    counties: tuple[str, ...] = ("fl_hillsborough", "ca_riverside", "tx_harris")
    messiness: float = 1.0  # scales all error/noise rates; 0 = perfectly clean

    def __post_init__(self) -> None:
        unknown = [c for c in self.counties if c not in COUNTIES]
        if unknown:
            raise ValueError(f"unknown counties {unknown}; known: {sorted(COUNTIES)}")
        if len(set(self.counties)) != len(self.counties):
            raise ValueError("counties must not repeat")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")
        if self.parcels_per_county < 50:
            raise ValueError("parcels_per_county must be >= 50")
        if not 0 <= self.daily_days < self.history_days:
            raise ValueError("need 0 <= daily_days < history_days")
        if self.messiness < 0:
            raise ValueError("messiness must be >= 0")


@dataclass(frozen=True)
class _Calendar:
    as_of: int  # day numbers
    h: int  # the bulk history delivery and the dimension feeds
    window_start: int
    deliveries: tuple[int, ...] = field(default=())

    @classmethod
    def of(cls, spec: SampleSpec) -> _Calendar:
        as_of = day_number(spec.as_of)
        h = as_of - spec.daily_days
        return cls(as_of, h, as_of - spec.history_days, tuple(range(h, as_of + 1)))


def _rng(spec: SampleSpec, county: County, stream: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, county.seed_index, stream])


def _iso(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day))).isoformat()


def _rows(frame: pl.DataFrame, idx: np.ndarray) -> pl.DataFrame:
    """Rows of frame at positions idx, in that order."""
    return frame.select(pl.all().gather(pl.Series(idx, dtype=pl.Int64)))


def generate_sample(out: Path, spec: SampleSpec) -> dict:
    """Write the sample under `out` and return counts per county and file kind.

    Writes into `out` (created if missing), overwriting files of the same names; run it on an empty
    directory so that files from a different spec cannot linger."""
    out = Path(out)
    cal = _Calendar.of(spec)
    summary: dict = {"as_of": spec.as_of.isoformat(), "history_date": _iso(cal.h), "counties": {}}
    filings, case_rows, events = [], [], []
    for source_id in spec.counties:
        result = _county_sample(out, spec, COUNTIES[source_id], cal)
        summary["counties"][source_id] = result["summary"]
        filings.append(result["filings"])
        case_rows.append(result["cases"])
        events.append(result["events"])
    truth = out / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    tables = {
        "filings": pl.concat(filings).sort("source", "record_id", "defect"),
        "cases": pl.concat(case_rows).sort("case_id"),
        "case_events": pl.concat(events).sort("case_id", "event_date", "seq", "event").drop("seq"),
    }
    for name, table in tables.items():
        table.write_csv(truth / f"{name}.csv")
        summary.setdefault("truth", {})[name] = table.height
    spec_json = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(spec).items()}
    spec_json["counties"] = list(spec.counties)
    (out / "sample_spec.json").write_text(
        json.dumps(spec_json, sort_keys=True, indent=2) + "\n", encoding="utf-8"
    )
    return summary


def _county_sample(out: Path, spec: SampleSpec, county: County, cal: _Calendar) -> dict:
    n, mess = spec.parcels_per_county, spec.messiness
    parcels = world.parcel_roll(_rng(spec, county, STREAM_PARCELS), county, n, cal.h)
    loans, current_first = world.loan_history(_rng(spec, county, STREAM_LOANS), parcels, cal.h, cal.as_of)
    loan_orig = loans["orig_day"].to_numpy()
    first_orig = np.where(current_first >= 0, loan_orig[np.maximum(current_first, 0)], NEVER)
    batch = cases.simulate_cases(
        _rng(spec, county, STREAM_CASES),
        county,
        parcels["land_use_idx"].to_numpy(),
        first_orig,
        cal.window_start,
        cal.as_of,
    )
    render_rng = _rng(spec, county, STREAM_RENDER)
    docs = batch.timeline.docs.filter(pl.col("record_day") <= cal.as_of)
    visible = np.unique(docs.filter(pl.col("record_day") >= cal.window_start)["case"].to_numpy())
    plaintiff = _plaintiffs(render_rng, county, parcels, loans, current_first, batch)

    # the missing-loan trap: some foreclosed parcels have no loan rows in the feed at all
    feed_rng = _rng(spec, county, STREAM_FEEDS)
    fc_parcels = np.unique(batch.parcel[visible][batch.kind[visible] == cases.KIND_LENDER])
    hidden = np.zeros(n, dtype=bool)
    hidden[fc_parcels[feed_rng.random(fc_parcels.size) < MISSING_LOANS_RATE * mess]] = True

    liens = _liens(feed_rng, parcels, batch, cal)
    sold_by_h = np.zeros(n, dtype=bool)
    sold_by_h[batch.parcel[batch.timeline.sold_day <= cal.h]] = True
    distressed = np.zeros(n, dtype=bool)
    distressed[batch.parcel] = True
    feed_frames = {
        "vendor_parcels": feeds.parcels_feed(county, parcels, cal.h),
        "vendor_avm": feeds.avm_feed(feed_rng, county, parcels, cal.h),
        "vendor_loans": feeds.loans_feed(county, parcels, loans, hidden, cal.h),
        "vendor_liens": feeds.liens_feed(county, parcels, liens, cal.h),
        "usps_vacancy": feeds.vacancy_feed(feed_rng, county, parcels, distressed, sold_by_h, cal.h),
    }
    for source, frame in feed_frames.items():
        path = out / "deliveries" / source / _iso(cal.h) / FEED_FILES[source].format(fips=county.fips)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_csv(path)

    numbered = _numbered_docs(render_rng, county, parcels, loans, batch, docs, plaintiff, cal)
    case_ids = _case_ids(county, numbered, visible)
    rows, truth_filings = _filing_rows(spec, county, parcels, numbered, case_ids, cal)
    file_counts = _write_filings(out, county, rows, cal)
    timeline = _events(batch, docs, cal, case_ids)
    case_table = _case_table(
        county, parcels, loans, liens, batch, plaintiff, numbered, timeline, case_ids, hidden, cal
    )
    events = timeline.select(
        "case_id",
        event_date=as_date(timeline["day"].to_numpy(), "event_date"),
        event="event",
        sale_date=as_date(timeline["sale_day"].to_numpy(), "sale_date"),
        seq="seq",
    )

    summary = {source: frame.height for source, frame in feed_frames.items()}
    summary.update(
        parcels=n,
        filing_rows=rows.height,
        filing_files=len(cal.deliveries),
        foreclosure_rows=int((rows["case"] >= 0).sum()),
        malformed_rows=int((rows["copy"] == 1).sum()),
        duplicate_rows=int((rows["copy"] == 2).sum()),
        rows_per_delivery=file_counts,
        cases=case_table.height,
    )
    return {"summary": summary, "filings": truth_filings, "cases": case_table, "events": events}


def _plaintiffs(
    rng: np.random.Generator,
    county: County,
    parcels: pl.DataFrame,
    loans: pl.DataFrame,
    current_first: np.ndarray,
    batch: cases.CaseBatch,
) -> pl.DataFrame:
    """Per simulated case: plaintiff name, the loan it forecloses (-1 none), trustee (CA) and case number."""
    m = batch.parcel.size
    loan_row = np.where(batch.kind == cases.KIND_LENDER, current_first[batch.parcel], -1)
    lender = np.where(loan_row >= 0, loans["lender"].to_numpy()[np.maximum(loan_row, 0)], 0)
    street = parcels["street_id"].to_numpy()[batch.parcel]
    condo = parcels["land_use_idx"].to_numpy()[batch.parcel] == 1
    association = pl.concat_str(
        world.subdivision_name(street),
        pl.Series(np.where(condo, " CONDOMINIUM ASSOCIATION INC", " HOMEOWNERS ASSOCIATION INC")),
    )
    government = pick(vocab.FL_GOVERNMENT_PLAINTIFFS, rng.integers(0, len(vocab.FL_GOVERNMENT_PLAINTIFFS), m))
    individual = pl.concat_str(
        pick(vocab.FIRST_NAMES, rng.integers(0, len(vocab.FIRST_NAMES), m)),
        pl.lit(" "),
        pick(vocab.LAST_NAMES, rng.integers(0, len(vocab.LAST_NAMES), m)),
    )
    kind = pl.Series(batch.kind)
    name = (
        pl.when(kind == cases.KIND_LENDER)
        .then(pick(vocab.LENDERS, lender))
        .when(kind == cases.KIND_HOA)
        .then(association)
        .when(kind == cases.KIND_GOVERNMENT)
        .then(government)
        .otherwise(individual)
    )
    # native case keys: FL court case number by LP year, CA trustee sale number by NOD year
    order = np.lexsort((np.arange(m), batch.start))
    year, seq = render.record_ids(rng, batch.start[order], 6)
    number = np.empty(m, dtype=object)
    prefix = "{:02d}-CA-{:06d}" if county.process == "judicial" else "TS-{:02d}-{:06d}"
    number[order] = [prefix.format(y % 100, s) for y, s in zip(year.tolist(), seq.tolist(), strict=True)]
    trustee = pick(vocab.CA_TRUSTEES, rng.integers(0, len(vocab.CA_TRUSTEES), m))
    return pl.select(
        case=pl.Series(np.arange(m, dtype=np.int64)),
        plaintiff=name,
        loan_row=pl.Series(loan_row),
        trustee=trustee,
        case_number=pl.Series(number.tolist(), dtype=pl.String),
    )


def _liens(
    rng: np.random.Generator, parcels: pl.DataFrame, batch: cases.CaseBatch, cal: _Calendar
) -> pl.DataFrame:
    """True liens; HOA foreclosures and government suits enforce an open lien recorded before they start."""
    distressed = np.zeros(parcels.height, dtype=bool)
    distressed[batch.parcel] = True
    forced = np.flatnonzero((batch.kind == cases.KIND_HOA) | (batch.kind == cases.KIND_GOVERNMENT))
    forced_type = np.where(batch.kind[forced] == cases.KIND_HOA, feeds.HOA, feeds.CODE)
    forced_day = prev_weekday(batch.start[forced] - uniform_days(rng, 60, 300, forced.size))
    return feeds.lien_history(rng, parcels, distressed, batch.parcel[forced], forced_type, forced_day, cal.h)


def _numbered_docs(
    rng: np.random.Generator,
    county: County,
    parcels: pl.DataFrame,
    loans: pl.DataFrame,
    batch: cases.CaseBatch,
    docs: pl.DataFrame,
    plaintiff: pl.DataFrame,
    cal: _Calendar,
) -> pl.DataFrame:
    """Every document recorded by as_of (plus Florida's unrelated recordings in the window) with its native
    record id, ref id, plaintiff, case number and amount; sorted by record id."""
    fc = docs.with_columns(parcel=pl.Series(batch.parcel).gather(docs["case"]))
    if county.process == "judicial":
        fc = pl.concat(
            [fc, _fl_noise_docs(rng, parcels, fc.filter(pl.col("record_day") >= cal.window_start), cal)]
        )
    tiebreak = rng.random(fc.height)
    fc = fc.with_columns(tiebreak=pl.Series(tiebreak)).sort("record_day", "tiebreak").drop("tiebreak")
    day = fc["record_day"].to_numpy()
    if county.state == "FL":  # instrument: year + 6 digits
        year, seq = render.record_ids(rng, day, 6)
        record_id = pl.Series(year * 1_000_000 + seq).cast(pl.String)
    elif county.state == "CA":  # document number: year-7 digits
        year, seq = render.record_ids(rng, day, 7)
        record_id = pl.Series(year).cast(pl.String) + "-" + pl.Series(seq).cast(pl.String).str.zfill(7)
    else:  # clerk file number: FRCL-year-5 digits
        year, seq = render.record_ids(rng, day, 5)
        record_id = (
            "FRCL-" + pl.Series(year).cast(pl.String) + "-" + pl.Series(seq).cast(pl.String).str.zfill(5)
        )
    fc = fc.with_columns(record_id=record_id)
    opening = fc.filter((pl.col("seq") == 0) & (pl.col("case") >= 0)).select(
        "case", ref_record_id="record_id"
    )
    fc = fc.join(opening, on="case", how="left", maintain_order="left").with_columns(
        ref_record_id=pl.when(pl.col("code").is_in(["RLP", "RESC"])).then("ref_record_id")
    )
    fc = fc.join(plaintiff, on="case", how="left", maintain_order="left")
    fc = fc.filter(pl.col("record_day") >= cal.window_start)
    return _with_amounts(rng, county, loans, batch, fc)


def _fl_noise_docs(
    rng: np.random.Generator, parcels: pl.DataFrame, fc: pl.DataFrame, cal: _Calendar
) -> pl.DataFrame:
    """Deeds, mortgages and satisfactions on random parcels: ~2x as many as foreclosure documents."""
    k = 2 * fc.height
    codes = np.array(["D", "MTG", "SAT"])[rng.choice(3, k, p=(0.4, 0.35, 0.25))]
    day = prev_weekday(uniform_days(rng, cal.window_start + 2, cal.as_of, k))
    return pl.DataFrame(
        {
            "case": np.full(k, -1, dtype=np.int64),
            "code": codes,
            "event": pl.Series([None] * k, dtype=pl.String),
            "record_day": day.astype(np.int64),
            "sale_day": np.full(k, NEVER, dtype=np.int64),
            "seq": np.full(k, -1, dtype=np.int64),
            "parcel": rng.integers(0, parcels.height, k),
        }
    )


def _with_amounts(
    rng: np.random.Generator, county: County, loans: pl.DataFrame, batch: cases.CaseBatch, docs: pl.DataFrame
) -> pl.DataFrame:
    """Amounts the filings state (integer cents): FL judgment ~ payoff at judgment; CA NOD arrears and NTS
    unpaid debt and costs; TX original note amount (USD)."""
    n = docs.height
    case = docs["case"].to_numpy()
    has_case = case >= 0
    loan_row = np.where(has_case, docs["loan_row"].fill_null(-1).to_numpy(), -1)
    with_loan = loan_row >= 0
    day = docs["record_day"].to_numpy()
    default_day = np.where(has_case, batch.default_day[np.maximum(case, 0)], NEVER)
    loan = _rows(loans, np.maximum(loan_row, 0))
    principal, interest = world.loan_balance(loan, day, np.where(with_loan, default_day, NEVER))
    payoff = principal + interest
    payment = world.monthly_payment(
        loan["amount"].to_numpy(), loan["rate"].to_numpy(), loan["term"].to_numpy()
    )
    months_behind = np.maximum((day - default_day) / (365.25 / 12), 0)
    code = docs["code"].to_numpy()
    fees = rng.uniform(1_500, 4_500, n)
    hoa_claim = rng.uniform(3_000, 25_000, n)
    amount = np.select(
        [
            (code == "FJ") & with_loan,
            code == "FJ",
            (code == "NOD") & with_loan,
            (code == "NTS") & with_loan,
        ],
        [
            payoff * rng.uniform(1.02, 1.05, n) + fees,
            hoa_claim,
            payment * np.ceil(months_behind) * 1.05,  # arrears + late charges
            payoff * rng.uniform(1.01, 1.035, n),
        ],
        np.nan,
    )
    cents = pl.Series(np.round(amount * 100)).fill_nan(None).cast(pl.Int64)
    original = np.where(with_loan, loan["amount"].to_numpy(), np.nan)
    return docs.with_columns(
        amount_cents=cents,
        original_amount=pl.Series(original).fill_nan(None),
    )


def _case_ids(county: County, docs: pl.DataFrame, visible: np.ndarray) -> pl.DataFrame:
    """case -> case_id for cases with a delivered document, numbered by first delivered document."""
    first = (
        docs.filter(pl.col("case") >= 0)
        .group_by("case")
        .agg(first_day=pl.col("record_day").min(), first_id=pl.col("record_id").min())
        .sort("first_day", "first_id", "case")
    )
    assert first.height == visible.size
    return first.select(
        "case",
        case_id=pl.format(
            "{}-{}", pl.lit(county.source_id), pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(6)
        ),
    )


def _filing_rows(
    spec: SampleSpec,
    county: County,
    parcels: pl.DataFrame,
    docs: pl.DataFrame,
    case_ids: pl.DataFrame,
    cal: _Calendar,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Native rows of every delivery (with defect copies) and the truth rows of the foreclosure ones."""
    rng = _rng(spec, county, STREAM_NATIVE)
    mess = spec.messiness
    cols = [
        "apn",
        "apn_int",
        "situs_address",
        "situs_long",
        "situs_city",
        "situs_zip",
        "mailing_address",
        "mailing_city",
        "mailing_state",
        "mailing_zip",
        "absentee",
        "legal_description",
        "owner_last",
        "owner_first",
        "owner_middle",
        "has_co_owner",
        "co_last",
        "co_first",
        "entity_name",
        "owner_name",
    ]
    attrs = _rows(parcels.select(cols), docs["parcel"].to_numpy()).with_columns(
        situs_state=pl.lit(county.state)
    )
    full = pl.concat([docs, attrs], how="horizontal")
    if county.state == "FL":
        native = render.fl_rows(rng, _fl_parties(rng, full), mess)
    elif county.state == "CA":
        native = render.ca_rows(rng, full, mess)
    else:
        native = render.tx_rows(rng, full, mess)
    record_day = docs["record_day"].to_numpy()
    meta = docs.select(
        "case",
        "record_id",
        "event",
        apn_roll=attrs["apn"],
        delivery_day=pl.Series(np.maximum(record_day, cal.h)),
        copy=pl.lit(0, dtype=pl.Int64),
    )
    rows = pl.concat([meta, native], how="horizontal")

    # defects on foreclosure rows: an extra copy with an impossible date; an exact extra copy, delivered in the
    # same file or a later one (the same document delivered twice, also across history and daily files)
    drng = _rng(spec, county, STREAM_DEFECTS)
    is_fc = docs["case"].to_numpy() >= 0
    bad = np.flatnonzero(is_fc & (drng.random(docs.height) < MALFORMED_RATE * mess))
    dup = np.flatnonzero(is_fc & (drng.random(docs.height) < DUPLICATE_RATE * mess))
    bad_rows = render.malformed(_rows(rows, bad), county.state, record_day[bad]).with_columns(
        copy=pl.lit(1, dtype=pl.Int64)
    )
    later = np.searchsorted(np.array(cal.deliveries), np.maximum(record_day[dup], cal.h))
    target = later + np.floor(drng.random(dup.size) * (len(cal.deliveries) - later)).astype(np.int64)
    dup_rows = _rows(rows, dup).with_columns(
        copy=pl.lit(2, dtype=pl.Int64),
        delivery_day=pl.Series(np.array(cal.deliveries, dtype=np.int64)[target]),
    )
    rows = pl.concat([rows, bad_rows, dup_rows]).sort("delivery_day", "record_id", "copy")

    truth = (
        rows.filter(pl.col("case") >= 0)
        .join(case_ids, on="case", how="left", maintain_order="left")
        .select(
            source=pl.lit(county.source_id),
            record_id="record_id",
            county_fips=pl.lit(county.fips),
            apn="apn_roll",
            case_id="case_id",
            event="event",
            defect=pl.col("copy").replace_strict(
                {0: None, 1: "malformed", 2: "duplicate"}, return_dtype=pl.String
            ),
        )
    )
    return rows, truth


def _fl_parties(rng: np.random.Generator, docs: pl.DataFrame) -> pl.DataFrame:
    """Florida party columns: plaintiff / grantor in party1; party2 is the owner, or another name."""
    n = docs.height
    lender = pick(vocab.LENDERS, rng.integers(0, len(vocab.LENDERS), n))
    stranger = pl.concat_str(
        pick(vocab.LAST_NAMES, rng.integers(0, len(vocab.LAST_NAMES), n)),
        pl.lit(","),
        pick(vocab.FIRST_NAMES, rng.integers(0, len(vocab.FIRST_NAMES), n)),
    )
    investor = pick(vocab.ENTITY_WORDS, rng.integers(0, len(vocab.ENTITY_WORDS), n)) + " HOLDINGS LLC"
    buyer = pl.when(pl.Series(rng.random(n) < 0.7)).then(pl.col("plaintiff")).otherwise(investor)
    clerk = pl.Series(rng.random(n) < 0.6)
    roll_owner = pl.col("owner_name").str.replace(", ", ",", literal=True)
    code = pl.col("code")
    shown = rng.random(n) < np.select(
        [np.isin(docs["code"].to_numpy(), ["LP", "NS"]), np.isin(docs["code"].to_numpy(), ["FJ", "CT"])],
        [0.7, 0.45],
        np.where(docs["code"].to_numpy() == "RLP", 0.2, 0.5),
    )
    return docs.with_columns(
        party1=pl.when(code == "CT")
        .then(pl.when(clerk).then(pl.lit("CLERK OF COURT")).otherwise(buyer))
        .when(code.is_in(["D", "MTG"]))
        .then(roll_owner)
        .when(code == "SAT")
        .then(lender)
        .otherwise(pl.col("plaintiff")),
        party2_owner=~code.is_in(["D", "MTG"]),
        party2_other=pl.when(code == "D").then(stranger).otherwise(lender),
        case_number=pl.when(code.is_in(["LP", "FJ", "NS", "CT"])).then(pl.col("case_number")),
        address_shown=pl.Series(shown),
    )


def _write_filings(out: Path, county: County, rows: pl.DataFrame, cal: _Calendar) -> dict[str, int]:
    """One file per delivery date in the county's native shape; returns rows per delivery."""
    counts: dict[str, int] = {}
    for day in cal.deliveries:
        iso = _iso(day)
        part = rows.filter(pl.col("delivery_day") == day)
        path = (
            out
            / "deliveries"
            / county.source_id
            / iso
            / county.filing_file.format(date=date.fromisoformat(iso))
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        if county.state == "FL":  # pipe-delimited, no header, trailing `|`, CRLF
            lines = pl.DataFrame({"line": render.fl_lines(part)})
            lines.write_csv(path, include_header=False, quote_style="never", line_terminator="\r\n")
        elif county.state == "CA":  # CSV with header, quoted when needed, LF
            part.select(render.CA_COLUMNS).write_csv(path, quote_style="necessary", line_terminator="\n")
        else:  # JSON Lines
            lines = pl.DataFrame({"line": render.tx_json_lines(part)})
            lines.write_csv(path, include_header=False, quote_style="never", line_terminator="\n")
        counts[iso] = part.height
    return counts


def _events(
    batch: cases.CaseBatch, docs: pl.DataFrame, cal: _Calendar, case_ids: pl.DataFrame
) -> pl.DataFrame:
    """The true timeline up to as_of of every delivered case (case, case_id, event, day, sale_day, seq)."""
    tl = batch.timeline
    defaulted = np.flatnonzero(batch.default_day <= cal.as_of)
    default_rows = pl.DataFrame(
        {
            "case": defaulted.astype(np.int64),
            "event": pl.Series([cases.DEFAULT] * defaulted.size, dtype=pl.String),
            "day": batch.default_day[defaulted].astype(np.int64),
            "sale_day": np.full(defaulted.size, NEVER, dtype=np.int64),
            "seq": np.full(defaulted.size, -1, dtype=np.int64),
        }
    )
    happened = pl.concat(
        [
            default_rows,
            docs.select("case", "event", day="record_day", sale_day="sale_day", seq="seq"),
            tl.truth_only.filter(pl.col("record_day") <= cal.as_of).select(
                "case", "event", day="record_day", sale_day="sale_day", seq="seq"
            ),
        ]
    )
    return happened.join(case_ids, on="case", how="inner").sort("case", "day", "seq", "event")


def _case_table(
    county: County,
    parcels: pl.DataFrame,
    loans: pl.DataFrame,
    liens: pl.DataFrame,
    batch: cases.CaseBatch,
    plaintiff: pl.DataFrame,
    docs: pl.DataFrame,
    events: pl.DataFrame,
    case_ids: pl.DataFrame,
    hidden: np.ndarray,
    cal: _Calendar,
) -> pl.DataFrame:
    """truth/cases.csv rows of one county."""
    status = cases.case_status(events, county.process, cal.as_of)
    filed = (
        docs.filter(pl.col("case") >= 0)
        .group_by("case")
        .agg(first_day=pl.col("record_day").min(), last_day=pl.col("record_day").max())
    )
    table = case_ids.join(status, on="case", how="left").join(filed, on="case", how="left").sort("case")
    case = table["case"].to_numpy()
    parcel = batch.parcel[case]
    cured = (table["outcome"] == "cancelled").to_numpy()
    in_default = (batch.kind[case] == cases.KIND_LENDER) & ~cured
    payoff = _payoff(
        loans, liens, parcel, np.where(in_default, batch.default_day[case], NEVER), parcels.height, cal
    )
    kind = batch.kind[case]
    return table.select(
        "case_id",
        source=pl.lit(county.source_id),
        county_fips=pl.lit(county.fips),
        state=pl.lit(county.state),
        apn=parcels["apn"].gather(parcel),
        lender=plaintiff["plaintiff"].gather(case),
        plaintiff_type=pick(cases.PLAINTIFF_TYPES, kind),
        is_mortgage_foreclosure=pl.Series(kind == cases.KIND_LENDER),
        first_filing_date=as_date(table["first_day"].to_numpy(), "first_filing_date"),
        last_filing_date=as_date(table["last_day"].to_numpy(), "last_filing_date"),
        status="status",
        auction_date=as_date(table["auction_day"].fill_null(NEVER).to_numpy(), "auction_date"),
        outcome="outcome",
        outcome_date=as_date(table["outcome_day"].fill_null(NEVER).to_numpy(), "outcome_date"),
        market_value=parcels["market_value"].gather(parcel),
        payoff=pl.Series(np.round(payoff).astype(np.int64)),
        loan_in_feed=pl.Series(~hidden[parcel]),
    ).select(TRUTH_CASE_COLUMNS)


def _payoff(
    loans: pl.DataFrame,
    liens: pl.DataFrame,
    parcel: np.ndarray,
    default_day: np.ndarray,
    n_parcels: int,
    cal: _Calendar,
) -> np.ndarray:
    """True total debt on as_of per case, USD: open loans (principal + interest since default) + open liens."""
    open_loans = loans.with_row_index("loan").filter(
        (pl.col("satisfied_day") > cal.as_of) & (pl.col("orig_day") <= cal.as_of)
    )
    pairs = (
        pl.DataFrame({"row": np.arange(parcel.size), "parcel": parcel, "default_day": default_day})
        .join(open_loans, on="parcel", how="inner")
        .sort("row", "loan")
    )
    principal, interest = world.loan_balance(
        pairs, np.full(pairs.height, cal.as_of), pairs["default_day"].to_numpy()
    )
    debt = np.bincount(pairs["row"].to_numpy(), weights=principal + interest, minlength=parcel.size)
    return debt + feeds.open_lien_total(liens, n_parcels, cal.as_of)[parcel]
