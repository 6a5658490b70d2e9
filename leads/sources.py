"""Declarative source configs: one YAML file per source under config/sources/ (a county is config, not code)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from leads.errors import ConfigError
from schemas.vocabulary import FEED_FIELDS, FILING_FIELDS, REQUIRED_FILING_FIELDS, Event

SOURCE_ID = r"^[a-z][a-z0-9_]{1,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _file_pattern(value: str) -> str:
    """A file-name pattern inside one delivery folder: no folders, no `..`, not absolute."""
    if not value or "/" in value or "\\" in value or ".." in value:
        raise ValueError("must be a file-name pattern inside the delivery folder (no '/', no '..')")
    return value


class County(_Strict):
    name: str
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    fips: Annotated[str, Field(pattern=r"^\d{5}$")]


class FileFormat(_Strict):
    type: Literal["delimited", "jsonl", "json", "fixed_width"]
    glob: Annotated[str, AfterValidator(_file_pattern)] = "*"
    encoding: Literal["utf-8", "utf-8-sig", "cp1252", "latin-1"] = "utf-8"
    # delimited
    delimiter: str = ","
    header: bool = True
    quote_char: str | None = '"'
    # Names for headerless delimited files and fixed-width files, in file order.
    columns: list[str] | None = None
    trailing_delimiter: bool = False  # every line ends with the delimiter (e.g. Broward exports)
    # fixed_width: field widths in characters, same order as `columns`
    widths: list[int] | None = None
    # json: key holding the list of records (e.g. "records"); None = the document is the list
    records_path: str | None = None

    @model_validator(mode="after")
    def _shape_is_complete(self) -> FileFormat:
        if self.type == "delimited" and not self.header and not self.columns:
            raise ValueError("a headerless delimited format needs `columns`")
        if self.type == "fixed_width" and (
            not self.columns or not self.widths or len(self.columns) != len(self.widths)
        ):
            raise ValueError("fixed_width needs `columns` and `widths` of the same length")
        if len(self.delimiter) != 1:
            raise ValueError("`delimiter` must be one character")
        return self


class CompanionFile(_Strict):
    """Another file of the same delivery joined onto each main record (multi-file exports such as Broward's
    doc / names / legal / link files). It shares the main file's format except for its columns."""

    glob: Annotated[
        str, AfterValidator(_file_pattern)
    ]  # file-name pattern in the same folder, e.g. "*nme-ver.txt"
    columns: list[str]  # its columns in file order
    key: str  # its column holding the main record's id
    on: str  # the main file's column it joins to
    where: dict[str, str] = {}  # keep only rows whose column equals the value (e.g. {role: D})
    order_by: str | None = None  # order of rows per key before taking them
    take: Literal["first", "all"] = "first"  # "all" joins every value with "; "
    prefix: str = ""  # prefix for its columns in the joined record (avoids name clashes)

    @model_validator(mode="after")
    def _names_known(self) -> CompanionFile:
        unknown = sorted(({self.key} | set(self.where) | ({self.order_by} - {None})) - set(self.columns))
        if unknown:
            raise ValueError(f"names not in columns: {unknown}")
        return self


class LandingConnector(_Strict):
    """Files dropped into <landing_dir>/<source>/<YYYY-MM-DD>/ (bulk exports, vendor deliveries)."""

    type: Literal["landing"] = "landing"


class HttpJsonConnector(_Strict):
    """A paginated JSON API (county open-data portals). Credentials come from the environment only."""

    type: Literal["http_json"]
    # http(s) address without credentials; a fixed query string is kept and the page parameters added to it
    url: str
    page_param: str = "page"
    page_size_param: str = "limit"
    page_size: Annotated[int, Field(ge=1)] = 1000
    records_path: str | None = None
    date_param: str | None = None  # query parameter that takes the as-of date
    token_env: str | None = None  # name of the environment variable holding a bearer token
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    retries: Annotated[int, Field(ge=0)] = 3  # retries after the first attempt of each page
    max_pages: Annotated[int, Field(ge=1)] = 10_000  # a server that never sends a short page fails the source

    @field_validator("url")
    @classmethod
    def _plain_http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^/@?#\s]+(?:[/?#]\S*)?", value):
            raise ValueError("must be an http(s) address without user:password (tokens go in token_env)")
        return value


class ParcelIdFormat(_Strict):
    """How this county writes parcel ids in its roll: normalized ids are upper-case alphanumerics."""

    digits: int | None = None  # left-pad all-digit ids to this width (restores dropped leading zeros)


class SourceConfig(_Strict):
    source: Annotated[str, Field(pattern=SOURCE_ID)]
    kind: Literal["filings", "parcels", "valuations", "loans", "liens", "vacancy", "suppression"]
    description: str = ""
    county: County | None = None
    connector: Annotated[LandingConnector | HttpJsonConnector, Field(discriminator="type")] = (
        LandingConnector()
    )
    format: FileFormat
    # other files of each delivery joined onto the main file's records
    joins: list[CompanionFile] = []
    # canonical field -> raw column name in the delivery (a list joins several columns with "|")
    fields: dict[str, str | list[str]]
    # canonical fields that identify a record; a later delivery with the same key supersedes the earlier row
    record_key: list[str]
    date_formats: list[str] = ["%Y-%m-%d"]
    null_values: list[str] = ["", "NA", "N/A", "NULL", "null", "None"]
    # county document-type code (or docket-event name) -> canonical event; anything unlisted is `default_event`
    events: dict[str, Event] = {}
    default_event: Event = Event.IGNORE
    parcel_id: ParcelIdFormat = ParcelIdFormat()
    # columns in a delivery beyond `format.columns` (or, without it, beyond the mapped ones)
    extra_columns: Literal["ignore", "warn", "fail"] = "warn"
    # a delivery whose share of rejected rows exceeds this fails the source (0.05 = 5 %)
    reject_rate_max: Annotated[float, Field(ge=0, le=1)] = 0.05
    # warn when no delivery has arrived for this many days
    freshness_days: Annotated[int, Field(ge=1)] = 3

    @field_validator("fields")
    @classmethod
    def _raw_names_present(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for canonical, raw in value.items():
            if not raw or (isinstance(raw, list) and not all(raw)):
                raise ValueError(f"field {canonical!r} maps to an empty column name")
        return value

    @property
    def raw_columns(self) -> list[str]:
        """Every column of the (joined) delivery that `fields` reads."""
        names: list[str] = []
        for raw in self.fields.values():
            for name in [raw] if isinstance(raw, str) else raw:
                if name not in names:
                    names.append(name)
        return names

    @property
    def globs(self) -> list[str]:
        """File patterns of one delivery: the main file first, then its companions."""
        return [self.format.glob, *[j.glob for j in self.joins]]

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> SourceConfig:
        allowed = FILING_FIELDS if self.kind == "filings" else FEED_FIELDS[self.kind]
        unknown = sorted(set(self.fields) - set(allowed))
        if unknown:
            raise ValueError(f"unknown canonical field(s) {unknown} for kind {self.kind!r}")
        if self.kind == "filings":
            missing = [f for f in REQUIRED_FILING_FIELDS if f not in self.fields]
            if missing:
                raise ValueError(f"filings sources must map {missing}")
            if self.county is None:
                raise ValueError("filings sources must name their `county`")
        unknown_key = sorted(set(self.record_key) - set(self.fields))
        if unknown_key:
            raise ValueError(f"record_key names unmapped field(s) {unknown_key}")
        if (
            self.kind != "filings"
            and "county_fips" in FEED_FIELDS[self.kind]
            and "county_fips" not in self.record_key
        ):
            # staged feeds are kept one resolved file per county (leads/feeds.py): a key spans one county
            raise ValueError(f"record_key of a {self.kind} feed must include county_fips")
        if self.format.columns and self.format.type == "delimited":
            available = set(self.format.columns) | {
                f"{j.prefix}{c}" for j in self.joins for c in j.columns if c != j.key
            }
            missing_cols = sorted(set(self.raw_columns) - available)
            if missing_cols:
                raise ValueError(f"fields map to column(s) not in format.columns or joins: {missing_cols}")
        return self


def _error_line(path: Path, error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"{path}: {key}: {first['msg']}"


def load_source(path: Path) -> SourceConfig:
    """One validated source config; any problem is a one-line ConfigError naming the file and key."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: (top level): expected a mapping of keys")
    try:
        config = SourceConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_error_line(path, exc)) from None
    if config.source != path.stem:
        raise ConfigError(f"{path}: source: must equal the file name ({path.stem!r})")
    return config


def load_sources(sources_dir: Path, selected: list[str] | None = None) -> list[SourceConfig]:
    """All source configs in the folder, sorted by id; `selected` limits and checks the ids asked for."""
    if not sources_dir.is_dir():
        raise ConfigError(f"{sources_dir}: source config folder not found")
    configs = [load_source(p) for p in sorted(sources_dir.glob("*.yaml"))]
    if not selected:
        return configs
    known = {c.source for c in configs}
    unknown = [s for s in selected if s not in known]
    if unknown:
        raise ConfigError(
            f"unknown source(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}"
        )
    return [c for c in configs if c.source in selected]


def is_safe_name(name: str) -> bool:
    """A delivery or folder name that cannot escape its folder."""
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}", name)) and ".." not in name
