"""Rendering true records the way each county writes them: its parcel-id form, name order, address style and
its errors (all error rates are multiplied by `messiness`; at 0 the rendering is clean)."""

from __future__ import annotations

import numpy as np
import polars as pl

from leads.sample.days import text_date, year_of

FL_COLUMNS = (
    "instrument",
    "doc_type",
    "record_date",
    "case_number",
    "folio",
    "party1",
    "party2",
    "legal",
    "amount",
    "sale_date",
    "ref_instrument",
    "address",
    "reserved",  # always empty; the trailing `|` after it ends the record
)
CA_COLUMNS = (
    "DocNumber",
    "RecDate",
    "DocType",
    "TSNumber",
    "APN",
    "SitusAddress",
    "TrustorName",
    "BeneficiaryName",
    "TrusteeName",
    "AmountDue",
    "SaleDate",
    "RefDocNumber",
)
TX_KEYS = (
    "file_no",
    "filed",
    "doc_type",
    "sale_date",
    "grantor",
    "mortgagee",
    "property_address",
    "legal_description",
    "original_loan_amount",
    "hcad_account",
)
FL_NAME_MAX = 50  # the recorder's party name field is cut at 50 characters


def chance(rng: np.random.Generator, n: int, p: float | np.ndarray) -> pl.Series:
    """A boolean Series: True with probability p (clipped to [0, 1])."""
    return pl.Series(rng.random(n) < np.clip(p, 0.0, 1.0))


def record_ids(rng: np.random.Generator, record_day: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(year, sequence within year) per record, increasing with record_day (input sorted by record_day).

    Sequences leave random gaps (other documents the recorder numbered) but stay below 10**width."""
    n = record_day.size
    year = year_of(record_day)
    if n == 0:
        return year, np.zeros(0, dtype=np.int64)
    starts = np.searchsorted(year, year, side="left")
    per_year = np.bincount(starts).max()
    gap_max = int(np.clip((0.9 * 10**width) // per_year, 1, 40 if width >= 7 else 3))
    steps = rng.integers(1, gap_max + 1, n)
    csum = np.cumsum(steps)
    seq = csum - (csum[starts] - steps[starts]) + 100
    return year, seq


def money_plain(cents: str) -> pl.Expr:
    """`234567.89` from integer cents."""
    c = pl.col(cents)
    return pl.concat_str((c // 100).cast(pl.String), pl.lit("."), (c % 100).cast(pl.String).str.zfill(2))


def money_currency(cents: str) -> pl.Expr:
    """`$12,345.67` from integer cents."""
    dollars = pl.col(cents) // 100
    groups = [(dollars // 1_000_000), (dollars // 1_000) % 1_000, dollars % 1_000]
    text = (
        pl.when(dollars >= 1_000_000)
        .then(
            pl.concat_str(
                groups[0].cast(pl.String),
                pl.lit(","),
                groups[1].cast(pl.String).str.zfill(3),
                pl.lit(","),
                groups[2].cast(pl.String).str.zfill(3),
            )
        )
        .when(dollars >= 1_000)
        .then(pl.concat_str(groups[1].cast(pl.String), pl.lit(","), groups[2].cast(pl.String).str.zfill(3)))
        .otherwise(groups[2].cast(pl.String))
    )
    return pl.concat_str(pl.lit("$"), text, pl.lit("."), (pl.col(cents) % 100).cast(pl.String).str.zfill(2))


def _title(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_titlecase().str.replace_all(r"\bLlc\b", "LLC").str.replace_all(r"\bPo Box\b", "PO Box")


def owner_name(rng: np.random.Generator, docs: pl.DataFrame, style: str, messiness: float) -> pl.Series:
    """The defendant / trustor / grantor as this source writes the owner's name.

    fl: `LAST,FIRST M` (ET AL, co-owner, First-Last order, dropped initial, cut at 50); ca: `First M Last`
    (`& Second Owner`); tx: `FIRST M LAST` (`AND SECOND OWNER`)."""
    n = docs.height
    m = messiness
    co = docs["has_co_owner"].to_numpy()
    flags = pl.DataFrame(
        {
            "drop_mid": chance(rng, n, 0.10 * m),
            "reorder": chance(rng, n, 0.05 * m),
            "et_al": chance(rng, n, np.where(co, 0.5, 0.1) * m),
            "show_co": pl.Series(co) & chance(rng, n, 0.2 * m if style == "fl" else 0.6),
            "title": chance(rng, n, 0.15 * m),
        }
    )
    f = pl.concat(
        [
            docs.select("owner_last", "owner_first", "owner_middle", "co_last", "co_first", "entity_name"),
            flags,
        ],
        how="horizontal",
    )
    mid = (
        pl.when(~pl.col("drop_mid") & (pl.col("owner_middle") != ""))
        .then(" " + pl.col("owner_middle"))
        .otherwise(pl.lit(""))
    )
    first_last = pl.concat_str("owner_first", mid, pl.lit(" "), "owner_last")
    last_first = pl.concat_str("owner_last", pl.lit(","), "owner_first", mid)
    is_entity = pl.col("entity_name") != ""
    if style == "fl":
        co_part = pl.when(pl.col("show_co")).then(
            pl.concat_str(pl.lit(" & "), "co_last", pl.lit(","), "co_first")
        )
        person = pl.concat_str(
            pl.when(pl.col("reorder")).then(first_last).otherwise(last_first), co_part.otherwise(pl.lit(""))
        )
        name = pl.concat_str(
            pl.when(is_entity).then(pl.col("entity_name")).otherwise(person),
            pl.when(pl.col("et_al")).then(pl.lit(" ET AL")).otherwise(pl.lit("")),
        ).str.slice(0, FL_NAME_MAX)
    elif style == "ca":
        co_part = pl.when(pl.col("show_co")).then(
            pl.concat_str(pl.lit(" & "), "co_first", pl.lit(" "), "co_last")
        )
        person = pl.when(pl.col("reorder")).then(
            pl.concat_str("owner_last", pl.lit(", "), "owner_first", mid)
        )
        person = person.otherwise(_title(pl.concat_str(first_last, co_part.otherwise(pl.lit("")))))
        name = pl.when(is_entity).then(_title(pl.col("entity_name"))).otherwise(person)
    else:
        co_part = pl.when(pl.col("show_co")).then(
            pl.concat_str(pl.lit(" AND "), "co_first", pl.lit(" "), "co_last")
        )
        person = pl.concat_str(first_last, co_part.otherwise(pl.lit("")))
        name = pl.when(is_entity).then(pl.col("entity_name")).otherwise(person)
        name = pl.when(pl.col("title")).then(_title(name)).otherwise(name)
    return f.select(name.alias("name")).to_series()


def filing_address(rng: np.random.Generator, docs: pl.DataFrame, style: str, messiness: float) -> pl.Series:
    """The property address line as the filing writes it.

    Traps: spelled-out street words (`North ... Street`), and for absentee owners the owner's MAILING address
    in place of the property's (the filing must still be placed by parcel id / legal description)."""
    n = docs.height
    m = messiness
    f = docs.select(
        "situs_address",
        "situs_long",
        "situs_city",
        "situs_state",
        "situs_zip",
        "mailing_address",
        "mailing_city",
        "mailing_state",
        "mailing_zip",
    ).with_columns(
        trap=pl.Series(docs["absentee"].to_numpy()) & chance(rng, n, 0.05 * m),
        long=chance(rng, n, 0.15 * m),
        upper=chance(rng, n, 0.05 * m),
    )
    trap = pl.col("trap")
    line = pl.when(trap).then("mailing_address").when("long").then("situs_long").otherwise("situs_address")
    city = pl.when(trap).then("mailing_city").otherwise("situs_city")
    state = pl.when(trap).then("mailing_state").otherwise("situs_state")
    zip_code = pl.when(trap).then("mailing_zip").otherwise("situs_zip")
    if style == "fl":
        expr = pl.when(pl.col("upper")).then(line).otherwise(_title(line))
    elif style == "ca":
        expr = pl.concat_str(line, pl.lit(", "), city, pl.lit(" "), state, pl.lit(" "), zip_code)
    else:
        expr = pl.concat_str(
            _title(line), pl.lit(", "), _title(city), pl.lit(", "), state, pl.lit(" "), zip_code
        )
    return f.select(expr.alias("address")).to_series()


def legal_text(rng: np.random.Generator, legal: pl.Series, messiness: float) -> pl.Series:
    """The roll's legal description with occasional whitespace / case noise."""
    n = legal.len()
    m = messiness
    f = pl.DataFrame(
        {
            "legal": legal,
            "double": chance(rng, n, 0.04 * m),
            "lower": chance(rng, n, 0.02 * m),
            "trail": chance(rng, n, 0.03 * m),
        }
    )
    text = (
        pl.when(pl.col("double"))
        .then(pl.col("legal").str.replace(" ", "  ", literal=True))
        .otherwise("legal")
    )
    text = pl.when(pl.col("lower")).then(text.str.to_lowercase()).otherwise(text)
    text = pl.when(pl.col("trail")).then(text + " ").otherwise(text)
    return f.select(text.alias("legal")).to_series()


def fl_folio(rng: np.random.Generator, docs: pl.DataFrame, messiness: float) -> pl.Series:
    """Folio on a Florida filing: `012345-0000` usually; else the roll form, missing, or float-formatted."""
    n = docs.height
    u = rng.random(n)
    m = messiness
    f = docs.select("apn", "apn_int").with_columns(u=pl.Series(u))
    expr = (
        pl.when(pl.col("u") < min(0.08 * m, 1.0))
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("u") < min(0.10 * m, 1.0))
        .then(pl.col("apn_int").cast(pl.String) + ".0")  # spreadsheet-mangled: leading zeros lost
        .when(pl.col("u") < min(0.20 * m, 1.0))
        .then(pl.col("apn"))
        .otherwise(pl.concat_str(pl.col("apn").str.slice(0, 6), pl.lit("-"), pl.col("apn").str.slice(6)))
    )
    return f.select(expr.alias("folio")).to_series()


def ca_apn(rng: np.random.Generator, docs: pl.DataFrame, messiness: float) -> pl.Series:
    """APN on a Riverside filing: `123-456-789` usually; else the roll form or missing."""
    u = rng.random(docs.height)
    m = messiness
    a = pl.col("apn")
    expr = (
        pl.when(pl.col("u") < min(0.05 * m, 1.0))
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("u") < min(0.15 * m, 1.0))
        .then(a)
        .otherwise(
            pl.concat_str(a.str.slice(0, 3), pl.lit("-"), a.str.slice(3, 3), pl.lit("-"), a.str.slice(6))
        )
    )
    return docs.select("apn").with_columns(u=pl.Series(u)).select(expr.alias("apn")).to_series()


def fl_rows(rng: np.random.Generator, docs: pl.DataFrame, messiness: float) -> pl.DataFrame:
    """Florida official-records rows (FL_COLUMNS, text) for foreclosure and unrelated documents alike.

    docs: record_id, code, record_day, case_number, party1, party2_owner (bool), party2_other, amount_cents,
    sale_day, ref_record_id, address_shown (bool), plus the parcel columns used by the helpers."""
    owner = owner_name(rng, docs, "fl", messiness)
    address = filing_address(rng, docs, "fl", messiness)
    return docs.select(
        pl.col("record_id").alias("instrument"),
        pl.col("code").alias("doc_type"),
        text_date("record_day", "%m/%d/%Y").alias("record_date"),
        pl.col("case_number"),
        fl_folio(rng, docs, messiness).alias("folio"),
        pl.col("party1"),
        pl.when(pl.col("party2_owner")).then(owner).otherwise(pl.col("party2_other")).alias("party2"),
        legal_text(rng, docs["legal_description"], messiness).alias("legal"),
        pl.when(pl.col("amount_cents").is_not_null()).then(money_plain("amount_cents")).alias("amount"),
        text_date("sale_day", "%m/%d/%Y").alias("sale_date"),
        pl.col("ref_record_id").alias("ref_instrument"),
        pl.when(pl.col("address_shown")).then(address).alias("address"),
        pl.lit(None, dtype=pl.String).alias("reserved"),
    )


def ca_rows(rng: np.random.Generator, docs: pl.DataFrame, messiness: float) -> pl.DataFrame:
    """Riverside foreclosure-extract rows (CA_COLUMNS, text)."""
    trustor = owner_name(rng, docs, "ca", messiness)
    address = filing_address(rng, docs, "ca", messiness)
    return docs.select(
        pl.col("record_id").alias("DocNumber"),
        text_date("record_day", "%Y-%m-%d").alias("RecDate"),
        pl.col("code").alias("DocType"),
        pl.col("case_number").alias("TSNumber"),
        ca_apn(rng, docs, messiness).alias("APN"),
        address.alias("SitusAddress"),
        trustor.alias("TrustorName"),
        pl.col("plaintiff").alias("BeneficiaryName"),
        pl.col("trustee").alias("TrusteeName"),
        pl.when(pl.col("amount_cents").is_not_null()).then(money_currency("amount_cents")).alias("AmountDue"),
        text_date("sale_day", "%Y-%m-%d").alias("SaleDate"),
        pl.col("ref_record_id").alias("RefDocNumber"),
    )


def _json_string(expr: pl.Expr) -> pl.Expr:
    """A JSON string literal (quotes and backslashes escaped), or `null`."""
    escaped = expr.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
    return (
        pl.when(expr.is_null())
        .then(pl.lit("null"))
        .otherwise(pl.concat_str(pl.lit('"'), escaped, pl.lit('"')))
    )


def tx_rows(rng: np.random.Generator, docs: pl.DataFrame, messiness: float) -> pl.DataFrame:
    """Harris County notice rows: TX_KEYS as text values, plus `original_loan_amount` already JSON-encoded."""
    n = docs.height
    grantor = owner_name(rng, docs, "tx", messiness)
    address = filing_address(rng, docs, "tx", messiness)
    legal = legal_text(rng, docs["legal_description"], messiness)
    amount = docs["original_amount"].to_numpy()
    exponent = np.floor(np.log10(np.maximum(amount, 1.0))).astype(np.int64)
    f = docs.with_columns(
        substitute=chance(rng, n, 0.7),
        hcad_shown=chance(rng, n, 0.6),  # the notice carries the HCAD account ~60% of the time
        legal_shown=chance(rng, n, 0.9),
        amount_null=chance(rng, n, 0.05),
        amount_sci=chance(rng, n, 0.01 * messiness),
        mantissa=pl.Series(amount / 10.0**exponent),
        exponent=pl.Series(exponent),
    )
    whole = pl.col("original_amount").round(0).cast(pl.Int64).cast(pl.String) + ".0"
    sci = pl.concat_str(
        pl.lit('"'),
        pl.col("mantissa").round(6).cast(pl.String),
        pl.lit("E"),
        pl.col("exponent").cast(pl.String),
        pl.lit('"'),
    )
    return f.select(
        pl.col("record_id").alias("file_no"),
        (text_date("record_day", "%Y-%m-%d") + "T00:00:00").alias("filed"),
        pl.when(pl.col("substitute"))
        .then(pl.lit("NOTICE OF SUBSTITUTE TRUSTEE SALE"))
        .otherwise(pl.lit("NOTICE OF TRUSTEE SALE"))
        .alias("doc_type"),
        text_date("sale_day", "%Y-%m-%d").alias("sale_date"),
        grantor.alias("grantor"),
        pl.col("plaintiff").alias("mortgagee"),
        address.alias("property_address"),
        pl.when(pl.col("legal_shown")).then(legal).alias("legal_description"),
        pl.when(pl.col("amount_null") | pl.col("original_amount").is_null())
        .then(pl.lit("null"))
        .when(pl.col("amount_sci"))
        .then(sci)
        .otherwise(whole)
        .alias("original_loan_amount"),
        pl.when(pl.col("hcad_shown")).then(pl.col("apn")).alias("hcad_account"),
    )


def tx_json_lines(rows: pl.DataFrame) -> pl.Series:
    """One JSON object per row, keys in TX_KEYS order (original_loan_amount is pre-encoded)."""
    parts: list[pl.Expr] = []
    for i, key in enumerate(TX_KEYS):
        value = pl.col(key) if key == "original_loan_amount" else _json_string(pl.col(key))
        parts += [pl.lit(("{" if i == 0 else ", ") + f'"{key}": '), value]
    return rows.select(pl.concat_str(*parts, pl.lit("}")).alias("line")).to_series()


def fl_lines(rows: pl.DataFrame) -> pl.Series:
    """`v1|v2|...|v13|` per row: every value followed by the delimiter."""
    values = [pl.col(c).fill_null("") for c in FL_COLUMNS]
    return rows.select(pl.concat_str(*values, separator="|").alias("line") + "|").to_series()


def malformed(rows: pl.DataFrame, state: str, record_day: np.ndarray) -> pl.DataFrame:
    """The same rows with an impossible date (a bad value, not a broken line)."""
    year = pl.Series(year_of(record_day)).cast(pl.String)
    if state == "FL":
        return rows.with_columns(record_date=pl.concat_str(pl.lit("13/45/"), year))
    if state == "CA":
        return rows.with_columns(RecDate=pl.concat_str(year, pl.lit("-02-30")))
    return rows.with_columns(filed=pl.lit("not a date"))
