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
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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


@dataclass(frozen=True)
class Received:
    """A delivery copied into raw under a temporary name; its sha256 and size are those of the copy."""

    temp: Path
    digest: str
    size: int


def _received(path: Path, folder: Path, drop_folder: bool = True) -> Received:
    """The delivery copied into `folder` under a temporary name, with its sha256: the delivery is read once,
    hashed as it is copied (it is usually new; a copy of content already staged is dropped by the caller).
    `drop_folder`: a failed copy also removes the date folder when that is left empty."""
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{path.name}.part"
    temp.unlink(missing_ok=True)  # left by a run that stopped mid-copy (possibly already read-only)
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as source, temp.open("wb") as copy:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
                copy.write(block)
                size += len(block)
            copy.flush()
            os.fsync(copy.fileno())
    except BaseException:
        _dropped(temp, drop_folder)  # a failed copy (disk full, unreadable delivery) leaves nothing behind
        raise
    return Received(temp, digest.hexdigest(), size)


def _dropped(temp: Path, drop_folder: bool = True) -> None:
    """Remove a received copy that is not needed, and its date folder if that is left empty."""
    temp.unlink(missing_ok=True)
    if drop_folder:
        try:
            temp.parent.rmdir()
        except OSError:
            pass  # other raw files of that delivery date


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


class Receiver:
    """Copies deliveries into raw ahead of their landing, one file at a time on a background thread, so the
    disk work of the sources still to come overlaps the staging (CPU work) of the current one.

    `ahead` queues a copy; `received` hands it over (waiting for it, and raising its error, e.g. a full disk),
    copies again when the delivery was written after it was queued, or copies now when none was queued.
    While a Receiver is open, date folders are removed only at its exit (when left empty): the copying thread
    may be about to write into one. The copies are the same `.part` temporaries landing makes without it: a
    run that is killed leaves them to be removed by the next copy of the same file. Use as a context manager:
    at exit, queued copies are cancelled and finished copies nobody landed are removed."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="receive")
        self._queued: dict[tuple[str, str], Future[tuple[tuple[int, int], Received]]] = {}
        self._folders: set[Path] = set()  # date folders this receiver's copies may have created

    def ahead(self, path: Path, folder: Path) -> None:
        key = (str(path), str(folder))
        if key not in self._queued:
            self._folders.add(folder)
            self._queued[key] = self._pool.submit(self._copied, path, folder)

    @staticmethod
    def _copied(path: Path, folder: Path) -> tuple[tuple[int, int], Received]:
        before = _signature(path)
        return before, _received(path, folder, drop_folder=False)

    def received(self, path: Path, folder: Path) -> Received:
        key = (str(path), str(folder))
        queued = self._queued.get(key)
        self._folders.add(folder)
        if queued is None:
            return _received(path, folder, drop_folder=False)
        try:
            before, copy = queued.result()  # (an interrupted wait leaves the copy to the exit)
        except Exception:
            del self._queued[key]  # the failed copy removed itself: a retry copies afresh
            raise
        del self._queued[key]
        if _signature(path) != before:  # written since it was queued: take what is there now
            self.dropped(copy.temp)
            return _received(path, folder, drop_folder=False)
        return copy

    def dropped(self, temp: Path) -> None:
        temp.unlink(missing_ok=True)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        for queued in self._queued.values():
            queued.cancel()
        self._pool.shutdown(wait=True)
        for queued in self._queued.values():
            if not queued.cancelled() and queued.exception() is None:
                self.dropped(queued.result()[1].temp)
        self._queued.clear()
        for folder in self._folders:
            try:
                folder.rmdir()  # only when every copy in it was dropped
            except OSError:
                pass


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
    copy: Received,
    source: str,
    day: dt.date,
    data_dir: Path,
    role: str,
    known: dict[str, str],
    run_id: str,
    received_at: dt.datetime,
) -> LandedFile:
    """Keep one received delivery file in raw and record it in the manifest (once per content)."""
    digest = copy.digest
    target = _kept(copy.temp, path.name, digest)
    landed = LandedFile(source, day, path.name, str(target.relative_to(data_dir)), digest, copy.size, role)
    if digest not in known:
        con.execute(
            "INSERT INTO raw_manifest VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, 'landed', NULL)",
            [source, day, path.name, landed.raw_path, digest, landed.bytes, received_at, run_id],
        )
        known[digest] = "landed"
    return landed


@dataclass(frozen=True)
class _Delivery:
    """One delivery folder of a source: its main files and the companion files of a multi-file export."""

    day: dt.date
    raw: Path  # where its files land: data/raw/<source>/<date>/
    mains: list[Path]
    companions: list[Path]


def _deliveries(
    config: SourceConfig, source_dir: Path, data_dir: Path, as_of: dt.date, refused: list[str]
) -> Iterator[_Delivery]:
    """The source's delivery folders dated on or before as_of, oldest first (unsafe names go to `refused`)."""
    for day, folder in _delivery_dirs(source_dir, as_of, refused):
        mains = _safe_files(folder, config.format.glob, refused)
        companions = [p for j in config.joins for p in _safe_files(folder, j.glob, refused) if p not in mains]
        yield _Delivery(
            day, data_dir / "raw" / config.source / day.isoformat(), mains, list(dict.fromkeys(companions))
        )


def _source_dir(config: SourceConfig, landing_dir: Path) -> Path | None:
    source_dir = landing_dir / config.source
    if not is_safe_name(config.source) or not source_dir.is_dir() or source_dir.is_symlink():
        return None
    return source_dir


def files_to_receive(
    con: duckdb.DuckDBPyConnection, config: SourceConfig, landing_dir: Path, data_dir: Path, as_of: dt.date
) -> list[tuple[Path, Path]]:
    """(delivery file, raw folder) of each file `landed_deliveries` will copy, as far as the manifest tells
    now: the main files not known as staged under their name, and the companions of their folders."""
    source_dir = _source_dir(config, landing_dir)
    if source_dir is None:
        return []
    receipts = _receipts(con, config.source)
    wanted: list[tuple[Path, Path]] = []
    for delivery in _deliveries(config, source_dir, data_dir, as_of, []):
        new = [p for p in delivery.mains if _known_digest(p, delivery.day, receipts) is None]
        if new:
            wanted += [(p, delivery.raw) for p in [*new, *delivery.companions]]
    return wanted


def landed_deliveries(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    landing_dir: Path,
    data_dir: Path,
    as_of: dt.date,
    run_id: str,
    received_at: dt.datetime,
    receiver: Receiver | None = None,
) -> Landing:
    """Copy this source's new deliveries (dated on or before `as_of`) into raw; list what needs staging.

    A main file already staged (same sha256, any name) is skipped. Companion files of a multi-file export
    are landed with each new main file of their delivery folder. `receiver`: copies made ahead (or not).
    """
    refused: list[str] = []
    source_dir = _source_dir(config, landing_dir)
    if source_dir is None:
        return Landing([], 0, refused, _last_delivery(con, config.source))
    receive = _received if receiver is None else receiver.received
    drop = _dropped if receiver is None else receiver.dropped
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

    def landed(path: Path, delivery: _Delivery, copy: Received, role: str) -> LandedFile:
        return _landed(
            con, path, copy, config.source, delivery.day, data_dir, role, known, run_id, received_at
        )

    for delivery in _deliveries(config, source_dir, data_dir, as_of, refused):
        new_mains = []
        for path in delivery.mains:
            if known.get(_known_digest(path, delivery.day, receipts)) == "staged":
                skipped += 1  # the file staged earlier under this name, unchanged: not read again
                continue
            copy = receive(path, delivery.raw)
            if known.get(copy.digest) == "staged" or copy.digest in seen:
                drop(copy.temp)
                skipped += 1  # same content delivered again (any name): nothing new
                continue
            seen.add(copy.digest)
            new_mains.append(landed(path, delivery, copy, "main"))
        if not new_mains:
            continue
        to_stage.extend(new_mains)
        for path in delivery.companions:
            to_stage.append(landed(path, delivery, receive(path, delivery.raw), "companion"))
    return Landing(to_stage, skipped, refused, _last_delivery(con, config.source))


def _last_delivery(con: duckdb.DuckDBPyConnection, source: str) -> dt.date | None:
    rows = con.execute("SELECT max(delivery_date) FROM raw_manifest WHERE source = ?", [source]).fetchall()
    return rows[0][0] if rows else None
