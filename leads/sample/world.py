"""The true state of one synthetic county: parcels, owners, values and mortgage loans.

Everything here is the ground truth the vendor feeds and filings are rendered from. Frames are indexed by
`parcel` = row number (0..n-1) so that attributes are looked up with `gather`, never with order-losing joins.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from leads.sample import vocab
from leads.sample.counties import County
from leads.sample.days import (
    NEVER,
    day_number,
    fractional_year,
    next_weekday,
    uniform_days,
    whole_months,
)

LAND_USES = ("SFR", "CONDO", "MFR")
LAND_USE_WEIGHTS = (0.8, 0.12, 0.08)
LAND_USE_VALUE_FACTOR = np.array([1.0, 0.55, 1.5])
ENTITY_PERSON, ENTITY_TRUST, ENTITY_LLC = 0, 1, 2
LOAN_FIRST, LOAN_SECOND, LOAN_HELOC = 0, 1, 2
LOAN_TYPES = ("FIRST", "SECOND", "HELOC")
_OLDEST_SALE = day_number(date(1995, 1, 2))


def pmms_rate(days: np.ndarray) -> np.ndarray:
    """Prevailing 30-year fixed rate (percent) at each day, interpolated between annual means."""
    years = np.array(sorted(vocab.PMMS_30Y_ANNUAL), dtype=float)
    rates = np.array([vocab.PMMS_30Y_ANNUAL[int(y)] for y in years])
    return np.interp(fractional_year(days), years + 0.5, rates)


def price_index(days: np.ndarray) -> np.ndarray:
    """House price index (2026 = 100) at each day, interpolated between annual values."""
    years = np.array(sorted(vocab.HPI_ANNUAL), dtype=float)
    values = np.array([vocab.HPI_ANNUAL[int(y)] for y in years], dtype=float)
    return np.interp(fractional_year(days), years + 0.5, values)


def monthly_payment(principal: np.ndarray, rate_pct: np.ndarray, term_months: np.ndarray) -> np.ndarray:
    """Level monthly payment of a fully amortizing loan, USD."""
    r = rate_pct / 1200.0
    return principal * r / (1.0 - (1.0 + r) ** (-term_months.astype(float)))


def amortized_balance(
    principal: np.ndarray, rate_pct: np.ndarray, term_months: np.ndarray, payments_made: np.ndarray
) -> np.ndarray:
    """Unpaid principal after a number of level monthly payments, USD."""
    r = rate_pct / 1200.0
    k = np.minimum(payments_made, term_months).astype(float)
    growth = (1.0 + r) ** k
    balance = principal * growth - monthly_payment(principal, rate_pct, term_months) * (growth - 1.0) / r
    return np.maximum(balance, 0.0)


def _sorted_unique_keys(rng: np.random.Generator, n: int, space: int) -> np.ndarray:
    """n increasing distinct integers spread over [0, space)."""
    gap_max = max(1, int(1.8 * space / max(n, 1)) - 1)
    keys = np.cumsum(rng.integers(1, gap_max + 1, n)) - 1
    if n and keys[-1] >= space:
        keys = np.arange(n, dtype=np.int64)
    return keys


def _roll_apn(county: County, keys: np.ndarray) -> np.ndarray:
    """Parcel ids in the county's roll form as integers (rendered zero-padded to apn_digits)."""
    if county.state == "FL":  # folio: 6-digit base + 4-digit unit suffix, e.g. 012345-0000
        base, unit = keys % 990_000 + 1_000, keys // 990_000
        return base * 10_000 + unit * 100
    if county.state == "TX":  # HCAD account: 6-digit base + 7-digit suffix, e.g. 1234560000001
        base, unit = keys % 900_000 + 100_000, keys // 900_000
        return base * 10_000_000 + unit * 1_000 + 1
    return keys + 100_000_000  # CA APN: 9 digits, e.g. 123-456-789


def _key_space(county: County, n: int) -> int:
    if county.state == "CA":
        return 899_999_999
    per_unit = 990_000 if county.state == "FL" else 900_000
    return max(per_unit, int(n * 1.25))


def pick(values: tuple[str, ...], idx: np.ndarray) -> pl.Series:
    """values[idx] for an array of indices, as a String Series."""
    return pl.Series(values, dtype=pl.String).gather(np.asarray(idx, dtype=np.int64))


def _streets(rng: np.random.Generator, county: County, n_streets: int) -> dict[str, np.ndarray]:
    """Distinct (direction, name, suffix, city) streets, weighted to look like a county's street mix."""
    cities = vocab.COUNTY_CITIES[county.source_id]
    n_name, n_suf, n_dir = len(vocab.STREET_NAMES), len(vocab.STREET_SUFFIXES), len(vocab.DIRECTIONS)
    city_w = np.array([c[1] for c in cities])
    dir_w = np.array(vocab.DIRECTION_WEIGHTS)
    combos = np.arange(n_name * n_suf * n_dir * len(cities))
    d_idx = (combos // (n_name * n_suf)) % n_dir
    c_idx = combos // (n_name * n_suf * n_dir)
    weight = city_w[c_idx] * dir_w[d_idx]
    # weighted sampling without replacement (Efraimidis-Spirakis keys)
    chosen = np.sort(np.argsort(rng.exponential(size=combos.size) / weight, kind="stable")[:n_streets])
    rng.shuffle(chosen)
    zip_counts = np.array([len(c[2]) for c in cities])
    city = chosen // (n_name * n_suf * n_dir)
    return {
        "name": chosen % n_name,
        "suffix": (chosen // n_name) % n_suf,
        "direction": (chosen // (n_name * n_suf)) % n_dir,
        "city": city,
        "zip_slot": np.floor(rng.random(n_streets) * zip_counts[city]).astype(np.int64),
        "house_base": rng.integers(1, 90, n_streets) * 100 + rng.integers(0, 2, n_streets),
        "house_step": rng.choice(np.array([2, 4, 6, 8, 10, 20]), n_streets),
    }


def _address_line(number: pl.Series, direction: pl.Series, name: pl.Series, suffix: pl.Series) -> pl.Series:
    """`1234 N OAK ST` from its parts (an empty direction leaves no gap)."""
    frame = pl.DataFrame({"num": number, "dir": direction, "name": name, "suf": suffix})
    return frame.select(
        pl.concat_str(
            pl.col("num").cast(pl.String),
            pl.lit(" "),
            pl.when(pl.col("dir") != "").then(pl.col("dir") + " ").otherwise(pl.lit("")),
            pl.col("name"),
            pl.lit(" "),
            pl.col("suf"),
        )
    ).to_series()


def parcel_roll(rng: np.random.Generator, county: County, n: int, h_day: int) -> pl.DataFrame:
    """The true parcel roll: one row per parcel with situs, legal, owner, occupancy, value and last sale."""
    keys = _sorted_unique_keys(rng, n, _key_space(county, n))
    apn = _roll_apn(county, keys)

    # streets: parcels adjacent in APN order sit on the same street (APNs are assigned by map book/page)
    c_count = len(vocab.STREET_NAMES) * len(vocab.STREET_SUFFIXES) * len(vocab.DIRECTIONS)
    c_count *= len(vocab.COUNTY_CITIES[county.source_id])
    n_streets = int(np.clip(n // 25, 4, c_count))
    st = _streets(rng, county, n_streets)
    street = np.sort(rng.integers(0, n_streets, n))
    rank = np.arange(n) - np.searchsorted(street, street, side="left")  # position on its street
    house = st["house_base"][street] + rank * st["house_step"][street]

    cities = vocab.COUNTY_CITIES[county.source_id]
    zip_table = [z for c in cities for z in c[2]]
    zip_offset = np.cumsum([0] + [len(c[2]) for c in cities])[:-1]
    city_idx = st["city"][street]
    situs_zip = pick(tuple(zip_table), zip_offset[city_idx] + st["zip_slot"][street])

    dir_idx, suf_idx, name_idx = st["direction"][street], st["suffix"][street], st["name"][street]
    dir_abbr = pick(tuple(d[0] for d in vocab.DIRECTIONS), dir_idx)
    dir_long = pick(tuple(d[1] for d in vocab.DIRECTIONS), dir_idx)
    suf_abbr = pick(tuple(s[0] for s in vocab.STREET_SUFFIXES), suf_idx)
    suf_long = pick(tuple(s[1] for s in vocab.STREET_SUFFIXES), suf_idx)
    street_name = pick(vocab.STREET_NAMES, name_idx)
    house_s = pl.Series(house)
    situs_line = _address_line(house_s, dir_abbr, street_name, suf_abbr)
    situs_long = _address_line(house_s, dir_long, street_name, suf_long)
    situs_city = pick(tuple(c[0] for c in cities), city_idx)

    land_use = rng.choice(3, n, p=LAND_USE_WEIGHTS)
    legal = _legal(county, street, rank, land_use)

    # owners: people, family trusts and LLCs (investors; a few LLC names own several parcels)
    entity = rng.choice(3, n, p=(0.93, 0.04, 0.03))
    last = rng.integers(0, len(vocab.LAST_NAMES), n)
    first = rng.integers(0, len(vocab.FIRST_NAMES), n)
    middle = np.where(rng.random(n) < 0.8, rng.integers(0, 26, n), -1)
    has_co = (entity == ENTITY_PERSON) & (rng.random(n) < 0.45)
    co_last = np.where(rng.random(n) < 0.8, last, rng.integers(0, len(vocab.LAST_NAMES), n))
    co_first = rng.integers(0, len(vocab.FIRST_NAMES), n)
    entity_name = _entity_names(rng, entity, last)

    # occupancy (business rule: owner-occupied ~ homestead; absentee = mailing address differs from situs)
    u = rng.random(n)
    occupied = np.where(entity == ENTITY_PERSON, u < 0.72, np.where(entity == ENTITY_TRUST, u < 0.4, False))
    absentee = (~occupied) & ((entity == ENTITY_LLC) | (rng.random(n) < 0.5))
    homestead = occupied & (entity == ENTITY_PERSON) & (rng.random(n) < 0.95)
    mailing = _mailing(rng, absentee, entity, situs_line, situs_city, situs_zip, county)

    # value: county median x land use x neighbourhood (street) x house, USD on as_of
    street_effect = np.exp(rng.normal(0.0, 0.25, n_streets))[street]
    market = county.median_value * LAND_USE_VALUE_FACTOR[land_use] * street_effect
    market = np.round(market * np.exp(rng.normal(0.0, 0.3, n)), -2).astype(np.int64)

    years_owned = np.clip(rng.exponential(9.0, n), 0.15, 31.0)
    sale_day = next_weekday(np.maximum(h_day - np.round(years_owned * 365.25).astype(np.int64), _OLDEST_SALE))
    hpi_now = price_index(np.array([h_day]))[0]
    sale_price = market * price_index(sale_day) / hpi_now * np.exp(rng.normal(0.0, 0.07, n))
    sale_price = np.round(sale_price, -2).astype(np.int64)
    assessed = _assessed(rng, county, market, sale_price, sale_day, homestead, h_day)

    initials = pick(tuple(chr(65 + i) for i in range(26)), np.maximum(middle, 0))
    middle_s = pl.select(pl.when(pl.Series(middle >= 0)).then(initials).otherwise(pl.lit(""))).to_series()

    frame = pl.DataFrame(
        {
            "parcel": np.arange(n, dtype=np.int64),
            "apn": pl.Series(apn).cast(pl.String).str.zfill(county.apn_digits),
            "apn_int": apn,
            "house": house,
            "street_id": street,
            "street_rank": rank,
            "situs_address": situs_line,
            "situs_long": situs_long,
            "situs_city": situs_city,
            "situs_zip": situs_zip,
            "legal_description": legal,
            "land_use_idx": land_use,
            "entity": entity,
            "owner_last": pick(vocab.LAST_NAMES, last),
            "owner_first": pick(vocab.FIRST_NAMES, first),
            "owner_middle": middle_s,
            "has_co_owner": has_co,
            "co_last": pick(vocab.LAST_NAMES, co_last),
            "co_first": pick(vocab.FIRST_NAMES, co_first),
            "entity_name": entity_name,
            "owner_occupied": occupied,
            "absentee": absentee,
            "homestead": homestead,
            **mailing,
            "market_value": market,
            "assessed_value": assessed,
            "last_sale_day": sale_day,
            "last_sale_price": sale_price,
        }
    )
    return frame.with_columns(
        owner_name=pl.when(pl.col("entity") == ENTITY_PERSON)
        .then(
            pl.concat_str(
                "owner_last",
                pl.lit(", "),
                "owner_first",
                pl.when(pl.col("owner_middle") != "")
                .then(" " + pl.col("owner_middle"))
                .otherwise(pl.lit("")),
            )
        )
        .otherwise(pl.col("entity_name")),
        land_use=pick(LAND_USES, land_use),
    )


def _legal(county: County, street: np.ndarray, rank: np.ndarray, land_use: np.ndarray) -> pl.Series:
    """A unique legal description per parcel: one subdivision (or tract) per street, lots numbered along it."""
    n_first, n_second = len(vocab.SUBDIVISION_FIRST), len(vocab.SUBDIVISION_SECOND)
    sub_idx = street % (n_first * n_second)
    frame = pl.DataFrame(
        {
            "sub": _subdivision_names(sub_idx),
            "unit": street // (n_first * n_second) + 1,
            "blk": rank // 24 + 1,
            "lot": rank % 24 + 1,
            "seq": rank + 1,
            "tract": street + 20_000,
            "condo": land_use == 1,
        }
    )
    if county.state == "CA":
        expr = pl.format("LOT {} TR {}", "seq", "tract")
    elif county.state == "TX":
        expr = pl.format("LT {} BLK {} {} SEC {}", "lot", "blk", "sub", "unit")
    else:
        expr = (
            pl.when(pl.col("condo"))
            .then(
                pl.format(
                    "{} CONDOMINIUM UNIT {} BLDG {}", "sub", pl.col("blk") * 100 + pl.col("lot"), "unit"
                )
            )
            .otherwise(pl.format("{} UNIT {} LOT {} BLK {}", "sub", "unit", "lot", "blk"))
        )
    return frame.select(expr.alias("legal_description")).to_series()


def _subdivision_names(sub_idx: np.ndarray) -> pl.Series:
    names = tuple(f"{a} {b}" for b in vocab.SUBDIVISION_SECOND for a in vocab.SUBDIVISION_FIRST)
    return pick(names, sub_idx)


def subdivision_name(street: np.ndarray) -> pl.Series:
    """The subdivision a street belongs to (HOA plaintiffs are named after it)."""
    return _subdivision_names(street % (len(vocab.SUBDIVISION_FIRST) * len(vocab.SUBDIVISION_SECOND)))


def _entity_names(rng: np.random.Generator, entity: np.ndarray, last: np.ndarray) -> pl.Series:
    n = entity.size
    trust = pl.concat_str(
        pick(vocab.LAST_NAMES, last),
        pl.Series(np.where(rng.random(n) < 0.6, " FAMILY TRUST", " FAMILY REVOCABLE LIVING TRUST")),
    )
    words = pick(vocab.ENTITY_WORDS, rng.integers(0, len(vocab.ENTITY_WORDS), n))
    llc = pl.concat_str(
        words, pl.lit(" "), pick(vocab.ENTITY_KINDS, rng.integers(0, len(vocab.ENTITY_KINDS), n))
    )
    return pl.select(
        pl.when(pl.Series(entity == ENTITY_TRUST))
        .then(trust)
        .when(pl.Series(entity == ENTITY_LLC))
        .then(llc)
        .otherwise(pl.lit(""))
        .alias("entity_name")
    ).to_series()


def _mailing(
    rng: np.random.Generator,
    absentee: np.ndarray,
    entity: np.ndarray,
    situs_line: pl.Series,
    situs_city: pl.Series,
    situs_zip: pl.Series,
    county: County,
) -> dict[str, pl.Series]:
    """Mailing address: the situs for occupants; for absentee owners their own home in the county (often
    another parcel of this roll), an out-of-area address, or a PO box (LLCs)."""
    n = absentee.size
    other = rng.integers(0, n, n)
    other = np.where(other == np.arange(n), (other + 1) % n, other)
    u = rng.random(n)
    local = absentee & (u < 0.55) & (entity != ENTITY_LLC)
    po_box = absentee & (entity == ENTITY_LLC) & (u < 0.5)
    away = absentee & ~local & ~po_box
    area = rng.integers(0, len(vocab.OUT_OF_AREA), n)
    away_line = _address_line(
        pl.Series(rng.integers(100, 9_999, n)),
        pl.Series([""] * n, dtype=pl.String),
        pick(vocab.STREET_NAMES, rng.integers(0, len(vocab.STREET_NAMES), n)),
        pick(tuple(s[0] for s in vocab.STREET_SUFFIXES), rng.integers(0, len(vocab.STREET_SUFFIXES), n)),
    )
    box_line = pl.format("PO BOX {}", pl.Series(rng.integers(100, 99_999, n)))
    frame = pl.DataFrame(
        {
            "local": local,
            "po_box": po_box,
            "away": away,
            "situs_line": situs_line,
            "situs_city": situs_city,
            "situs_zip": situs_zip,
            "other_line": situs_line.gather(other),
            "other_city": situs_city.gather(other),
            "other_zip": situs_zip.gather(other),
            "away_line": away_line,
            "box_line": pl.select(box_line).to_series(),
            "away_city": pick(tuple(a[0] for a in vocab.OUT_OF_AREA), area),
            "away_state": pick(tuple(a[1] for a in vocab.OUT_OF_AREA), area),
            "away_zip": pick(tuple(a[2] for a in vocab.OUT_OF_AREA), area),
        }
    )
    out = frame.select(
        mailing_address=pl.when("local")
        .then("other_line")
        .when("po_box")
        .then("box_line")
        .when("away")
        .then("away_line")
        .otherwise("situs_line"),
        mailing_city=pl.when("local")
        .then("other_city")
        .when("away")
        .then("away_city")
        .otherwise("situs_city"),
        mailing_state=pl.when("away").then("away_state").otherwise(pl.lit(county.state)),
        mailing_zip=pl.when("local").then("other_zip").when("away").then("away_zip").otherwise("situs_zip"),
    )
    return {c: out[c] for c in out.columns}


def _assessed(
    rng: np.random.Generator,
    county: County,
    market: np.ndarray,
    sale_price: np.ndarray,
    sale_day: np.ndarray,
    homestead: np.ndarray,
    h_day: int,
) -> np.ndarray:
    """Assessed value, USD: FL Save-Our-Homes cap on homesteads, CA Prop 13 (+2%/yr from purchase), TX ~market."""
    n = market.size
    if county.state == "FL":
        factor = np.where(homestead, rng.uniform(0.5, 0.85, n), rng.uniform(0.8, 0.95, n))
        value = market * factor
    elif county.state == "CA":
        value = np.minimum(sale_price * 1.02 ** ((h_day - sale_day) / 365.25), market)
    else:
        value = market * rng.uniform(0.85, 1.0, n)
    return np.round(value, -2).astype(np.int64)


def loan_history(
    rng: np.random.Generator, parcels: pl.DataFrame, h_day: int, as_of_day: int
) -> tuple[pl.DataFrame, np.ndarray]:
    """True mortgage loans of every parcel (satisfied ones included) and, per parcel, the row of its current
    first loan (-1 when free and clear)."""
    n = parcels.height
    entity = parcels["entity"].to_numpy()
    sale_day = parcels["last_sale_day"].to_numpy()
    price = parcels["last_sale_price"].to_numpy().astype(float)
    market = parcels["market_value"].to_numpy().astype(float)
    hpi_now = price_index(np.array([as_of_day]))[0]

    cash_share = np.where(entity == ENTITY_PERSON, 0.22, np.where(entity == ENTITY_TRUST, 0.4, 0.45))
    financed = rng.random(n) >= cash_share
    ltv = np.where(entity == ENTITY_LLC, rng.uniform(0.65, 0.8, n), rng.uniform(0.75, 0.97, n))
    purchase = _loans(rng, np.flatnonzero(financed), sale_day, np.round(price * ltv / 50) * 50, LOAN_FIRST)

    # refinance: replaces the purchase loan (which is satisfied on the refinance day)
    owned_days = h_day - sale_day
    refi_mask = (owned_days > 2 * 365) & (rng.random(n) < np.where(financed, 0.45, 0.1))
    refi_parcels = np.flatnonzero(refi_mask)
    refi_day = next_weekday(
        uniform_days(rng, sale_day[refi_parcels] + 365, h_day - 60, refi_parcels.size)
    ).astype(np.int64)
    refi_day_full = np.full(n, NEVER, dtype=np.int64)
    refi_day_full[refi_parcels] = refi_day
    value_then = market * price_index(refi_day_full.clip(max=h_day)) / hpi_now
    refi_amount = np.round(value_then * rng.uniform(0.55, 0.8, n) / 50) * 50
    refi = _loans(rng, refi_parcels, refi_day_full, refi_amount, LOAN_FIRST)

    purchase_satisfied = refi_day_full[purchase["parcel"]]
    purchase["satisfied_day"] = np.minimum(purchase["satisfied_day"], purchase_satisfied)

    # current first loan = the refinance if any, else the purchase loan; some are paid off early
    current = np.full(n, -1, dtype=np.int64)
    current[purchase["parcel"]] = np.arange(purchase["parcel"].size)
    current[refi["parcel"]] = purchase["parcel"].size + np.arange(refi["parcel"].size)
    firsts = {k: np.concatenate([purchase[k], refi[k]]) for k in purchase}
    is_current = np.zeros(firsts["parcel"].size, dtype=bool)
    is_current[current[current >= 0]] = True
    years_held = (h_day - firsts["orig_day"]) / 365.25
    early = is_current & (rng.random(is_current.size) < np.clip((years_held - 4) / 20, 0, 0.6))
    early_day = next_weekday(uniform_days(rng, firsts["orig_day"] + 3 * 365, h_day - 30, is_current.size))
    firsts["satisfied_day"] = np.where(early & (early_day < h_day), early_day, firsts["satisfied_day"])

    # juniors: closed-end seconds and HELOCs behind an open first
    open_first = np.full(n, False)
    still_open = is_current & (firsts["satisfied_day"] > as_of_day)
    open_first[firsts["parcel"][still_open]] = True
    first_orig = np.full(n, NEVER, dtype=np.int64)
    first_orig[firsts["parcel"][is_current]] = firsts["orig_day"][is_current]
    u = rng.random(n)
    junior_kind = np.where(u < 0.04, LOAN_SECOND, np.where(u < 0.14, LOAN_HELOC, -1))
    junior_parcels = np.flatnonzero(open_first & (junior_kind >= 0) & (first_orig + 120 < h_day - 30))
    j_day = next_weekday(
        uniform_days(rng, first_orig[junior_parcels] + 90, h_day - 30, junior_parcels.size)
    ).astype(np.int64)
    j_day_full = np.full(n, NEVER, dtype=np.int64)
    j_day_full[junior_parcels] = j_day
    j_value = market * price_index(j_day_full.clip(max=h_day)) / hpi_now
    j_amount = np.round(j_value * rng.uniform(0.05, 0.15, n) / 50) * 50
    kinds = junior_kind[junior_parcels]
    juniors = _loans(rng, junior_parcels, j_day_full, j_amount, kinds)
    heloc = kinds == LOAN_HELOC
    limit = np.round(j_value[junior_parcels] * rng.uniform(0.1, 0.25, junior_parcels.size) / 5_000) * 5_000
    limit = np.maximum(limit, 10_000)
    juniors["heloc_limit"] = np.where(heloc, limit, np.nan)
    juniors["amount"] = np.where(
        heloc, np.round(limit * rng.uniform(0.05, 1.0, junior_parcels.size) / 50) * 50, juniors["amount"]
    )

    loans = {k: np.concatenate([firsts[k], juniors[k]]) for k in firsts}
    loans["is_current_first"] = np.concatenate([is_current, np.zeros(juniors["parcel"].size, dtype=bool)])
    current_first = np.full(n, -1, dtype=np.int64)
    current_first[current >= 0] = current[current >= 0]
    current_first[~open_first] = -1
    return pl.DataFrame(loans), current_first


def _loans(
    rng: np.random.Generator,
    parcels: np.ndarray,
    day_by_parcel: np.ndarray,
    amount_by_parcel: np.ndarray,
    kind: int | np.ndarray,
) -> dict[str, np.ndarray]:
    """Loan rows for the given parcels (lender, rate, term, maturity)."""
    m = parcels.size
    kind_a = np.broadcast_to(np.asarray(kind), (m,)).astype(np.int64)
    orig = day_by_parcel[parcels].astype(np.int64)
    term = np.where((kind_a == LOAN_FIRST) & (rng.random(m) < 0.15), 180, 360)
    term = np.where((kind_a == LOAN_SECOND) & (rng.random(m) < 0.5), 180, term)
    # business rule: the note rate ~ the prevailing PMMS 30-year rate of the origination month
    spread = np.where(term == 180, -0.6, 0.0) + np.where(kind_a == LOAN_SECOND, 1.75, 0.0)
    spread = spread + np.where(kind_a == LOAN_HELOC, 1.25, 0.0)
    rate = np.round((pmms_rate(orig) + spread + rng.normal(0.0, 0.25, m)) * 8) / 8
    rate = np.maximum(rate, 1.75)
    maturity = orig + np.round(term * 365.25 / 12).astype(np.int64)
    lender = rng.choice(len(vocab.LENDERS), m, p=np.array(vocab.LENDER_WEIGHTS) / sum(vocab.LENDER_WEIGHTS))
    return {
        "parcel": parcels.astype(np.int64),
        "kind": kind_a,
        "lender": lender.astype(np.int64),
        "amount": np.maximum(amount_by_parcel[parcels], 10_000.0),
        "rate": rate,
        "term": term.astype(np.int64),
        "orig_day": orig,
        "heloc_limit": np.full(m, np.nan),
        "satisfied_day": np.where(maturity < NEVER, next_weekday(maturity), NEVER).astype(np.int64),
        "rate_in_feed": rng.random(m) >= 0.3,  # ~30% of recorded loans carry no rate
    }


def loan_balance(
    loans: pl.DataFrame, on_day: np.ndarray, default_day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(unpaid principal, accrued unpaid interest) of each loan on a day, USD.

    Payments stop at default_day (NEVER = never defaulted); interest accrues simply at the note rate after
    that. HELOC draws are interest-only, so their principal stays at the draw."""
    amount = loans["amount"].to_numpy()
    rate = loans["rate"].to_numpy()
    term = loans["term"].to_numpy()
    orig = loans["orig_day"].to_numpy()
    paid_until = np.minimum(on_day, np.where(default_day > orig, default_day, on_day))
    payments = whole_months(orig, paid_until)
    principal = np.where(
        loans["kind"].to_numpy() == LOAN_HELOC, amount, amortized_balance(amount, rate, term, payments)
    )
    in_default = (default_day < on_day) & (default_day > orig)
    interest = np.where(in_default, principal * rate / 100.0 * (on_day - default_day) / 365.25, 0.0)
    return principal, interest
