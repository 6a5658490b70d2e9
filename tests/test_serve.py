"""The slower integration test: a real Prefect server on loopback serving the nightly deployment.

Starts `python -m flows.serve` (server + runner), triggers the deployment, sees the run complete and the
published table appear, then stops everything it started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _deployment_ready(api: str) -> bool:
    request = urllib.request.Request(
        f"{api}/deployments/filter", data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return any(d["name"] == "nightly" for d in json.loads(response.read()))
    except OSError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_served_deployment_runs_and_publishes(tmp_path: Path) -> None:
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "LEADS_DATA_DIR": str(tmp_path / "data"),
        "LEADS_SERVER_PORT": str(port),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(
        [sys.executable, "-m", "flows.serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not _deployment_ready(api):
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "deployment never registered"
            time.sleep(1)
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "prefect",
                "deployment",
                "run",
                "nightly-refresh/nightly",
                "--param",
                "as_of=2026-11-27",
                "--watch",
                "--watch-timeout",
                "240",
            ],
            cwd=ROOT,
            env={**env, "PREFECT_API_URL": api},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        assert "Completed" in run.stdout
        con = duckdb.connect(str(tmp_path / "data" / "warehouse" / "leads.duckdb"), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM leads").fetchall()[0][0] > 0
            assert con.execute("SELECT status FROM runs").fetchall() == [("published",)]
        finally:
            con.close()
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
            try:
                serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
        log.close()
    # the server the runner started is gone too
    deadline = time.monotonic() + 30
    while _port_open(port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _port_open(port)
