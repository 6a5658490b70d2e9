"""Staged dimension feeds (parcels, valuations, loans, liens, vacancy, suppression) as resolved Parquet files.

A feed is large, delivered in whole rolls and read only by key, so it is kept out of DuckDB's own storage:
writing a 3.3M-row parcel roll as zstd Parquet from Polars takes 3.4 CPU s (119 MB), against 9.4 CPU s
(300 MB) for DuckDB's compressed insert (bench/README.md). The filings, cases and leads stay in DuckDB tables.

Layout, beside the state database:
- `feeds/<kind>/<source>/<county>.<token>.parquet`: **one resolved file per source and county**, holding the
  latest row per record key (a row of an older delivery never replaces a newer one). A later delivery for the
  same source and county is merged into a new file; other counties are not touched.
- `feed_files` (a state table) lists the current file of each source and county. It changes in the same
  transaction that marks the landed file staged, and each file is written under a new name before that
  transaction, so a kill leaves either the old list (and an unlisted new file) or the new one (and an
  unlisted old file). Unlisted files are removed by the next run (`removed_orphans`).
- `feeds/<kind>/_schema.parquet`: no rows, the staged columns of the kind (a feed never delivered still reads).
- `staged_<kind>`: a temporary view per connection over the listed files (`create_views`), so readers keep
  their SQL and the data directory can move.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
from duckdb import ColumnExpression, ConstantExpression

from leads.db import ident
from leads.errors import LeadsError
from leads.files import fsync_dir, fsync_file
from schemas.vocabulary import FEED_FIELDS

FEED_TABLES = {kind: f"staged_{kind}" for kind in FEED_FIELDS}
SCHEMA_FILE = "_schema.parquet"
GLOB_CHARACTERS = frozenset("*?[]{}")
# zstd: half the size of lz4 for +0.9 CPU s per 3.3M-row parcel roll; level 1 writes that roll in 2.8 CPU s
# against 3.4 at Polars' default level, for the same size (124 MB)
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1


def feeds_root(con: duckdb.DuckDBPyConnection) -> Path:
    """The feeds folder beside the connection's database file (the state database)."""
    path = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    if not path or not path[0][0]:
        raise ValueError("staged feeds need a state database file, not an in-memory database")
    root = Path(path[0][0]).resolve().parent / "feeds"
    if GLOB_CHARACTERS.intersection(str(root)):
        # DuckDB reads every Parquet path as a glob pattern: `a[1]` would read `a1`
        raise LeadsError(
            f"the data directory's path must not contain any of {''.join(sorted(GLOB_CHARACTERS))}"
        )
    return root


def written_schema_files(root: Path, schemas: dict[str, pl.DataFrame]) -> None:
    """The empty file of each kind's staged columns (replaced whole when the columns change)."""
    for kind, empty in schemas.items():
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / SCHEMA_FILE).exists() and pl.read_parquet_schema(folder / SCHEMA_FILE) == empty.schema:
            continue
        part = folder / f"{SCHEMA_FILE}.{uuid.uuid4().hex}.part"
        empty.write_parquet(part)
        fsync_file(part)
        part.replace(folder / SCHEMA_FILE)
        fsync_dir(folder)


def _quoted(path: Path) -> str:
    # a file path as a SQL string literal (views take no parameters; the paths are the project's own)
    return "'" + str(path).replace("'", "''") + "'"


def create_views(con: duckdb.DuckDBPyConnection, root: Path | None = None) -> None:
    """`staged_<kind>` as a temporary view over the schema file and the listed files of each feed kind (kinds
    whose schema file is not written yet get none)."""
    has_list = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = 'feed_files'"
    ).fetchall()[0][0]
    if not has_list:  # a state before its schema, or a database that is not a state
        return
    root = root or feeds_root(con)
    listed = con.execute("SELECT kind, path FROM feed_files ORDER BY kind, source, county_fips").fetchall()
    for kind, table in FEED_TABLES.items():
        schema = root / kind / SCHEMA_FILE
        if not schema.exists():
            continue
        files = [schema, *(root / path for k, path in listed if k == kind)]
        paths = ", ".join(_quoted(p) for p in files)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {ident(table)} AS "  # noqa: S608
            f"SELECT * FROM read_parquet([{paths}], union_by_name = true)"
        )


@dataclass(frozen=True)
class FeedFile:
    """One source and county's resolved file after a commit, and the file it replaces."""

    kind: str
    source: str
    county_fips: str | None
    path: str  # relative to the feeds folder
    rows: int
    replaces: str | None


def _current(con: duckdb.DuckDBPyConnection, kind: str, source: str, county: str | None) -> str | None:
    found = con.execute(
        "SELECT path FROM feed_files WHERE kind = ? AND source = ? AND county_fips IS NOT DISTINCT FROM ?",
        [kind, source, county],
    ).fetchall()
    return found[0][0] if found else None


def _counties(con: duckdb.DuckDBPyConnection, kind: str, frame: pl.DataFrame | None) -> list[str | None]:
    if "county_fips" not in FEED_FIELDS[kind]:
        return [None]
    if frame is not None:
        return frame["county_fips"].unique().sort(nulls_last=True).to_list()
    return [
        r[0]
        for r in con.execute("SELECT DISTINCT county_fips FROM incoming ORDER BY 1 NULLS LAST").fetchall()
    ]


def _county_file_sql(key: list[str], county: bool, merge: bool) -> str:
    """One county's incoming rows ($county; all rows without it), merged with the current file ($current) when
    `merge`: its rows not replaced by an incoming row, and the incoming rows not older than the current row of
    their key (ties go to the incoming row, as a same-day corrected re-delivery)."""
    where = "county_fips = $county" if county else "TRUE"
    if not merge:
        return f"SELECT * FROM incoming WHERE {where}"  # noqa: S608
    match = " AND ".join(f"s.{ident(k)} IS NOT DISTINCT FROM i.{ident(k)}" for k in key)
    return (
        f"WITH county_rows AS (SELECT * FROM incoming WHERE {where}), "  # noqa: S608
        "current_rows AS (SELECT * FROM read_parquet($current)) "
        f"SELECT s.* FROM current_rows s WHERE NOT EXISTS (SELECT 1 FROM county_rows i WHERE {match} "
        "AND i.delivery_date >= s.delivery_date) "
        f"UNION ALL BY NAME SELECT i.* FROM county_rows i WHERE NOT EXISTS (SELECT 1 FROM current_rows s "
        f"WHERE {match} AND s.delivery_date > i.delivery_date)"
    )


def written_files(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    source: str,
    frame: pl.DataFrame | None,
    key: list[str],
    root: Path,
) -> list[FeedFile]:
    """Write the new resolved file of each county in `incoming` (exposed to DuckDB by the caller: one landed
    file's staged rows; `frame`: the same rows as a frame when this process holds them, None when DuckDB reads
    them from a worker's Parquet part or a table) and return them for `recorded`. Nothing is listed yet: the caller commits the list, then calls `released`. A county
    without a file gets the rows as they are; one with a file gets the merge."""
    written: list[FeedFile] = []
    try:
        counties = _counties(con, kind, frame)
        for county in counties:
            folder = root / kind / source
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{county or 'all'}.{uuid.uuid4().hex[:12]}.parquet"
            current = _current(con, kind, source, county)
            target = folder / name
            if current is None and frame is not None:
                # the common case (a first load, one county per file): Polars writes the frame as it is
                single = len(counties) == 1
                county_rows = frame if single else frame.filter(pl.col("county_fips") == county)
                county_rows.write_parquet(
                    target, compression=COMPRESSION, compression_level=COMPRESSION_LEVEL
                )
            else:
                params = {} if county is None else {"county": county}
                if current is not None:
                    params["current"] = str(root / current)
                query = _county_file_sql(key, county is not None, current is not None)
                con.sql(query, params=params).write_parquet(str(target), compression=COMPRESSION)
            fsync_file(target)
            rows_written = pq.read_metadata(target).num_rows
            written.append(FeedFile(kind, source, county, f"{kind}/{source}/{name}", rows_written, current))
        for folder in {(root / f.path).parent for f in written}:
            fsync_dir(folder)  # the new names are durable before the commit lists them (power loss)
    except BaseException:
        discarded(root, written)
        raise
    return written


def _listed_paths(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {p for (p,) in con.execute("SELECT path FROM feed_files").fetchall()}


def recorded(con: duckdb.DuckDBPyConnection, files: list[FeedFile]) -> None:
    """List the new files in place of the ones they replace (inside the caller's transaction)."""
    for f in files:
        con.execute(
            "DELETE FROM feed_files WHERE kind = ? AND source = ? AND county_fips IS NOT DISTINCT FROM ?",
            [f.kind, f.source, f.county_fips],
        )
        con.execute(
            "INSERT INTO feed_files VALUES (?, ?, ?, ?, ?)", [f.kind, f.source, f.county_fips, f.path, f.rows]
        )


def released(root: Path, files: list[FeedFile]) -> None:
    """After the commit: remove the files the new ones replaced."""
    for f in files:
        if f.replaces is not None:
            (root / f.replaces).unlink(missing_ok=True)


def discarded(root: Path, files: list[FeedFile]) -> None:
    """When the commit failed: remove the new files (never listed)."""
    for f in files:
        (root / f.path).unlink(missing_ok=True)


def discarded_unless_listed(con: duckdb.DuckDBPyConnection, root: Path, files: list[FeedFile]) -> None:
    """When a commit raised: remove the new files, unless the list names them. The error can come after the
    COMMIT (an interrupt, a failing statement after it): then the files are the feed's current ones. When the
    list cannot be read, they are kept, and the next run removes whichever are unlisted."""
    try:
        listed = _listed_paths(con)
    except duckdb.Error:
        return
    discarded(root, [f for f in files if f.path not in listed])


def removed_orphans(con: duckdb.DuckDBPyConnection, root: Path) -> int:
    """Remove the feed files no list names: left by a run killed between writing a file and committing its
    list, or between the commit and removing the file it replaced. The number removed."""
    if not root.is_dir():
        return 0
    listed = {root / p for p in _listed_paths(con)}
    removed = 0
    for path in root.glob("*/*/*"):
        if path not in listed and path.is_file():
            path.unlink()
            removed += 1
    for part in root.glob(f"*/{SCHEMA_FILE}.*.part"):
        part.unlink()
    return removed


def migrated_tables(con: duckdb.DuckDBPyConnection, root: Path) -> int:
    """A version-2 state's staged feed tables moved to resolved files, one per source and county (their rows
    are already one per record key), and the tables dropped. The files are written before the transaction
    that lists them and drops the tables: a kill leaves the tables (the migration runs again) and unlisted
    files (removed by the next run). The number of files written."""
    tables = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'"
        ).fetchall()
    }
    written: list[FeedFile] = []
    try:
        for kind, table in FEED_TABLES.items():
            if table not in tables:
                continue
            relation = con.table(f"main.{table}")
            written_schema_files(root, {kind: relation.limit(0).pl()})
            sources = relation.select("source").distinct().order("source").fetchall()
            for (source,) in sources:
                relation.filter(ColumnExpression("source") == ConstantExpression(source)).create_view(
                    "incoming"
                )
                try:
                    # no file is listed yet, so nothing is merged: the record key is not needed
                    written += written_files(con, kind, source, None, [], root)
                finally:
                    con.execute("DROP VIEW IF EXISTS incoming")
        con.execute("BEGIN TRANSACTION")
        recorded(con, written)
        for table in FEED_TABLES.values():
            if table in tables:
                con.execute(f"DROP TABLE main.{ident(table)}")
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        discarded(root, written)
        raise
    return len(written)


def upserted(
    con: duckdb.DuckDBPyConnection, kind: str, source: str, rows: pl.DataFrame, key: list[str]
) -> None:
    """Upsert `rows` into a feed in one go: write, list (in its own transaction), release the replaced files
    and refresh the views (for tests and one-off repairs; staging commits the list with its landed file)."""
    root = feeds_root(con)
    con.register("incoming", rows.to_arrow())
    try:
        files = written_files(con, kind, source, rows, key, root)
    finally:
        con.unregister("incoming")
    try:
        con.execute("BEGIN TRANSACTION")
        recorded(con, files)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        discarded_unless_listed(con, root, files)
        raise
    released(root, files)
    create_views(con, root)
