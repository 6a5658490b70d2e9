"""The benchmark: `python -m bench.run [--tiers county,metro,state] [--out data/bench/results.json]`.

Runs the ingest micro-benchmark, then per tier a full refresh into a fresh data dir and an incremental night on
top of it, each in its own subprocess (`bench.worker`); optionally the Prefect flow through the CLI, a cProfile of
one full refresh and the accuracy figures. Writes results.json and results.md and prints the markdown.
See bench/README.md for what every figure means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.tiers import (
    HISTORY_FLAT_RATIO,
    HISTORY_YEARS,
    TIERS,
    Tier,
    cached_marker,
    full_as_of,
    history_variant,
    incremental_as_of,
    spec_json,
    tier_cache,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BENCH_DIR = PROJECT_ROOT / "data" / "bench"
INGEST_TARGET_S = 5.0  # issue 3: "a few seconds" for parse + validate of a 1,000,000-row delivery
TARGETS = {  # issue 8, on the 2-core 24 GB machine
    "generate_state_s": 180.0,
    "full_state_s": 90.0,
    "full_state_peak_gb": 6.0,
    "incremental_state_s": 15.0,
}
PACKAGES = ("polars", "duckdb", "prefect", "pandera", "pyarrow", "numpy")


# ------------------------------------------------------------------------------------------- machine


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=20, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _meminfo_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    status = _git("status", "--porcelain")
    mem = _meminfo_kb("MemTotal")
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": _cpu_model(),
        "ram_gb": round(mem / 1024 / 1024, 1) if mem else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "duckdb_memory_limit": os.environ.get("LEADS_DUCKDB_MEMORY_LIMIT", "4GB (default)"),
        "loadavg_1m_5m_15m": [round(x, 2) for x in os.getloadavg()],
    }


# ------------------------------------------------------------------------------------- subprocess jobs


def _rss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _last_stage(progress: Path) -> str | None:
    try:
        lines = progress.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return json.loads(lines[-1])["stage"] if lines else None


class Runner:
    """Runs each job in a child process; stops it (by its own pid) past the timeout or the RSS ceiling."""

    def __init__(self, jobs_dir: Path, timeout_s: float, max_rss_mb: float, log: bool = True) -> None:
        self.jobs_dir = jobs_dir
        self.timeout_s = timeout_s
        self.max_rss_mb = max_rss_mb
        self.log = log
        jobs_dir.mkdir(parents=True, exist_ok=True)

    def say(self, text: str) -> None:
        if self.log:
            print(f"[bench {dt.datetime.now():%H:%M:%S}] {text}", file=sys.stderr, flush=True)

    def command(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
        """Run any command as a measured child: wall time, exit code, peak RSS (wait4 ru_maxrss)."""
        progress = self.jobs_dir / f"{name}.progress.jsonl"
        progress.unlink(missing_ok=True)
        self.say(f"{name}: start")
        load_start = os.getloadavg()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env)
        stopped = None
        polled_peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            rss = _rss_kb(proc.pid)
            polled_peak = max(polled_peak, rss)
            elapsed = time.perf_counter() - start
            if stopped is None and rss / 1024 > self.max_rss_mb:
                stopped = f"memory: RSS {rss / 1024 / 1024:.1f} GB > ceiling {self.max_rss_mb / 1024:.1f} GB"
                proc.kill()
            elif stopped is None and elapsed > self.timeout_s:
                stopped = f"timeout: still running after {self.timeout_s:.0f} s"
                proc.kill()
            time.sleep(0.2)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out: dict[str, Any] = {
            "process_wall_s": round(wall, 3),
            "exit_code": proc.returncode,
            "ru_maxrss_mb": round(usage.ru_maxrss / 1024, 1),
            "polled_peak_rss_mb": round(polled_peak / 1024, 1),
            # 1-minute load average before and after: above the CPU count, something else competed for the CPUs
            "loadavg_1m": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
        }
        if stopped:
            out["stopped"] = stopped
            out["stopped_in_stage"] = _last_stage(progress)
        self.say(f"{name}: exit {proc.returncode} after {wall:.1f} s" + (f" ({stopped})" if stopped else ""))
        return out

    def job(self, name: str, job: dict[str, Any]) -> dict[str, Any]:
        """Run one bench.worker job; its result JSON merged with the process measurements."""
        job_file = self.jobs_dir / f"{name}.json"
        result_file = self.jobs_dir / f"{name}.result.json"
        result_file.unlink(missing_ok=True)
        job = {**job, "result": str(result_file), "progress": str(self.jobs_dir / f"{name}.progress.jsonl")}
        job_file.write_text(json.dumps(job, indent=2, default=str), encoding="utf-8")
        proc = self.command(name, [sys.executable, "-m", "bench.worker", str(job_file)])
        try:
            result = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            result = {"ok": False, "error": "the job wrote no result (killed or crashed)"}
        result |= proc
        # the worker resets its peak per stage; the whole process's peak is the larger of both readings
        result["peak_rss_mb"] = max(
            result.get("peak_rss_mb") or 0.0, proc["ru_maxrss_mb"], proc["polled_peak_rss_mb"]
        )
        if not result.get("ok"):
            self.say(f"{name}: FAILED: {result.get('stopped') or result.get('error')}")
        return result


# ------------------------------------------------------------------------------------------- the parts


def ensure_tier(runner: Runner, cache_dir: Path, tier: str | Tier, seed: int) -> tuple[Path, dict]:
    """The tier's generated inputs (from the cache when the same spec was generated before)."""
    if isinstance(tier, str):
        tier = TIERS[tier]
    wanted = spec_json(tier.spec(seed))
    folder = tier_cache(cache_dir, tier.name, seed)
    marker = cached_marker(folder, wanted)
    if marker is not None:
        runner.say(f"{tier.name}: inputs cached in {folder}")
        return folder, {
            "cached": True,
            "seconds": marker["seconds"],
            "peak_rss_mb": marker.get("peak_rss_mb"),
            "generated_at": marker.get("generated_at"),
        }
    result = runner.job(
        f"{tier.name}-generate",
        {"job": "generate", "tier": tier.name, "seed": seed, "spec": wanted, "folder": str(folder)},
    )
    if not result.get("ok"):
        raise RuntimeError(f"{tier.name}: generation failed: {result.get('stopped') or result.get('error')}")
    return folder, {
        "cached": False,
        "seconds": result["stages"][0]["seconds"],
        "process_wall_s": result["process_wall_s"],
        "peak_rss_mb": result["peak_rss_mb"],
    }


def run_tier(runner: Runner, bench_dir: Path, tier: str, seed: int, accuracy: bool) -> dict[str, Any]:
    spec = TIERS[tier].spec(seed)
    out: dict[str, Any] = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "spec": spec_json(spec),
        "parcels": spec.parcels_per_county * len(spec.counties),
    }
    try:
        folder, out["generation"] = ensure_tier(runner, bench_dir / "cache", tier, seed)
    except RuntimeError as exc:
        out["error"] = str(exc)
        return out
    marker = cached_marker(folder, out["spec"]) or {}
    out["generated_counts"] = marker.get("counts", {})
    landing = folder / "deliveries"
    data_dir = bench_dir / "runs" / tier
    base = {"job": "refresh", "landing": str(landing), "data_dir": str(data_dir)}
    out["full"] = runner.job(f"{tier}-full", {**base, "mode": "full", "as_of": full_as_of(spec).isoformat()})
    if out["full"].get("ok"):
        out["incremental"] = runner.job(
            f"{tier}-incremental",
            {**base, "mode": "incremental", "as_of": incremental_as_of(spec).isoformat()},
        )
    if accuracy and out.get("incremental", {}).get("ok"):
        out["accuracy"] = runner.job(
            f"{tier}-accuracy",
            {
                "job": "accuracy",
                "landing": str(landing),
                "data_dir": str(data_dir),
                "as_of": incremental_as_of(spec).isoformat(),
            },
        )
    return out


def _night(result: dict) -> dict[str, Any]:
    """The figures of one refresh job the history series keeps."""
    if not result.get("ok"):
        return {"ok": False, "error": result.get("stopped") or result.get("error")}
    stages = {r["stage"]: r["seconds"] for r in result.get("stages", [])}
    counts = (result.get("run") or {}).get("stage_counts", {})
    return {
        "ok": True,
        "pipeline_s": result["pipeline_s"],
        "pipeline_cpu_s": result["pipeline_cpu_s"],
        "peak_rss_mb": result["peak_rss_mb"],
        "loadavg_1m": result.get("loadavg_1m"),
        "build_cases_s": stages.get("build_cases"),
        "build_leads_s": stages.get("build_leads"),
        "publish_s": stages.get("publish"),
        "export_s": stages.get("export"),
        "open_leads": counts.get("actionable"),  # open cases: scored again every night
        "leads_scored": counts.get("leads_scored"),
        "staged_filings": result["outputs"]["state"].get("staged_filings"),
        "cases": result["outputs"]["state"].get("cases"),
        "leads": result["outputs"]["published"].get("leads"),
        "state_db_bytes": result["outputs"]["bytes"]["state_db"],
    }


def _copied_or_linked(source: str, target: str) -> None:
    """Raw files are read-only forever: hard-linked. Everything else the night may change: copied."""
    if f"{os.sep}raw{os.sep}" in source:
        os.link(source, target)
    else:
        shutil.copy2(source, target)


def _incremental_nights(
    runner: Runner, nights: list[tuple[str, dict, Path]], repeats: int
) -> list[tuple[dict[str, Any], list[float | None]]]:
    """Each (name, job, data dir) incremental night `repeats` times, each time from the state its full refresh
    left (a snapshot of the data dir), the nights taking turns (1 y, 2 y, 4 y, 1 y, ...): a spell of other
    load on this shared machine then falls on every history length alike instead of on one, which the ratio
    of the longest to the shortest would read as growth. Per night: the run with the least CPU (the one least
    disturbed), and the CPU seconds of every run."""
    snapshots = [data_dir.with_name(f"{data_dir.name}.after-full") for _, _, data_dir in nights]
    runs: list[list[dict[str, Any]]] = [[] for _ in nights]
    try:
        for (_, _, data_dir), snapshot in zip(nights, snapshots, strict=True):
            shutil.rmtree(snapshot, ignore_errors=True)
            if repeats > 1:
                shutil.copytree(data_dir, snapshot, copy_function=_copied_or_linked)
        for n in range(repeats):
            for (name, job, data_dir), snapshot, done in zip(nights, snapshots, runs, strict=True):
                if n:
                    shutil.rmtree(data_dir)
                    shutil.copytree(snapshot, data_dir, copy_function=_copied_or_linked)
                label = name if repeats == 1 else f"{name}-{n + 1}"
                done.append(_night(runner.job(label, job)))
    finally:
        for snapshot in snapshots:
            shutil.rmtree(snapshot, ignore_errors=True)
    out = []
    for done in runs:
        ok = [night for night in done if night["ok"]]
        best = min(ok, key=lambda night: night["pipeline_cpu_s"]) if ok else done[0]
        out.append((best, [night.get("pipeline_cpu_s") for night in done]))
    return out


def run_history(
    runner: Runner, bench_dir: Path, tier: str, years: tuple[int, ...], seed: int, repeats: int = 5
) -> dict[str, Any]:
    """The incremental night's cost as the filing history grows: TIER's parcels and feeds with 1, 2 and 4 years
    of filings, each a full refresh then one incremental night (same new daily delivery size), run `repeats`
    times from the same state (a 3-5 s night moves by a third with other load on a shared machine), the
    history lengths taking turns."""
    out: dict[str, Any] = {
        "tier": tier,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "flat_ratio": HISTORY_FLAT_RATIO,
        "repeats": repeats,
        "points": [],
    }
    nights: list[tuple[str, dict, Path]] = []
    measured: list[dict[str, Any]] = []
    for count in years:
        variant = history_variant(tier, count)
        spec = variant.spec(seed)
        point: dict[str, Any] = {"years": count, "history_days": spec.history_days}
        out["points"].append(point)
        try:
            folder, _ = ensure_tier(runner, bench_dir / "cache", variant, seed)
        except RuntimeError as exc:
            point["error"] = str(exc)
            continue
        point["filing_rows"] = (
            (cached_marker(folder, spec_json(spec)) or {}).get("counts", {}).get("filing_rows")
        )
        data_dir = bench_dir / "runs" / variant.name
        base = {"job": "refresh", "landing": str(folder / "deliveries"), "data_dir": str(data_dir)}
        full = runner.job(
            f"{variant.name}-full", {**base, "mode": "full", "as_of": full_as_of(spec).isoformat()}
        )
        point["full"] = _night(full)
        if full.get("ok"):
            incremental = {**base, "mode": "incremental", "as_of": incremental_as_of(spec).isoformat()}
            nights.append((f"{variant.name}-incremental", incremental, data_dir))
            measured.append(point)
    for point, (best, cpu_runs) in zip(measured, _incremental_nights(runner, nights, repeats), strict=True):
        point["incremental"], point["incremental_cpu_s_runs"] = best, cpu_runs
    return out


def history_growth(history: dict | None) -> dict[str, Any] | None:
    """Shortest vs longest history of the series: the incremental night's CPU and wall ratios, the filings
    ratio, and whether the CPU ratio is within the flat bound. None unless the shortest and the longest history
    both ran (a series whose longest point failed has no verdict)."""
    points = sorted((history or {}).get("points", []), key=lambda p: p["years"])
    if len(points) < 2:
        return None
    first, last = points[0], points[-1]
    if not all((p.get("incremental") or {}).get("ok") for p in (first, last)):
        return None
    a, b = first["incremental"], last["incremental"]
    if not (a["pipeline_cpu_s"] > 0 and a["pipeline_s"] > 0):
        return None
    cpu = b["pipeline_cpu_s"] / a["pipeline_cpu_s"]
    return {
        "years": (first["years"], last["years"]),
        "filings_ratio": (last.get("filing_rows") or 0) / max(first.get("filing_rows") or 1, 1),
        # the night's necessary work follows the open cases (their leads move every night), not the history
        "open_leads_ratio": (b.get("open_leads") or 0) / max(a.get("open_leads") or 1, 1),
        "cpu_ratio": cpu,
        "wall_ratio": b["pipeline_s"] / a["pipeline_s"],
        "flat": cpu <= history["flat_ratio"],
    }


def history_years(text: str) -> tuple[int, ...]:
    """`--history-years`: distinct whole years ≥ 1, ascending (at least two to compare). Raises ValueError."""
    try:
        years = sorted({int(y) for y in text.split(",") if y.strip()})
    except ValueError:
        raise ValueError(f"--history-years: not whole numbers: {text!r}") from None
    if len(years) < 2 or years[0] < 1:
        raise ValueError(f"--history-years: need at least two years, each at least 1: {text!r}")
    return tuple(years)


def run_ingest(runner: Runner, bench_dir: Path, rows: int, repeats: int, seed: int) -> dict[str, Any]:
    folder = bench_dir / "cache" / f"ingest-fl_hillsborough-{rows}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    result = runner.job(
        "ingest", {"job": "ingest", "rows": rows, "repeats": repeats, "seed": seed, "folder": str(folder)}
    )
    result["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return result


def _flow_timings(state_db: Path) -> list[dict[str, Any]]:
    """`runs.timings` as the flow recorded them, from the state database (the published copy is taken before
    the flow adds its publish and export laps)."""
    import duckdb

    if not state_db.is_file():
        return []
    con = duckdb.connect(str(state_db), read_only=True)
    try:
        rows = con.execute("SELECT run_id, status, timings FROM runs ORDER BY started_at").fetchall()
    finally:
        con.close()
    return [{"run_id": r, "status": s, "timings": json.loads(t) if t else {}} for r, s, t in rows]


def run_cli(runner: Runner, bench_dir: Path, tier: str, seed: int, direct: dict | None) -> dict[str, Any]:
    """The Prefect flow through `leads refresh` (temporary server, tasks, heartbeat) on a fresh data dir:
    the full refresh (cold PREFECT_HOME) then the incremental night (warm). Overhead = CLI wall time minus
    the pipeline time the flow itself recorded in `runs.timings`."""
    folder, _ = ensure_tier(runner, bench_dir / "cache", tier, seed)
    spec = TIERS[tier].spec(seed)
    data_dir = bench_dir / "runs" / f"{tier}-cli"
    shutil.rmtree(data_dir, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADS_")}
    env |= {
        "LEADS_DATA_DIR": str(data_dir),
        "LEADS_LANDING_DIR": str(folder / "deliveries"),
        "PREFECT_HOME": str(data_dir / ".prefect"),
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    leads_bin = Path(sys.executable).with_name("leads")
    argv = [str(leads_bin)] if leads_bin.exists() else [sys.executable, "-m", "leads.cli"]
    out: dict[str, Any] = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tier": tier,
        "prefect_api_url": os.environ.get("PREFECT_API_URL") or "(unset: temporary server)",
    }
    for mode, as_of in (("full", full_as_of(spec)), ("incremental", incremental_as_of(spec))):
        proc = runner.command(
            f"{tier}-cli-{mode}", [*argv, "refresh", "--as-of", as_of.isoformat(), "--quiet"], env=env
        )
        runs = _flow_timings(data_dir / "state" / "pipeline.duckdb")
        flow = runs[-1] if runs else {"timings": {}}
        flow_s = round(sum(flow["timings"].values()), 3)
        entry = {
            **proc,
            "flow_status": flow.get("status"),
            "flow_timings": flow["timings"],
            "flow_pipeline_s": flow_s,
        }
        entry["overhead_s"] = round(proc["process_wall_s"] - flow_s, 3)
        if direct and direct.get(mode, {}).get("ok"):
            entry["direct_pipeline_s"] = direct[mode]["pipeline_s"]
            # the same steps cost more as Prefect tasks (task runs, state updates, the heartbeat)
            entry["in_flow_overhead_s"] = round(flow_s - direct[mode]["pipeline_s"], 3)
            entry["direct_process_wall_s"] = direct[mode]["process_wall_s"]
            entry["cli_minus_direct_process_s"] = round(
                proc["process_wall_s"] - direct[mode]["process_wall_s"], 3
            )
        out[mode] = entry
    return out


def run_profile(runner: Runner, bench_dir: Path, tier: str, seed: int, mode: str) -> dict[str, Any]:
    """TIER's full refresh, then its incremental night, into runs/<tier>-profile; the run(s) named by `mode`
    (full | incremental | both) under cProfile. Results keyed by run: {"full": ..., "incremental": ...}."""
    folder, _ = ensure_tier(runner, bench_dir / "cache", tier, seed)
    spec = TIERS[tier].spec(seed)
    base = {
        "job": "refresh",
        "landing": str(folder / "deliveries"),
        "data_dir": str(bench_dir / "runs" / f"{tier}-profile"),
    }
    out: dict[str, Any] = {"tier": tier, "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    for run_mode, as_of in (("full", full_as_of(spec)), ("incremental", incremental_as_of(spec))):
        if run_mode == "incremental" and mode == "full":
            break
        profiled = mode in (run_mode, "both")
        job = {**base, "mode": run_mode, "as_of": as_of.isoformat()}
        if profiled:
            job["profile"] = str(bench_dir / f"profile-{tier}-{run_mode}.prof")
        result = runner.job(f"{tier}-profile-{run_mode}", job)
        if profiled:
            out[run_mode] = result
        if not result.get("ok"):
            out.setdefault(run_mode, result)
            break
    return out


# --------------------------------------------------------------------------------------------- report


def _fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "–" if value is None else f"{value:,.{digits}f}{suffix}"


def _verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "not run"
    return "ok" if value <= limit else "MISSED"


def _ok(part: dict | None) -> dict | None:
    return part if part and part.get("ok") else None


def target_rows(results: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    ingest = _ok(results.get("ingest"))
    best = ingest["best"] if ingest else {}
    rows.append(
        (
            f"ingest {ingest['rows']:,} rows: parse + validate"
            if ingest
            else "ingest 1M rows: parse + validate",
            f"a few seconds (≤ {INGEST_TARGET_S:.0f} s)",
            f"{_fmt(best.get('parse_validate_s'), 2, ' s')} (parse {_fmt(best.get('parse_s'), 2)} s + validate "
            f"{_fmt(best.get('validate_s'), 2)} s; {_fmt(best.get('parse_validate_rows_per_s'), 0)} rows/s; "
            f"CPU {_fmt(best.get('parse_validate_cpu_s'), 2)} s; load {_load(ingest)})"
            if ingest
            else "–",
            _verdict(best.get("parse_validate_s"), INGEST_TARGET_S),
        )
    )
    state = results.get("tiers", {}).get("state", {})
    gen = state.get("generation", {})
    gen_s = gen.get("seconds")
    rows.append(
        (
            "generator, state tier",
            f"≤ {TARGETS['generate_state_s']:.0f} s",
            _fmt(gen_s, 1, " s") + (" (measured when the cache was made)" if gen.get("cached") else ""),
            _verdict(gen_s, TARGETS["generate_state_s"]),
        )
    )
    full = _ok(state.get("full"))
    full_s = full["pipeline_s"] if full else None
    rows.append(
        (
            "full refresh, state tier",
            f"≤ {TARGETS['full_state_s']:.0f} s",
            _fmt(full_s, 1, " s"),
            _verdict(full_s, TARGETS["full_state_s"]),
        )
    )
    peak = full["peak_rss_mb"] / 1024 if full else None
    rows.append(
        (
            "full refresh, state tier, peak RSS",
            f"≤ {TARGETS['full_state_peak_gb']:.0f} GB",
            _fmt(peak, 2, " GB"),
            _verdict(peak, TARGETS["full_state_peak_gb"]),
        )
    )
    incr = _ok(state.get("incremental"))
    incr_s = incr["pipeline_s"] if incr else None
    rows.append(
        (
            "incremental night, state tier (pipeline work)",
            f"≤ {TARGETS['incremental_state_s']:.0f} s",
            _fmt(incr_s, 1, " s"),
            _verdict(incr_s, TARGETS["incremental_state_s"]),
        )
    )
    history = results.get("history_growth")
    growth = history_growth(history)
    if history:
        rows.append(
            (
                f"incremental night as filing history grows ({history['tier']} tier)",
                f"nearly flat: CPU ≤ {history['flat_ratio']:.2f}× for the longest history",
                f"CPU ×{growth['cpu_ratio']:.2f}, wall ×{growth['wall_ratio']:.2f} from {growth['years'][0]} to "
                f"{growth['years'][1]} years of filings (×{growth['filings_ratio']:.1f} filing rows, "
                f"×{growth['open_leads_ratio']:.1f} open leads)"
                if growth
                else "–",
                ("ok" if growth["flat"] else "MISSED") if growth else "not run",
            )
        )
    cli = results.get("prefect_overhead")
    if cli:
        for mode in ("full", "incremental"):
            entry = cli.get(mode)
            if entry:
                rows.append(
                    (
                        f"Prefect overhead ({cli['tier']} tier, {mode}, via `leads refresh`)",
                        "reported separately",
                        f"{_fmt(entry['overhead_s'], 1, ' s')} outside the flow's steps (CLI "
                        f"{_fmt(entry['process_wall_s'], 1)} s, the flow's steps {_fmt(entry['flow_pipeline_s'], 1)} s"
                        + (
                            f" vs {_fmt(entry['direct_pipeline_s'], 1)} s called directly"
                            if "direct_pipeline_s" in entry
                            else ""
                        )
                        + f", exit {entry['exit_code']})",
                        "–",
                    )
                )
    return rows


def _secs(part: dict | None) -> str:
    if not part:
        return "–"
    cpu = part.get("pipeline_cpu_s")
    return _fmt(part["pipeline_s"]) + (f" ({cpu:,.0f})" if cpu is not None else "")


def _stage_secs(rec: dict) -> str:
    if "seconds" not in rec:
        return "–"
    return _fmt(rec["seconds"], 2) + (f" ({rec['cpu_s']:.1f})" if "cpu_s" in rec else "")


def _load(part: dict | None) -> str:
    load = (part or {}).get("loadavg_1m")
    return f"{load[0]:.1f}→{load[1]:.1f}" if load else "–"


def _rss(rec: dict) -> str:
    if "rss_start_mb" in rec:
        return f"{_fmt(rec.get('rss_start_mb'), 0)} → {_fmt(rec.get('peak_rss_mb'), 0)}"
    return _fmt(rec.get("peak_rss_mb"), 0)


def _stage_names(*parts: dict | None) -> list[str]:
    names: list[str] = []
    for part in parts:
        for rec in (part or {}).get("stages", []):
            if rec["stage"] not in names:
                names.append(rec["stage"])
    return names


def _stage(part: dict | None, name: str) -> dict:
    for rec in (part or {}).get("stages", []):
        if rec["stage"] == name:
            return rec
    return {}


def _history_line(section: str, entry: dict) -> str:
    when = entry.get("measured_at", "?")
    if section == "ingest" and entry.get("ok"):
        return f"ingest ({when}): parse + validate {entry['best']['parse_validate_s']:.2f} s, load {_load(entry)}"
    if section.startswith("tiers."):
        parts = []
        for mode in ("full", "incremental"):
            part = entry.get(mode)
            if part:
                figure = f"{part['pipeline_s']:.1f} s" if part.get("ok") else "failed"
                parts.append(
                    f"{mode} {figure}, peak {part.get('peak_rss_mb', 0) / 1024:.2f} GB, load {_load(part)}"
                )
        return f"{section[6:]} ({when}): " + ("; ".join(parts) or "not run")
    if section == "history_growth":
        growth = history_growth(entry)
        figure = f"incremental CPU ×{growth['cpu_ratio']:.2f}" if growth else "not complete"
        return f"history growth ({when}): {figure}"
    if section == "prefect_overhead":
        parts = [
            f"{m} overhead {entry[m]['overhead_s']:.1f} s" for m in ("full", "incremental") if m in entry
        ]
        return f"Prefect overhead ({when}): " + "; ".join(parts)
    return f"{section} ({when})"


HEADLINE_WORDS = ("precision", "recall", "accuracy", "f1", "exact_share", "inside", "median")


def _headline(figures: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, float]]:
    """Numeric leaves named like a rate (precision, recall, accuracy...) in the top two levels."""
    found: list[tuple[str, float]] = []
    if not isinstance(figures, dict) or depth > 1:
        return found
    for key, value in figures.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            found += _headline(value, f"{path}.", depth + 1)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if any(word in key for word in HEADLINE_WORDS):
                found.append((path, float(value)))
    return found


def _history_table(history: dict | None) -> list[str]:
    if not history:
        return []
    lines = [
        "",
        f"## Incremental night as the filing history grows ({history['tier']} tier, {history['measured_at']})",
        "",
        "| history | filing rows | full s (CPU s) | incremental s (CPU s) | CPU s of each run | build_cases s "
        "| build_leads s "
        "| publish s | export s | incremental peak GB | cases | leads | open leads | leads scored | state db MB "
        "| load avg |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for point in history["points"]:
        full, incr = point.get("full") or {}, point.get("incremental") or {}
        if not incr.get("ok"):
            reason = point.get("error") or full.get("error") or incr.get("error") or "not run"
            reason = " ".join(str(reason).replace("|", "/").split())[:200]  # one table cell
            lines.append(
                f"| {point['years']} y | – | {_secs(full) if full.get('ok') else '–'} | {reason} |"
                + " – |" * 12
            )
            continue
        runs = " / ".join("–" if c is None else f"{c:.1f}" for c in point.get("incremental_cpu_s_runs") or [])
        lines.append(
            f"| {point['years']} y | {point.get('filing_rows') or 0:,} | {_secs(full)} | {_secs(incr)} | "
            f"{runs or '–'} | "
            f"{_fmt(incr['build_cases_s'], 2)} | {_fmt(incr['build_leads_s'], 2)} | {_fmt(incr['publish_s'], 2)} | "
            f"{_fmt(incr.get('export_s'), 2)} | "
            f"{_fmt(incr['peak_rss_mb'] / 1024, 2)} | {incr['cases'] or 0:,} | {incr['leads'] or 0:,} | "
            f"{incr.get('open_leads') or 0:,} | {incr.get('leads_scored') or 0:,} | "
            f"{_fmt(incr['state_db_bytes'] / 1e6, 0)} | {_load(incr)} |"
        )
    return lines


def markdown(results: dict) -> str:
    m = results.get("machine", {})
    v = m.get("versions", {})
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {m.get('cpu_count')} CPUs ({m.get('cpu_model')}), {m.get('ram_gb')} GB RAM; Python {m.get('python')}, "
        f"polars {v.get('polars')}, duckdb {v.get('duckdb')}, prefect {v.get('prefect')}, pandera {v.get('pandera')}; "
        f"commit {str(m.get('git_commit'))[:10]}{' (dirty tree)' if m.get('git_dirty') else ''}; "
        f"written {results.get('written_at')}.",
        "",
        "## Targets",
        "",
        "| figure | target | measured | verdict |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in target_rows(results)]
    tiers = results.get("tiers", {})
    if tiers:
        lines += [
            "",
            "## Tiers",
            "",
            "| tier | parcels | filing rows | generate s | full s (CPU s) | full peak GB | incremental s (CPU s) "
            "| incremental peak GB | leads | load avg (full, incr.) | measured |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for name, t in tiers.items():
            full, incr = _ok(t.get("full")), _ok(t.get("incremental"))
            counts = t.get("generated_counts", {})
            leads = (incr or full or {}).get("outputs", {}).get("published", {}).get("leads")
            gen = t.get("generation", {})
            failed = [
                f"{k}: {t[k].get('stopped') or t[k].get('error')}"
                for k in ("full", "incremental")
                if k in t and not t[k].get("ok")
            ]
            lines.append(
                f"| {name} | {t.get('parcels', 0):,} | {counts.get('filing_rows', 0):,} | "
                f"{_fmt(gen.get('seconds'))}{' (cached)' if gen.get('cached') else ''} | "
                f"{_secs(full)} | {_fmt(full and full['peak_rss_mb'] / 1024, 2)} | "
                f"{_secs(incr)} | {_fmt(incr and incr['peak_rss_mb'] / 1024, 2)} | "
                f"{'–' if leads is None else f'{leads:,}'} | {_load(full)}, {_load(incr)} | {t.get('measured_at', '')}"
                + (f" FAILED ({'; '.join(failed)})" if failed else "")
                + " |"
            )
        for name, t in tiers.items():
            full, incr = t.get("full"), t.get("incremental")
            if not full:
                continue
            lines += [
                "",
                f"### {name}: seconds per stage (rows/s; RSS MB at the stage's start → its peak)",
                "",
                "| stage | full s (CPU s) | full rows/s | full RSS MB | incremental s (CPU s) | incremental rows/s "
                "| incremental RSS MB |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for stage in _stage_names(full, incr):
                a, b = _stage(full, stage), _stage(incr, stage)
                split = ""
                if "land_s" in a:
                    split = f" (land {a['land_s']:.2f} + stage {a['stage_s']:.2f})"
                lines.append(
                    f"| {stage}{split} | {_stage_secs(a)} | {_fmt(a.get('rows_per_s'), 0)} | "
                    f"{_rss(a)} | {_stage_secs(b)} | {_fmt(b.get('rows_per_s'), 0)} | {_rss(b)} |"
                )
    lines += _history_table(results.get("history_growth"))
    profile = results.get("profile") or {}
    for run_mode in ("full", "incremental"):
        part = profile.get(run_mode)
        if not part or not part.get("profile"):
            continue
        lines += [
            "",
            f"## Profile: {profile['tier']} {run_mode} refresh under cProfile ({_fmt(part.get('pipeline_s'))} s "
            "with profiler overhead), top 15 project functions by cumulative time",
            "",
            "| function | calls | cumulative s | own s |",
            "|---|---:|---:|---:|",
        ]
        for row in part["profile"]["top_cumulative_project"][:15]:
            lines.append(
                f"| `{row['function']}` | {row['calls']:,} | {row['cumtime_s']:.2f} | {row['tottime_s']:.2f} |"
            )
        lines += [
            "",
            "Top 10 by own time (any code):",
            "",
            "| function | calls | own s | cumulative s |",
            "|---|---:|---:|---:|",
        ]
        for row in part["profile"]["top_own_time"][:10]:
            lines.append(
                f"| `{row['function']}` | {row['calls']:,} | {row['tottime_s']:.2f} | {row['cumtime_s']:.2f} |"
            )
    history = results.get("history") or []
    if history:
        lines += [
            "",
            "## Earlier measurements (replaced by the ones above; see `history` in results.json)",
            "",
        ]
        lines += [f"- {_history_line(h['section'], h['entry'])}" for h in history]
    accuracy = {n: t["accuracy"] for n, t in tiers.items() if "accuracy" in t}
    if accuracy:
        lines += ["", "## Accuracy (headline figures; all of them in results.json)", ""]
        for name, acc in accuracy.items():
            if acc.get("figures") is None:
                lines.append(f"- {name}: {acc.get('skipped') or acc.get('error')}")
                continue
            figures = ", ".join(f"{k} {v:.4f}" for k, v in _headline(acc["figures"]))
            lines.append(f"- {name} ({acc.get('function')}): {figures}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiers",
        default="county,metro,state",
        help=f"comma-separated, from {sorted(TIERS)}; 'none' for none",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_BENCH_DIR / "results.json")
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR, help="cache, runs and job files")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--ingest-rows", type=int, default=1_000_000)
    parser.add_argument("--ingest-repeats", type=int, default=3)
    parser.add_argument("--no-ingest", action="store_true", help="skip the ingest micro-benchmark")
    parser.add_argument(
        "--cli-tier",
        default="county",
        help="tier for the Prefect overhead run via `leads refresh`; 'none' skips",
    )
    parser.add_argument(
        "--history-tier",
        default="metro",
        help="tier whose incremental night is measured with 1, 2 and 4 years of filing history; 'none' skips",
    )
    parser.add_argument(
        "--history-years",
        default=",".join(str(y) for y in HISTORY_YEARS),
        help="comma-separated years of filing history for --history-tier",
    )
    parser.add_argument(
        "--history-repeats",
        type=int,
        choices=range(1, 11),
        default=5,
        metavar="N",
        help="run each history length's incremental night N times from the same state; the least CPU is kept",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="state",
        default=None,
        metavar="TIER",
        help="also run TIER's full refresh under cProfile (default tier: state)",
    )
    parser.add_argument(
        "--profile-mode",
        choices=["full", "incremental", "both"],
        default="full",
        help="which run of the profiled tier goes under cProfile (the full refresh always runs first)",
    )
    parser.add_argument("--accuracy", action="store_true", help="add leads.evaluate figures when it exists")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a job is stopped")
    parser.add_argument(
        "--max-rss-gb", type=float, default=None, help="RSS ceiling per job (default 85%% of RAM)"
    )
    parser.add_argument("--fresh", action="store_true", help="do not merge with an existing results file")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    tiers = (
        [] if args.tiers.strip() in ("", "none") else [t.strip() for t in args.tiers.split(",") if t.strip()]
    )
    for name in [
        *tiers,
        *([args.profile] if args.profile else []),
        *([] if args.cli_tier == "none" else [args.cli_tier]),
        *([] if args.history_tier == "none" else [args.history_tier]),
    ]:
        if name not in TIERS:
            print(f"error: unknown tier {name!r}; known: {', '.join(TIERS)}", file=sys.stderr)
            return 2
    try:
        years = history_years(args.history_years) if args.history_tier != "none" else ()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bench_dir: Path = args.bench_dir
    bench_dir.mkdir(parents=True, exist_ok=True)
    ram_kb = _meminfo_kb("MemTotal") or 8 * 1024 * 1024
    max_rss_mb = args.max_rss_gb * 1024 if args.max_rss_gb else 0.85 * ram_kb / 1024
    runner = Runner(bench_dir / "jobs", args.timeout, max_rss_mb, log=not args.quiet)

    results: dict[str, Any] = {}
    if args.out.is_file() and not args.fresh:
        try:
            results = json.loads(args.out.read_text(encoding="utf-8"))
        except ValueError:
            results = {}
    results["machine"] = machine()
    results["targets"] = {**TARGETS, "ingest_parse_validate_s": INGEST_TARGET_S}
    results.setdefault("tiers", {})

    if not args.no_ingest:
        _keep(results, "ingest", results.get("ingest"))
        results["ingest"] = run_ingest(runner, bench_dir, args.ingest_rows, args.ingest_repeats, args.seed)
    for tier in tiers:
        _keep(results, f"tiers.{tier}", results["tiers"].get(tier))
        results["tiers"][tier] = run_tier(runner, bench_dir, tier, args.seed, args.accuracy)
        _write(results, args.out)  # keep what is measured even if a later tier is stopped
    if args.history_tier != "none":
        _keep(results, "history_growth", results.get("history_growth"))
        results["history_growth"] = run_history(
            runner, bench_dir, args.history_tier, years, args.seed, args.history_repeats
        )
        _write(results, args.out)
    if args.cli_tier != "none":
        direct = results["tiers"].get(args.cli_tier) if args.cli_tier in tiers else None
        _keep(results, "prefect_overhead", results.get("prefect_overhead"))
        results["prefect_overhead"] = run_cli(runner, bench_dir, args.cli_tier, args.seed, direct)
    if args.profile:
        _keep(results, "profile", results.get("profile"))
        results["profile"] = run_profile(runner, bench_dir, args.profile, args.seed, args.profile_mode)
    report = _write(results, args.out)
    print(report)
    return 0


HISTORY_KEEP = 10


def _keep(results: dict, section: str, entry: dict | None) -> None:
    """A measurement about to be replaced moves to `history` (newest last, the last HISTORY_KEEP kept), so a
    re-run on a busier machine does not erase the earlier figure."""
    if not entry:
        return
    history = results.setdefault("history", [])
    history.append({"section": section, "entry": entry})
    del history[:-HISTORY_KEEP]


def _write(results: dict, out: Path) -> str:
    results["written_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.part")
    temp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temp, out)
    report = markdown(results)
    out.with_suffix(".md").write_text(report, encoding="utf-8")
    return report


if __name__ == "__main__":
    sys.exit(main())
