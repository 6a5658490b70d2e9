"""`make serve`: a local Prefect server on loopback plus a runner serving the nightly deployment on its schedule.

Without PREFECT_API_URL, starts `prefect server start` on LEADS_SERVER_HOST:LEADS_SERVER_PORT (127.0.0.1:4200)
with its database under <data dir>/.prefect, so deployments and schedules survive restarts; schedules are not
paused on shutdown. With PREFECT_API_URL set, serves against that server instead. Ctrl-C stops both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from leads.settings import configure_prefect_defaults, get_settings

STARTUP_TIMEOUT_SECONDS = 120


def _wait_healthy(api_url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"error: the Prefect server exited with code {server.returncode} while starting")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"error: the Prefect server did not answer on {api_url} within {timeout:.0f} s")


def _start_server(host: str, port: int) -> tuple[subprocess.Popen, str]:
    api_url = f"http://{host}:{port}/api"
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]
    server = subprocess.Popen(command, start_new_session=True)  # its own process group: stopped as one
    _wait_healthy(api_url, server, STARTUP_TIMEOUT_SECONDS)
    return server, api_url


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)  # runs the `finally` below, so the server is stopped too


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    settings = get_settings()
    configure_prefect_defaults(settings)
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        server, api_url = _start_server(settings.server_host, settings.server_port)
        os.environ["PREFECT_API_URL"] = api_url  # before Prefect is imported in this process
        print(f"Prefect server on {api_url.removesuffix('/api')} (UI)", flush=True)
    try:
        from prefect import serve

        from flows.deployment import nightly_deployment

        serve(nightly_deployment(settings), pause_on_shutdown=False)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if server is not None:
            _stop(server)


if __name__ == "__main__":
    main()
