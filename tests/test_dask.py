"""Scale-out: the Dask refresh on a local cluster of 2 worker processes publishes what the single-process
refresh publishes.

The real thing: a real Prefect server on loopback (Dask worker processes cannot reach the temporary one), the
two refreshes as `leads refresh --dask` and `leads refresh` subprocesses on two data dirs, then the published
tables compared. Everything the test starts is stopped, and no process that carries the test's folder in its
environment (the server, the refreshes, the Dask workers) is left behind. The split staging path (land here,
prepare into Parquet elsewhere, commit here) is also checked in-process under the session's test harness, with
a failing source.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import psutil
import pytest
from polars.testing import assert_frame_equal

from flows.serve import _start_server, _stop

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "deliveries"
AS_OF = "2026-11-27"
# published tables compared between the two runs (run_id differs by design)
COMPARED = ["leads", "lead_filings", "quarantine", "run_sources"]
REFRESH_TIMEOUT_SECONDS = 240


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _refresh(env: dict[str, str], *options: str) -> tuple[float, str, dict[int, str]]:
    """Run `leads refresh` in its own session; (seconds, output, command line of each process it started)."""
    started = time.perf_counter()
    log = Path(env["LEADS_DATA_DIR"]).with_suffix(".log")
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "leads.cli", "refresh", "--as-of", AS_OF, "--quiet", *options],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: the Dask workers included
        )
        children: dict[int, str] = {}
        try:
            while proc.poll() is None:
                for child in _descendants(proc.pid):
                    try:  # read again each time: a child seen between fork and exec shows its parent's
                        children[child.pid] = " ".join(child.cmdline())
                    except psutil.Error:
                        continue
                assert time.perf_counter() - started < REFRESH_TIMEOUT_SECONDS, "refresh timed out"
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    output = log.read_text()
    assert proc.returncode == 0, output[-3000:]
    return time.perf_counter() - started, output, children


def _published(data_dir: Path, table: str) -> pl.DataFrame:
    con = duckdb.connect(str(data_dir / "warehouse" / "leads.duckdb"), read_only=True)
    try:
        frame = con.sql(f"SELECT * FROM {table}").pl()  # noqa: S608 (a constant table name)
    finally:
        con.close()
    frame = frame.drop([c for c in frame.columns if c == "run_id"])
    return frame.sort(frame.columns)


def _no_scratch(data_dir: Path) -> bool:
    scratch = data_dir / "state" / "prepared"
    return not scratch.exists() or not any(scratch.iterdir())


def _leftovers(marker: str) -> list[psutil.Process]:
    """Live processes (other than this one) whose environment mentions the test's folder."""
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if any(marker in value for value in proc.environ().values()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _stopped_leftovers(marker: str) -> list[str]:
    """Wait up to 30 s for the test's processes to end; kill any still running and name them."""
    deadline = time.monotonic() + 30
    while (left := _leftovers(marker)) and time.monotonic() < deadline:
        time.sleep(0.5)
    named = []
    for proc in left:
        try:
            named.append(" ".join(proc.cmdline()))
            proc.kill()
        except psutil.Error:
            continue
    return named


def test_dask_refresh_publishes_what_the_single_process_refresh_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = str(tmp_path)
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE, landing)
    # the server inherits this environment: its database under the test's folder, no UI to build
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    monkeypatch.setenv("PREFECT_SERVER_UI_ENABLED", "false")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    try:
        server, api = _start_server("127.0.0.1", _free_port())
        try:
            env = {
                **os.environ,
                "PREFECT_API_URL": api,
                "PREFECT_LOGGING_LEVEL": "INFO",
                "LEADS_LANDING_DIR": str(landing),
                "LEADS_ENVIRONMENT": "test",
                "LEADS_DASK_ADDRESS": "",
                "LEADS_DASK_WORKERS": "2",
            }
            dask_seconds, dask_log, dask_children = _refresh(
                {**env, "LEADS_DATA_DIR": marker + "/dask"}, "--dask"
            )
            single_seconds, _, _ = _refresh({**env, "LEADS_DATA_DIR": marker + "/single"})
        finally:
            _stop(server)
        print(f"dask refresh {dask_seconds:.1f} s, single-process refresh {single_seconds:.1f} s")

        # the prepare steps ran as tasks on a local cluster of 2 worker processes
        assert dask_log.count("Task run 'prepare-source") >= 8, dask_log[-3000:]
        workers = [c for c in dask_children.values() if "spawn_main" in c or "forkserver" in c]
        assert len(workers) >= 2, dask_children
        assert _no_scratch(tmp_path / "dask")  # the prepared Parquet files are removed after the commits

        for table in COMPARED:
            dask, single = _published(tmp_path / "dask", table), _published(tmp_path / "single", table)
            assert single.height > 0 or table == "quarantine"
            assert_frame_equal(dask, single, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
        assert _published(tmp_path / "dask", "quarantine").height > 0
    finally:
        left = _stopped_leftovers(marker)
    assert not left, left


def test_split_staging_equals_in_process_staging_with_a_failed_source(
    prefect_harness: None, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Dask flow's steps with a thread instead of a cluster (one, as a Dask worker runs one task at a
    time)."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.nightly import nightly_refresh
    from flows.scale_out import nightly_refresh_dask

    as_of = dt.date.fromisoformat(AS_OF)
    for path in (Path(os.environ["LEADS_LANDING_DIR"]) / "ca_riverside").rglob("*.csv"):
        path.write_text(path.read_text().replace("RecDate", "RecordingDate", 1))  # schema drift: fails
    single = nightly_refresh(as_of=as_of, return_state=True).result()
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path / "split"))
    leftover = tmp_path / "split" / "state" / "prepared" / "crashed-run" / "tx_harris" / "staged.parquet"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"a crashed run's scratch file")
    runner = ThreadPoolTaskRunner(max_workers=1)
    split = nightly_refresh_dask.with_options(task_runner=runner)(as_of=as_of, return_state=True).result()

    assert single["status"] == split["status"] == "partial"
    assert split["failed_sources"] == ["ca_riverside"]
    for key in ("sources", "warnings", "stage_counts", "message"):
        assert split[key] == single[key], key
    for table in COMPARED:
        assert_frame_equal(_published(tmp_path / "split", table), _published(data_dir, table))
    manifest = "SELECT source, file_name, status, rows, message FROM raw_manifest ORDER BY ALL"
    assert _state(tmp_path / "split", manifest) == _state(data_dir, manifest)
    assert _no_scratch(tmp_path / "split")  # this run's files and the crashed run's


def _state(data_dir: Path, query: str) -> list[tuple]:
    con = duckdb.connect(str(data_dir / "state" / "pipeline.duckdb"), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_dask_refresh_refuses_to_run_without_a_real_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {"LEADS_DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path / "prefect")}
    run = subprocess.run(
        [sys.executable, "-m", "leads.cli", "refresh", "--dask"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "--dask needs a real Prefect server" in run.stderr
    assert not (tmp_path / "data" / "warehouse").exists()
