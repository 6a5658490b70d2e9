"""Immutable raw landing: each delivery is copied once into data/raw/<source>/<date>/ with a manifest row.

A file already staged (same sha256, any name) is skipped; a file that landed but failed staging is retried.
A landing file with the name, date folder and size of the last file staged under that name, and not modified
since that run began, is known without reading it again (a night's cost must not grow with the history kept
in the landing folder); any write to a file gives it a newer modification time, so it is hashed again.
Names that could escape the landing folder (`..`, absolute paths, symlinks) are refused before any read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from leads.files import fsync_dir
from leads.sources import SourceConfig, is_safe_name


@dataclass(frozen=True)
class LandedFile:
    source: str
    delivery_date: dt.date
    file_name: str
    raw_path: str  # relative to the data dir
    sha256: str
    bytes: int
    role: str = "main"  # main | companion (another file of a multi-file export)


@dataclass
class Landing:
    files: list[LandedFile]  # to stage this run, oldest delivery first
    skipped: int  # already staged earlier (same content)
    refused: list[str]  # names refused as unsafe (reported as warnings, never read)
    last_delivery_date: dt.date | None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# (delivery date, file name, bytes) -> (received_at of the last manifest row with that name and size, its
# sha256, its status)
Receipts = dict[tuple[dt.date, str, int], tuple[dt.datetime, str, str]]


def _receipts(con: duckdb.DuckDBPyConnection, source: str) -> Receipts:
    rows = con.execute(
        "SELECT delivery_date, file_name, bytes, received_at, sha256, status FROM raw_manifest "
        "WHERE source = ? "
        "QUALIFY row_number() OVER (PARTITION BY delivery_date, file_name, bytes ORDER BY received_at DESC) = 1",
        [source],
    ).fetchall()
    return {
        (day, name, size): (received, digest, status) for day, name, size, received, digest, status in rows
    }


def _known_digest(path: Path, day: dt.date, receipts: Receipts) -> str | None:
    """The sha256 of the file staged under this name and size, when the file has not been written since that
    run began (modification time before its received_at, both UTC); None when it must be read."""
    stat = path.stat()
    receipt = receipts.get((day, path.name, stat.st_size))
    if receipt is not None and receipt[2] == "staged":
        modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(tzinfo=None)
        if modified < receipt[0]:
            return receipt[1]
    return None


def _delivery_dirs(source_dir: Path, as_of: dt.date, refused: list[str]) -> list[tuple[dt.date, Path]]:
    found = []
    for entry in sorted(source_dir.iterdir()):
        if entry.is_symlink() or not entry.is_dir():
            refused.append(f"{source_dir.name}/{entry.name}")
            continue
        try:
            day = dt.date.fromisoformat(entry.name)
        except ValueError:
            refused.append(f"{source_dir.name}/{entry.name}")
            continue
        if day <= as_of:
            found.append((day, entry))
    return found


def _safe_files(folder: Path, pattern: str, refused: list[str]) -> list[Path]:
    files = []
    for path in sorted(folder.glob(pattern)):
        if path.is_symlink() or not path.is_file() or not is_safe_name(path.name):
            refused.append(f"{folder.parent.name}/{folder.name}/{path.name}")
            continue
        if path.resolve().parent != folder.resolve():
            refused.append(f"{folder.parent.name}/{folder.name}/{path.name}")
            continue
        files.append(path)
    return files


def _received(path: Path, folder: Path) -> tuple[Path, str]:
    """The delivery copied into `folder` under a temporary name, and its sha256: the delivery is read once,
    hashed as it is copied (it is usually new; a copy of content already staged is dropped by the caller)."""
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{path.name}.part"
    temp.unlink(missing_ok=True)  # left by a run that stopped mid-copy (possibly already read-only)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as source, temp.open("wb") as copy:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
                copy.write(block)
            copy.flush()
            os.fsync(copy.fileno())
    except BaseException:
        _dropped(temp)  # a failed copy (disk full, unreadable delivery) leaves nothing behind
        raise
    return temp, digest.hexdigest()


def _dropped(temp: Path) -> None:
    """Remove a received copy that is not needed, and its date folder if that is left empty."""
    temp.unlink(missing_ok=True)
    try:
        temp.parent.rmdir()
    except OSError:
        pass  # other raw files of that delivery date


def _kept(temp: Path, name: str, digest: str) -> Path:
    """The received copy made the immutable raw file `name` (beside it); when another content already has that
    name (a corrected re-delivery) it is kept as `<stem>.<sha256 prefix><suffix>`: raw is never overwritten."""
    target = temp.with_name(name)
    if target.exists() and sha256_of(target) != digest:
        target = target.with_name(f"{target.stem}.{digest[:12]}{target.suffix}")
    if target.exists():
        temp.unlink()  # the same bytes are already in raw (a retried file)
        return target
    os.chmod(temp, 0o444)  # raw files are never modified
    os.replace(temp, target)
    fsync_dir(target.parent)  # the rename is durable before the manifest row names the file
    fsync_dir(target.parent.parent)  # (and the date folder, when this run created it)
    return target


def _landed(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    temp: Path,
    digest: str,
    source: str,
    day: dt.date,
    data_dir: Path,
    role: str,
    known: dict[str, str],
    run_id: str,
    received_at: dt.datetime,
) -> LandedFile:
    """Keep one received delivery file in raw and record it in the manifest (once per content)."""
    target = _kept(temp, path.name, digest)
    landed = LandedFile(
        source, day, path.name, str(target.relative_to(data_dir)), digest, path.stat().st_size, role
    )
    if digest not in known:
        con.execute(
            "INSERT INTO raw_manifest VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, 'landed', NULL)",
            [source, day, path.name, landed.raw_path, digest, landed.bytes, received_at, run_id],
        )
        known[digest] = "landed"
    return landed


def landed_deliveries(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    landing_dir: Path,
    data_dir: Path,
    as_of: dt.date,
    run_id: str,
    received_at: dt.datetime,
) -> Landing:
    """Copy this source's new deliveries (dated on or before `as_of`) into raw; list what needs staging.

    A main file already staged (same sha256, any name) is skipped. Companion files of a multi-file export
    are landed with each new main file of their delivery folder.
    """
    refused: list[str] = []
    source_dir = landing_dir / config.source
    if not is_safe_name(config.source) or not source_dir.is_dir() or source_dir.is_symlink():
        return Landing([], 0, refused, _last_delivery(con, config.source))
    known = dict(
        con.execute(
            "SELECT sha256, status FROM raw_manifest WHERE source = ? ORDER BY received_at",
            [config.source],
        ).fetchall()
    )
    receipts = _receipts(con, config.source)
    to_stage: list[LandedFile] = []
    seen: set[str] = set()
    skipped = 0
    for day, folder in _delivery_dirs(source_dir, as_of, refused):
        mains = _safe_files(folder, config.format.glob, refused)
        companions = [p for j in config.joins for p in _safe_files(folder, j.glob, refused) if p not in mains]
        raw = data_dir / "raw" / config.source / day.isoformat()
        new_mains = []
        for path in mains:
            if known.get(_known_digest(path, day, receipts)) == "staged":
                skipped += 1  # the file staged earlier under this name, unchanged: not read again
                continue
            temp, digest = _received(path, raw)
            if known.get(digest) == "staged" or digest in seen:
                _dropped(temp)
                skipped += 1  # same content delivered again (any name): nothing new
                continue
            seen.add(digest)
            new_mains.append(
                _landed(
                    con, path, temp, digest, config.source, day, data_dir, "main", known, run_id, received_at
                )
            )
        if not new_mains:
            continue
        to_stage.extend(new_mains)
        for path in dict.fromkeys(companions):
            temp, digest = _received(path, raw)
            to_stage.append(
                _landed(
                    con,
                    path,
                    temp,
                    digest,
                    config.source,
                    day,
                    data_dir,
                    "companion",
                    known,
                    run_id,
                    received_at,
                )
            )
    return Landing(to_stage, skipped, refused, _last_delivery(con, config.source))


def _last_delivery(con: duckdb.DuckDBPyConnection, source: str) -> dt.date | None:
    rows = con.execute("SELECT max(delivery_date) FROM raw_manifest WHERE source = ?", [source]).fetchall()
    return rows[0][0] if rows else None
