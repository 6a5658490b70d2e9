"""Raw landing and staging of one source, without Prefect: immutability, idempotence, supersession, refusal."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

import duckdb
import pytest

from leads import landing, pipeline
from leads.db import state_db
from leads.settings import Settings
from leads.sources import SourceConfig

AS_OF = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 27, 6, 0)
HEADER = "DocNumber,RecDate,DocType,TSNumber,APN,AmountDue\n"


@pytest.fixture
def setup(tmp_path: Path, ca_test_source: SourceConfig) -> tuple[Settings, SourceConfig, Path]:
    landing = tmp_path / "landing"
    settings = Settings(data_dir=tmp_path / "data", landing_dir=landing)
    (landing / "ca_test").mkdir(parents=True)
    return settings, ca_test_source, landing / "ca_test"


def _deliver(folder: Path, day: str, name: str, rows: list[str], header: str = HEADER) -> Path:
    path = folder / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "".join(r + "\n" for r in rows))
    return path


def _run(settings: Settings, config: SourceConfig, as_of: dt.date = AS_OF) -> pipeline.SourceOutcome:
    with state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        return pipeline.run_source(con, config, settings, as_of, f"run-{as_of}", NOW)


def _staged(settings: Settings) -> list[tuple]:
    con = duckdb.connect(str(settings.state_db), read_only=True)
    try:
        return con.sql(
            "SELECT record_id, amount_due, delivery_date FROM staged_filings ORDER BY record_id"
        ).fetchall()
    finally:
        con.close()


def test_landing_is_immutable_and_a_rerun_is_a_no_op(setup: tuple[Settings, SourceConfig, Path]) -> None:
    settings, config, folder = setup
    _deliver(folder, "2026-11-26", "a.csv", ["1,2026-11-20,NOD,TS-1,111,$1000"])
    first = _run(settings, config)
    assert (first.status, first.files_landed, first.rows_staged) == ("ok", 1, 1)
    raw = settings.raw_dir / "ca_test" / "2026-11-26" / "a.csv"
    assert raw.exists()
    assert oct(raw.stat().st_mode & 0o777) == "0o444"
    second = _run(settings, config)
    assert (second.status, second.files_landed, second.files_skipped) == ("no_new_files", 0, 1)
    assert _staged(settings) == [("1", 1000.0, dt.date(2026, 11, 26))]


def test_the_same_content_under_another_name_is_skipped(setup: tuple[Settings, SourceConfig, Path]) -> None:
    settings, config, folder = setup
    rows = ["1,2026-11-20,NOD,TS-1,111,$1000"]
    _deliver(folder, "2026-11-26", "a.csv", rows)
    _deliver(folder, "2026-11-27", "renamed.csv", rows)
    outcome = _run(settings, config)
    assert (outcome.files_landed, outcome.files_skipped) == (1, 1)


def test_a_corrected_redelivery_supersedes_by_record_key(setup: tuple[Settings, SourceConfig, Path]) -> None:
    settings, config, folder = setup
    _deliver(
        folder, "2026-11-26", "a.csv", ["1,2026-11-20,NOD,TS-1,111,$1000", "2,2026-11-20,NOD,TS-2,222,$5"]
    )
    _run(settings, config, dt.date(2026, 11, 26))
    _deliver(folder, "2026-11-27", "a.csv", ["1,2026-11-20,NOD,TS-1,111,$1200"])  # amended amount
    _run(settings, config)
    assert _staged(settings) == [("1", 1200.0, dt.date(2026, 11, 27)), ("2", 5.0, dt.date(2026, 11, 26))]
    # both versions stay in raw
    assert len(list((settings.raw_dir / "ca_test").rglob("a.csv"))) == 2


def test_a_late_older_delivery_never_overwrites_a_newer_row(
    setup: tuple[Settings, SourceConfig, Path],
) -> None:
    settings, config, folder = setup
    _deliver(folder, "2026-11-27", "new.csv", ["1,2026-11-20,NOD,TS-1,111,$1200"])
    _run(settings, config)
    _deliver(folder, "2026-11-25", "old.csv", ["1,2026-11-20,NOD,TS-1,111,$1000"])  # arrives late
    _run(settings, config)
    assert _staged(settings) == [("1", 1200.0, dt.date(2026, 11, 27))]


def _run_at(settings: Settings, config: SourceConfig, received_at: dt.datetime) -> pipeline.SourceOutcome:
    with state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        return pipeline.run_source(con, config, settings, AS_OF, f"run-{received_at}", received_at)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def test_an_unchanged_staged_file_is_not_read_again(
    setup: tuple[Settings, SourceConfig, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nightly cost must not grow with the landing folder's history: a file staged earlier, with the same
    name, folder and size and not written since, is known from the manifest."""
    settings, config, folder = setup
    old = _deliver(folder, "2026-11-25", "a.csv", ["1,2026-11-20,NOD,TS-1,111,$1000"])
    _run_at(settings, config, _utc_now() + dt.timedelta(seconds=1))
    new = _deliver(folder, "2026-11-26", "b.csv", ["2,2026-11-21,NOD,TS-2,222,$5"])
    read: list[str] = []
    real = landing._received
    monkeypatch.setattr(
        landing, "_received", lambda path, raw, **kw: read.append(path.name) or real(path, raw, **kw)
    )
    outcome = _run_at(settings, config, _utc_now() + dt.timedelta(seconds=2))
    assert (outcome.files_landed, outcome.files_skipped, outcome.rows_staged) == (1, 1, 1)
    assert old.name not in read and new.name in read


def test_a_file_rewritten_in_place_with_the_same_size_is_read_again(
    setup: tuple[Settings, SourceConfig, Path],
) -> None:
    settings, config, folder = setup
    path = _deliver(folder, "2026-11-26", "a.csv", ["1,2026-11-20,NOD,TS-1,111,$1000"])
    staged_at = _utc_now() + dt.timedelta(seconds=1)
    _run_at(settings, config, staged_at)
    _deliver(folder, "2026-11-26", "a.csv", ["1,2026-11-20,NOD,TS-1,111,$1200"])  # same size, new content
    later = (staged_at + dt.timedelta(seconds=5)).replace(tzinfo=dt.UTC).timestamp()
    os.utime(path, (later, later))  # written after that run began
    outcome = _run_at(settings, config, staged_at + dt.timedelta(seconds=10))
    assert (outcome.status, outcome.files_landed) == ("ok", 1)
    assert _staged(settings) == [("1", 1200.0, dt.date(2026, 11, 26))]


def test_deliveries_after_the_as_of_date_are_not_read(setup: tuple[Settings, SourceConfig, Path]) -> None:
    settings, config, folder = setup
    _deliver(folder, "2026-11-28", "future.csv", ["1,2026-11-28,NOD,TS-1,111,$1"])
    assert _run(settings, config).status == "no_new_files"


@pytest.mark.parametrize("name", ["../escape", "..", "not-a-date", "2026-11-26-extra"])
def test_unexpected_folder_names_are_refused_unread(
    setup: tuple[Settings, SourceConfig, Path], name: str
) -> None:
    settings, config, folder = setup
    target = folder / name
    target.mkdir(parents=True, exist_ok=True)
    (target / "x.csv").write_text(HEADER + "1,2026-11-20,NOD,TS-1,111,$1\n")
    outcome = _run(settings, config)
    assert outcome.files_landed == 0
    if target.resolve().parent == folder.resolve():
        assert any("refused" in w for w in outcome.warnings)


def test_symlinked_files_and_folders_are_refused(
    setup: tuple[Settings, SourceConfig, Path], tmp_path: Path
) -> None:
    settings, config, folder = setup
    secret = tmp_path / "outside.csv"
    secret.write_text(HEADER + "9,2026-11-20,NOD,TS-9,999,$9\n")
    (folder / "2026-11-26").mkdir()
    (folder / "2026-11-26" / "link.csv").symlink_to(secret)
    outside_dir = tmp_path / "outside_dir"
    outside_dir.mkdir()
    (outside_dir / "y.csv").write_text(HEADER + "8,2026-11-20,NOD,TS-8,888,$8\n")
    (folder / "2026-11-25").symlink_to(outside_dir, target_is_directory=True)
    outcome = _run(settings, config)
    assert outcome.files_landed == 0
    assert _staged(settings) == []
    assert any("2 unsafe" in w for w in outcome.warnings)


def test_a_shrunk_delivery_and_extra_columns_are_warnings(setup: tuple[Settings, SourceConfig, Path]) -> None:
    settings, config, folder = setup
    for day in range(20, 25):
        rows = [f"{day}{i},2026-11-{day},NOD,TS-{day}{i},{i},$1" for i in range(50)]
        _deliver(folder, f"2026-11-{day}", f"d{day}.csv", rows)
    assert _run(settings, config, dt.date(2026, 11, 24)).warnings == []
    _deliver(
        folder, "2026-11-25", "d25.csv", ["x1,2026-11-25,NOD,TS-x,1,$1,surprise"], HEADER.strip() + ",Extra\n"
    )
    outcome = _run(settings, config, dt.date(2026, 11, 25))
    assert outcome.status == "ok"
    assert any("far below the recent median of 50" in w for w in outcome.warnings)
    assert any("unexpected column(s) ['Extra']" in w for w in outcome.warnings)


def test_a_stale_source_is_a_warning(setup: tuple[Settings, SourceConfig, Path]) -> None:
    settings, config, folder = setup
    _deliver(folder, "2026-11-01", "a.csv", ["1,2026-10-30,NOD,TS-1,111,$1"])
    outcome = _run(settings, config)
    assert outcome.freshness_days == 26
    assert any(w.startswith("stale: last delivery 26 days ago") for w in outcome.warnings)


def test_reject_rate_over_threshold_fails_the_source_and_retries_next_run(
    setup: tuple[Settings, SourceConfig, Path],
) -> None:
    settings, config, folder = setup
    _deliver(folder, "2026-11-26", "bad.csv", ["1,2026-02-30,NOD,TS-1,111,$1", "2,2026-11-20,NOD,TS-2,2,$1"])
    outcome = _run(settings, config)
    assert outcome.status == "failed"
    assert "1 of 2 rows rejected" in outcome.message
    assert _staged(settings) == []
    # nothing was staged; the failed file is retried (not skipped) on the next run
    again = _run(settings, config)
    assert (again.status, again.files_landed) == ("failed", 1)


def test_a_copy_left_by_a_stopped_run_is_replaced_not_appended_to(
    setup: tuple[Settings, SourceConfig, Path],
) -> None:
    """A run stopped mid-copy leaves `.<name>.part` (maybe already read-only) beside the raw file; the next run
    copies the delivery afresh, and the raw file is exactly the delivery."""
    settings, config, folder = setup
    path = _deliver(folder, "2026-11-26", "a.csv", ["1,2026-11-20,NOD,TS-1,111,$1000"])
    raw_folder = settings.raw_dir / "ca_test" / "2026-11-26"
    raw_folder.mkdir(parents=True)
    left = raw_folder / ".a.csv.part"
    left.write_bytes(b"half a copy from a stopped run\n")
    os.chmod(left, 0o444)

    outcome = _run(settings, config)

    assert (outcome.status, outcome.files_landed, outcome.rows_staged) == ("ok", 1, 1)
    assert (raw_folder / "a.csv").read_bytes() == path.read_bytes()
    assert not left.exists()
    assert landing.sha256_of(raw_folder / "a.csv") == landing.sha256_of(path)


def test_content_already_staged_under_another_name_leaves_no_copy(
    setup: tuple[Settings, SourceConfig, Path],
) -> None:
    """The delivery is hashed while it is copied; a copy of content already staged is removed again."""
    settings, config, folder = setup
    _deliver(folder, "2026-11-25", "a.csv", ["1,2026-11-20,NOD,TS-1,111,$1000"])
    _run(settings, config)
    _deliver(folder, "2026-11-26", "renamed.csv", ["1,2026-11-20,NOD,TS-1,111,$1000"])

    outcome = _run(settings, config)

    assert (outcome.status, outcome.files_landed, outcome.files_skipped) == ("no_new_files", 0, 2)
    assert sorted(p.name for p in (settings.raw_dir / "ca_test").rglob("*")) == ["2026-11-25", "a.csv"]


def test_a_copy_that_fails_midway_leaves_nothing_in_raw(
    setup: tuple[Settings, SourceConfig, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disk full while copying a delivery into raw: the error reaches the run (which fails loudly), and no
    half copy or empty date folder is left behind; the next run lands the file."""
    settings, config, folder = setup
    _deliver(folder, "2026-11-26", "a.csv", ["1,2026-11-20,NOD,TS-1,111,$1000"])
    real_fsync = os.fsync

    def disk_full(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(settings.raw_dir)):  # the copies into raw only
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(landing.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        _run(settings, config)
    monkeypatch.setattr(landing.os, "fsync", real_fsync)

    assert list((settings.raw_dir / "ca_test").iterdir()) == []
    outcome = _run(settings, config)
    assert (outcome.status, outcome.files_landed, outcome.rows_staged) == ("ok", 1, 1)


def _run_ahead(
    settings: Settings, config: SourceConfig, received_at: dt.datetime
) -> tuple[pipeline.SourceOutcome, int]:
    """A run whose new delivery files were queued for copying before the source lands (as the flow does)."""
    with landing.Receiver() as receiver, state_db(settings) as con:
        pipeline.ensure_staged_tables(con)
        queued = pipeline.receive_ahead(con, [config], settings, AS_OF, receiver)
        run_id = f"run-{received_at}"
        return pipeline.run_source(con, config, settings, AS_OF, run_id, received_at, receiver), queued


def test_files_copied_ahead_land_once_and_as_if_copied_on_arrival(
    setup: tuple[Settings, SourceConfig, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow copies the new delivery files of the sources still to come while earlier sources stage: each
    new file is copied once (on the receiving thread), lands with its own digest, and a file staged earlier
    under its name is not queued again."""
    settings, config, folder = setup
    old = _deliver(folder, "2026-11-25", "a.csv", ["1,2026-11-20,NOD,TS-1,111,$1000"])
    _run_at(settings, config, _utc_now() + dt.timedelta(seconds=1))
    new = [
        _deliver(folder, "2026-11-26", "b.csv", ["2,2026-11-21,NOD,TS-2,222,$5"]),
        _deliver(folder, "2026-11-27", "c.csv", ["3,2026-11-22,NOD,TS-3,333,$7"]),
    ]
    copies: list[tuple[str, str]] = []
    real = landing._received

    def spy(path: Path, raw: Path, **kw: bool) -> landing.Received:
        copies.append((path.name, threading.current_thread().name))
        return real(path, raw, **kw)

    monkeypatch.setattr(landing, "_received", spy)
    outcome, queued = _run_ahead(settings, config, _utc_now() + dt.timedelta(seconds=2))

    assert queued == 2 and (outcome.status, outcome.files_landed, outcome.rows_staged) == ("ok", 2, 2)
    assert sorted(name for name, _ in copies) == ["b.csv", "c.csv"]
    assert all(thread.startswith("receive") for _, thread in copies)
    raw = settings.raw_dir / "ca_test"
    assert sorted(p.name for p in raw.rglob("*") if p.is_file()) == ["a.csv", "b.csv", "c.csv"]
    for path in [old, *new]:
        assert landing.sha256_of(raw / path.parent.name / path.name) == landing.sha256_of(path)
    assert [r[0] for r in _staged(settings)] == ["1", "2", "3"]


def test_copies_nobody_landed_are_removed_and_a_failed_copy_raises_when_landed(tmp_path: Path) -> None:
    delivery = tmp_path / "landing" / "a.csv"
    delivery.parent.mkdir()
    delivery.write_text("payload\n")
    raw = tmp_path / "raw" / "2026-11-26"
    missing = tmp_path / "landing" / "missing.csv"
    with landing.Receiver() as receiver:
        receiver.ahead(delivery, raw)
        receiver.ahead(missing, raw)
        with pytest.raises(FileNotFoundError):
            receiver.received(missing, raw)
        with pytest.raises(FileNotFoundError):  # a retry copies afresh (and fails the same way here)
            receiver.received(missing, raw)
    assert not raw.exists()  # the unclaimed copy is gone, and the date folder it made

    with landing.Receiver() as receiver:
        receiver.ahead(delivery, raw)
        copy = receiver.received(delivery, raw)
    assert copy.temp.read_bytes() == b"payload\n" and copy.digest == landing.sha256_of(delivery)
    assert copy.size == len(b"payload\n")


def test_a_date_folder_is_removed_only_when_the_receiver_is_done(tmp_path: Path) -> None:
    """Dropping a copy (content already staged) must not remove the date folder while the copying thread may
    be about to write the next file of that folder into it; the folder goes at exit if it is left empty."""
    landing_dir, raw = tmp_path / "landing", tmp_path / "raw" / "2026-11-26"
    landing_dir.mkdir()
    first, second = landing_dir / "a.csv", landing_dir / "b.csv"
    first.write_text("a\n")
    second.write_text("b\n")
    with landing.Receiver() as receiver:
        receiver.ahead(first, raw)
        receiver.ahead(second, raw)
        receiver.dropped(receiver.received(first, raw).temp)
        assert raw.is_dir()
        receiver.dropped(receiver.received(second, raw).temp)
        assert raw.is_dir()
    assert not raw.exists()


def test_a_delivery_written_after_it_was_queued_is_copied_again(tmp_path: Path) -> None:
    delivery = tmp_path / "landing" / "a.csv"
    delivery.parent.mkdir()
    delivery.write_text("first version\n")
    raw = tmp_path / "raw" / "2026-11-26"
    with landing.Receiver() as receiver:
        receiver.ahead(delivery, raw)
        receiver._queued[(str(delivery), str(raw))].result()  # the early copy is made
        delivery.write_text("second, longer version\n")
        copy = receiver.received(delivery, raw)
        assert copy.temp.read_text() == "second, longer version\n"
        assert copy.digest == landing.sha256_of(delivery) and copy.size == delivery.stat().st_size
