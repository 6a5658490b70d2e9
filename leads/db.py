"""DuckDB connections: the pipeline's private state database, and read-only analyst connections."""

from __future__ import annotations

import importlib
import re
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from leads.errors import LeadsError, StateDamaged
from leads.settings import Settings

# Rows per Arrow record batch handed to DuckDB: it scans batches in parallel (one chunk is one thread).
ARROW_BATCH_ROWS = 122_880  # DuckDB's row-group size


def sql_text(settings: Settings, name: str) -> str:
    """The text of sql/<name>.sql (SQL lives in files named after what they produce)."""
    return (settings.sql_dir / f"{name}.sql").read_text(encoding="utf-8")


def duckdb_arrow(frame: pl.DataFrame) -> pa.Table:
    """A frame as an Arrow table for `con.register`, without copies: string views (the newest compat level)
    instead of large strings, cut into record batches so DuckDB reads and inserts them on every thread
    (measured here: a 3.8M-row, 12-column insert 7.0 s as one chunk, 3.0 s in batches)."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    return pa.Table.from_batches(table.to_batches(max_chunksize=ARROW_BATCH_ROWS), schema=table.schema)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT; ROLLBACK when the block raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


@contextmanager
def undone_after(undo: Callable[[], object]) -> Iterator[None]:
    """Run `undo` when the block ends. When the block failed, an error of `undo` does not replace the block's
    own: a failed statement aborts its transaction, and DuckDB then refuses every statement until ROLLBACK."""
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):
            undo()
        raise
    undo()


@contextmanager
def unordered_inserts(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Inserts inside the block may store rows in any order (for tables whose readers never rely on row order,
    such as the staged tables). An ordered bulk insert from several threads is rewritten at the next checkpoint:
    measured here on one 3.3M-row parcel roll, 6 s to insert and 5 s more to checkpoint (a file twice the size)
    ordered, against 5 s and nothing unordered. Enter it outside the transaction, so that the setting is
    reset after a ROLLBACK too."""
    con.execute("SET preserve_insertion_order = false")
    with undone_after(lambda: con.execute("RESET preserve_insertion_order")):
        yield


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: pl.DataFrame) -> Iterator[None]:
    """Each frame as a relation named after its keyword, for the statements run inside the block."""
    for name, frame in frames.items():
        con.register(name, duckdb_arrow(frame))
    with undone_after(lambda: [con.unregister(name) for name in frames]):
        yield


def _configured(con: duckdb.DuckDBPyConnection, settings: Settings) -> duckdb.DuckDBPyConnection:
    con.execute("SET memory_limit = ?", [settings.duckdb_memory_limit])
    if settings.duckdb_threads:
        con.execute("SET threads = ?", [settings.duckdb_threads])
    temp = settings.state_dir / "duckdb_tmp"
    temp.mkdir(parents=True, exist_ok=True)
    con.execute("SET temp_directory = ?", [str(temp)])
    return con


@contextmanager
def state_db(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to data/state/pipeline.duckdb, schema ensured."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(settings.state_db))
    except duckdb.Error as exc:
        if _DAMAGE.search(str(exc)):
            raise StateDamaged(damaged_state_message(settings, exc)) from None
        raise LeadsError(f"cannot open the pipeline state database ({_first_line(exc)})") from None
    try:
        _configured(con, settings)
        con.execute(sql_text(settings, "state_schema"))
        _check_state_version(con, settings)
        try:
            _feeds().create_views(con)
        except duckdb.Error as exc:  # a listed feed file missing or torn (a power cut, a hand-made change)
            raise StateDamaged(damaged_state_message(settings, exc)) from None
        yield con
    finally:
        con.close()


def ensure_state_readable(settings: Settings) -> None:
    """Open and close the working state when there is one: StateDamaged (or another one-line LeadsError, e.g. an
    older state version) before a run starts, rather than inside its first task."""
    if settings.state_db.exists():
        with state_db(settings):
            pass


# What DuckDB says, on open, when a database file or its WAL cannot be read back ("Corrupt database file: computed
# checksum ...", "Corrupt WAL file: ...", also inside "Failure while replaying WAL file ...: <error>"). DuckDB
# rewrites its metadata blocks in place at every checkpoint, so a process killed in the middle of that write
# (SIGKILL, OOM killer, power loss) can leave a block whose checksum no longer matches (seen once in the
# random-kill test). Only errors on opening the state are classified: later statements also read other files
# (the published one), and DuckDB's message does not name the file.
_DAMAGE = re.compile(r"corrupt (database|WAL)|not a valid DuckDB database", re.IGNORECASE)


def damaged_state_message(settings: Settings, exc: Exception) -> str:
    """One line: what is damaged, that readers are unaffected, and the command that rebuilds the state."""
    return (
        f"the pipeline state {settings.state_db} is damaged ({_first_line(exc)}); the published leads and "
        f"exports are intact. Rebuild the state from the raw landing, then run again: {rebuild_command(settings)}"
    )


def rebuild_command(settings: Settings) -> str:
    """`leads backfill --rebuild` over the as-of dates of the published runs (from the published file, which a
    damaged state does not touch)."""
    dates: list = []
    with suppress(duckdb.Error, LeadsError):
        con = analyst_connection(settings.published_db)
        try:
            dates = con.execute(
                "SELECT min(as_of), max(as_of) FROM runs WHERE status IN ('published', 'partial')"
            ).fetchall()[0]
        finally:
            con.close()
    if not dates or dates[0] is None:
        return "`leads backfill --from <first as-of> --to <last as-of> --rebuild`"
    return f"`leads backfill --from {dates[0]} --to {dates[1]} --rebuild`"


# Bump when staged tables change shape; an older state must be rebuilt from the raw landing (or is migrated).
# 3: the staged feeds moved from DuckDB tables to Parquet files (leads/feeds.py).
STATE_VERSION = "3"


def _check_state_version(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    found = con.execute("SELECT value FROM meta WHERE key = 'state_version'").fetchall()
    if found and found[0][0] == STATE_VERSION:
        return
    if found and found[0][0] == "2":
        _feeds().migrated_tables(con, _feeds().feeds_root(con))
        con.execute("UPDATE meta SET value = ? WHERE key = 'state_version'", [STATE_VERSION])
        return
    used = con.execute("SELECT count(*) FROM raw_manifest").fetchall()[0][0] > 0
    if found or used:
        was = found[0][0] if found else "1"
        raise LeadsError(
            f"the pipeline state {settings.state_db} is version {was}, this code needs {STATE_VERSION}: "
            "rebuild it from raw with `leads backfill --from <first date> --to <as-of> --rebuild`"
        )
    con.execute("INSERT INTO meta VALUES ('state_version', ?)", [STATE_VERSION])


def state_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a state database with its staged feed views (for checks and evaluation)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        _feeds().create_views(con)
    except BaseException:
        con.close()
        raise
    return con


def analyst_connection(path: Path) -> duckdb.DuckDBPyConnection:
    """Read-only, no access to files outside the database, configuration locked (safe for ad-hoc SQL)."""
    if not path.exists():
        raise LeadsError(f"no published database at {path}: run `leads refresh` first")
    return duckdb.connect(
        str(path),
        read_only=True,
        config={"enable_external_access": False, "lock_configuration": True},
    )


def _feeds() -> types.ModuleType:
    """leads.feeds, imported on first use (it uses this module's `ident`)."""
    return importlib.import_module("leads.feeds")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200]


def ident(name: str) -> str:
    """A safe SQL identifier: only lower-case snake_case names from the project's own allow-lists pass."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"refusing SQL identifier {name!r}")
    return f'"{name}"'


def is_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether `name` is a table of the connection's database (main schema)."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ?",
        [name],
    ).fetchall()
    return found[0][0] > 0
