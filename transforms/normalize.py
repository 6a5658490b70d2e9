"""Normalized keys for matching: parcel ids, street lines, legal descriptions, party names.

Vectorized Polars expressions for the common cases (tens of millions of parcel rows must stay fast); the
abbreviations follow USPS Publication 28 (street suffixes, directionals, secondary unit designators).
"""

from __future__ import annotations

import polars as pl
import usaddress

# USPS Pub. 28 appendix C1 (suffixes), B (directionals) and C2 (unit designators): the forms seen in county data.
_STREET_WORDS = {
    "STREET": "ST",
    "STR": "ST",
    "AVENUE": "AVE",
    "AV": "AVE",
    "AVN": "AVE",
    "ROAD": "RD",
    "DRIVE": "DR",
    "DRV": "DR",
    "LANE": "LN",
    "BOULEVARD": "BLVD",
    "BOUL": "BLVD",
    "COURT": "CT",
    "CIRCLE": "CIR",
    "PLACE": "PL",
    "TERRACE": "TER",
    "PARKWAY": "PKWY",
    "HIGHWAY": "HWY",
    "TRAIL": "TRL",
    "WAY": "WAY",
    "SQUARE": "SQ",
    "LOOP": "LOOP",
    "COVE": "CV",
    "POINT": "PT",
    "CROSSING": "XING",
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
    "NORTHEAST": "NE",
    "NORTHWEST": "NW",
    "SOUTHEAST": "SE",
    "SOUTHWEST": "SW",
    "APARTMENT": "APT",
    "SUITE": "STE",
    "UNIT": "UNIT",
    "NUMBER": "#",
}

# Words that say nothing about who a party is (entity suffixes, roles, "et al").
_PARTY_NOISE = (
    r"\b(ET AL|ETAL|ET UX|ET VIR|A/K/A|AKA|F/K/A|FKA|N\.?A\.?|NATIONAL ASSOCIATION|INC|INCORPORATED|LLC|L\.L\.C\."
    r"|CORP|CORPORATION|CO|COMPANY|LTD|LP|FSB|AS TRUSTEE.*|AS SUCCESSOR.*|SUCCESSOR TRUSTEE.*|TRUSTEE FOR.*"
    r"|THE)\b"
)


# The match keys (apn, street, legal) are each one chain of passes over the text, ending in `.replace("", None)`
# for "no key": the usual `pl.when(f(text)).then(text)` computes `text` twice where expressions run eagerly
# (`DataFrame.with_columns` has no common-subexpression elimination). Padding apn keys to `digits` still does:
# filings are few.


def normalized_apn(column: str, digits: pl.Expr | int | None = None) -> pl.Expr:
    """Upper-case alphanumerics; float-formatted ids lose their `.0`; all-digit ids are left-padded to `digits`."""
    text = (
        pl.col(column)
        .str.to_uppercase()
        # `\s*` stands in for stripping the id first: whitespace is dropped with the other punctuation below
        .str.replace(r"^\s*(\d+)\.0+\s*$", "${1}")
        .str.replace_all(r"[^0-9A-Z]", "")
        .replace("", None)
    )
    if digits is None:
        return text
    width = digits if isinstance(digits, pl.Expr) else pl.lit(digits)
    all_digits = text.str.contains(r"^\d+$")
    return pl.when(all_digits & width.is_not_null()).then(text.str.zfill(width)).otherwise(text)


# normalized_street works in whole-string passes (no per-row lists: a roll has millions of rows).
# 1. One regex replace; each match becomes one space. Word characters are [0-9A-Z#/-], separators anything else
#    but the comma. A match is:
#    - the whole line, when its first word does not start with a digit (the key will be null);
#    - the first comma and everything after it (only the street line counts);
#    - a run of separators that is not all spaces, or two or more spaces.
#    Left: words separated by single spaces, maybe spaces at either end. A single space, the usual separator,
#    matches nothing and costs nothing.
_STREET_SEPARATORS = (
    r"(?s)^[^0-9A-Z#/,-]*[A-Z#/-].*"
    r"|,.*"
    r"|[ ]*[^0-9A-Z#/ ,-][^0-9A-Z#/,-]*"
    r"|[ ]{2,}"
)
# 2. With a space added on either side, Aho-Corasick rewrites " STREET " -> " ST " etc. A match takes the space
#    after its word, so a listed word right after a rewritten one is skipped; a second pass gets it (no
#    abbreviation is itself a listed word). Words that stay as they are need no pattern. No listed word or
#    abbreviation starts with a digit, so the check on the first word in 1 still holds after rewriting.
_STREET_PATTERNS = [f" {word} " for word, abbreviation in _STREET_WORDS.items() if word != abbreviation]
_STREET_REPLACEMENTS = [
    f" {abbreviation} " for word, abbreviation in _STREET_WORDS.items() if word != abbreviation
]


def normalized_street(column: str) -> pl.Expr:
    """The street line in USPS form: `1234 North Oak Street, Tampa FL` -> `1234 N OAK ST`; null unless it starts
    with a digit. Words: runs of [0-9A-Z#/-] before the first comma, after upper-casing and dropping `.` and `'`;
    anything else separates them."""
    line = (
        pl.col(column)
        .str.to_uppercase()
        .str.replace_all(r"[.\x27]", "")
        .str.replace_all(_STREET_SEPARATORS, " ")
    )
    return (
        pl.concat_str(pl.lit(" "), line, pl.lit(" "))
        .str.replace_many(_STREET_PATTERNS, _STREET_REPLACEMENTS)
        .str.replace_many(_STREET_PATTERNS, _STREET_REPLACEMENTS)
        .str.strip_chars(" ")
        .replace("", None)
    )


def normalized_legal(column: str) -> pl.Expr:
    """Legal description compared on upper-case words only (spacing, case and punctuation ignored); null when
    shorter than 8 characters."""
    text = (
        pl.col(column)
        .str.to_uppercase()
        # every run of characters other than [0-9A-Z] -> one space; a lone space (the common case) is left alone
        .str.replace_all(r"[^0-9A-Z]{2,}|[^0-9A-Z ]", " ")
        .str.strip_chars(" ")
    )
    return text.str.replace(r"^.{0,7}$", "").replace("", None)


def normalized_party(column: str) -> pl.Expr:
    """A party name reduced for grouping spelling variants: `Deutsche Bank National Trust Co., as Trustee`
    -> `DEUTSCHE BANK NATIONAL TRUST`."""
    text = (
        pl.col(column)
        .str.to_uppercase()
        .str.replace_all(r"\.", "")
        .str.replace_all(r"[^0-9A-Z& ]", " ")
        .str.replace_all(_PARTY_NOISE, " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    return pl.when(text != "").then(text)


# usaddress component labels that make up a street line (city, state and ZIP are dropped)
_STREET_PARTS = [
    "AddressNumberPrefix",
    "AddressNumber",
    "AddressNumberSuffix",
    "StreetNamePreModifier",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostDirectional",
    "OccupancyType",
    "OccupancyIdentifier",
]


def street_line(address: str | None) -> str | None:
    """The street line of a free-text US address as parsed by usaddress ("4281 Orchid St Humble TX 77346" ->
    "4281 Orchid St"); None for PO boxes, legal descriptions and text usaddress cannot label."""
    if not address or not address.strip():
        return None
    try:
        tagged, kind = usaddress.tag(address)
    except usaddress.RepeatedLabelError:
        return None
    if kind != "Street Address" or "AddressNumber" not in tagged or "StreetName" not in tagged:
        return None
    return " ".join(tagged[part] for part in _STREET_PARTS if part in tagged)


def filing_street_keys(addresses: pl.Series) -> pl.Series:
    """Normalized street keys of free-text filing addresses (parsed once per distinct address)."""
    distinct = addresses.drop_nulls().unique(maintain_order=True)
    parsed = pl.DataFrame(
        {"address": distinct, "line": [street_line(a) for a in distinct]},
        schema={"address": pl.String, "line": pl.String},
    )
    keyed = parsed.with_columns(normalized_street("line").alias("street_key"))
    return (
        pl.DataFrame({"address": addresses})
        .join(keyed, on="address", how="left", maintain_order="left")
        .get_column("street_key")
    )
