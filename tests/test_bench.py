"""Smoke test of the benchmark's code path on the tiny `smoke` tier (seconds, not a measurement).

The jobs run in this process (the benchmark runs each in a child process only to measure it), so the test
costs the pipeline's work, not four interpreter start-ups.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest

from bench import run, worker
from bench.tiers import TIERS, cached_marker, full_as_of, incremental_as_of, spec_json, tier_cache

SEED = 7
# the sources the generator writes (other configs would only add empty steps)
GENERATED = (
    "fl_hillsborough,ca_riverside,tx_harris,vendor_parcels,vendor_avm,vendor_loans,vendor_liens,usps_vacancy"
)


def test_bench_code_path_on_the_smoke_tier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADS_SOURCES", GENERATED)
    spec = TIERS["smoke"].spec(SEED)
    folder = tier_cache(tmp_path / "cache", "smoke", SEED)
    generated = worker.job_generate(
        {"tier": "smoke", "seed": SEED, "spec": spec_json(spec), "folder": str(folder)}, worker.Stages(None)
    )
    assert cached_marker(folder, spec_json(spec)) is not None  # a second run would reuse the cache
    assert generated["counts"]["parcels"] == spec.parcels_per_county * len(spec.counties)

    base = {"landing": str(folder / "deliveries"), "data_dir": str(tmp_path / "run")}
    profile = tmp_path / "full.prof"
    full_stages = worker.Stages(tmp_path / "progress.jsonl")
    full = worker.job_refresh(
        {**base, "mode": "full", "as_of": full_as_of(spec).isoformat(), "profile": str(profile)}, full_stages
    )
    assert full["run"]["status"] == "published", full["run"]
    names = [r["stage"] for r in full_stages.records]
    for step in (
        "start_run",
        "source:fl_hillsborough",
        "build_cases",
        "build_leads",
        "audit",
        "publish",
        "export",
    ):
        assert step in names
    assert full["outputs"]["published"]["leads"] > 0
    assert full["profile"]["top_cumulative"] and profile.is_file()
    assert (tmp_path / "progress.jsonl").read_text().count("\n") == len(names)

    incr_stages = worker.Stages(None)
    incr = worker.job_refresh(
        {**base, "mode": "incremental", "as_of": incremental_as_of(spec).isoformat()}, incr_stages
    )
    assert incr["run"]["status"] == "published"
    landed = {
        r["stage"]: r.get("files_landed") for r in incr_stages.records if r["stage"].startswith("source:")
    }
    assert landed["source:vendor_parcels"] == 0  # the feeds were landed by the full refresh: nothing new
    assert incr["outputs"]["published"]["runs"] == 2

    ingest = worker.job_ingest(
        {"rows": 3000, "repeats": 1, "seed": SEED, "folder": str(tmp_path / "ingest")}, worker.Stages(None)
    )
    assert ingest["rows"] == 3000 and ingest["best"]["parse_validate_s"] > 0

    results = {
        "machine": run.machine(),
        "ingest": {**ingest, "ok": True},
        "tiers": {
            "smoke": {
                "spec": spec_json(spec),
                "parcels": 600,
                "generation": {"seconds": 0.1},
                "full": {**full, "ok": True, "stages": full_stages.records, "peak_rss_mb": 100.0},
                "incremental": {**incr, "ok": True, "stages": incr_stages.records, "peak_rss_mb": 100.0},
            }
        },
        "profile": {"tier": "smoke", "full": {**full, "ok": True}},
    }
    report = run.markdown(json.loads(json.dumps(results, default=str)))
    assert "| smoke | 600 |" in report and "build_cases" in report and "## Profile" in report

    child = run.Runner(tmp_path / "jobs", timeout_s=60, max_rss_mb=50_000, log=False).command(
        "noop", [sys.executable, "-c", "x = bytearray(50_000_000)"]
    )
    assert child["exit_code"] == 0 and child["ru_maxrss_mb"] >= 40


class _InProcessRunner:
    """bench.run.Runner's interface, the jobs run in this process (seconds instead of interpreter start-ups)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.results: dict[str, dict] = {}

    def say(self, text: str) -> None:
        pass

    def job(self, name: str, job: dict) -> dict:
        self.names.append(name)
        stages = worker.Stages(None)
        result = {"ok": True, **worker.JOBS[job["job"]](job, stages), **stages.summary()}
        self.results[name] = {**result, "loadavg_1m": [0.0, 0.0], "process_wall_s": 0.0}
        return self.results[name]


def test_history_series_refreshes_each_history_length_and_reports_the_growth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADS_SOURCES", GENERATED)
    runner = _InProcessRunner()
    history = run.run_history(runner, tmp_path, "smoke", (1, 2), SEED, repeats=2)  # type: ignore[arg-type]

    # every full refresh first, then the incremental nights taking turns: load on the machine falls on both
    assert runner.names == [
        "smoke-history1y-generate",
        "smoke-history1y-full",
        "smoke-history2y-generate",
        "smoke-history2y-full",
        "smoke-history1y-incremental-1",
        "smoke-history2y-incremental-1",
        "smoke-history1y-incremental-2",
        "smoke-history2y-incremental-2",
    ]
    one, two = history["points"]
    # each repeat starts from the state the full refresh left: the same night, the same outcome, and the
    # state holds the full refresh and one night, not two
    first, second = (runner.results[f"smoke-history1y-incremental-{n}"] for n in (1, 2))
    assert first["run"]["stage_counts"] == second["run"]["stage_counts"]
    state = duckdb.connect(
        str(tmp_path / "runs" / "smoke-history1y" / "state" / "pipeline.duckdb"), read_only=True
    )
    try:
        assert state.execute("SELECT count(*) FROM runs").fetchall() == [(2,)]
    finally:
        state.close()
    assert one["incremental_cpu_s_runs"] == [first["pipeline_cpu_s"], second["pipeline_cpu_s"]]
    assert one["incremental"]["pipeline_cpu_s"] == min(one["incremental_cpu_s_runs"])
    assert not list((tmp_path / "runs").glob("*.after-full"))
    assert (one["history_days"], two["history_days"]) == (365, 730)
    assert two["filing_rows"] > one["filing_rows"]  # twice the history: more filings in the warehouse
    assert two["incremental"]["staged_filings"] > one["incremental"]["staged_filings"]
    assert one["incremental"]["ok"] and one["incremental"]["leads"] > 0
    # the incremental night scores the open leads again (and any changed one), not every lead
    for point in (one, two):
        night = point["incremental"]
        assert night["open_leads"] <= night["leads_scored"] <= night["leads"]

    growth = run.history_growth(history)
    assert growth is not None and growth["years"] == (1, 2)
    cpu = two["incremental"]["pipeline_cpu_s"] / one["incremental"]["pipeline_cpu_s"]
    assert growth["cpu_ratio"] == pytest.approx(cpu)
    assert growth["flat"] == (cpu <= history["flat_ratio"])

    report = run.markdown(json.loads(json.dumps({"history_growth": history}, default=str)))
    assert "## Incremental night as the filing history grows (smoke tier" in report
    assert "| 2 y |" in report and "incremental night as filing history grows (smoke tier)" in report
    # a second series reuses the generated inputs (no generate job)
    again = _InProcessRunner()
    run.run_history(again, tmp_path, "smoke", (1,), SEED, repeats=1)  # type: ignore[arg-type]
    assert again.names == ["smoke-history1y-full", "smoke-history1y-incremental"]


def _point(years: int, cpu: float | None, filings: int = 100, open_leads: int = 10) -> dict:
    incremental = {"ok": False, "error": "RuntimeError: x | y\nz"}
    if cpu is not None:
        incremental = {
            "ok": True,
            "pipeline_s": cpu / 2,
            "pipeline_cpu_s": cpu,
            "build_cases_s": 0.1,
            "build_leads_s": 0.1,
            "publish_s": 0.1,
            "peak_rss_mb": 100.0,
            "export_s": 0.1,
            "cases": 1,
            "leads": 1,
            "open_leads": open_leads,
            "leads_scored": open_leads,
            "state_db_bytes": 1,
        }
    return {"years": years, "filing_rows": filings, "incremental": incremental}


def test_history_growth_compares_the_shortest_and_longest_history_that_were_asked_for() -> None:
    series = {"tier": "t", "measured_at": "now", "flat_ratio": 1.25}
    in_any_order = {
        **series,
        "points": [_point(4, 12.0, 400, 30), _point(1, 10.0, 100, 20), _point(2, 11.0, 200, 25)],
    }
    growth = run.history_growth(in_any_order)
    assert growth is not None
    assert growth["years"] == (1, 4) and growth["cpu_ratio"] == pytest.approx(1.2)
    assert growth["open_leads_ratio"] == pytest.approx(1.5)
    assert growth["filings_ratio"] == pytest.approx(4.0) and growth["flat"] is True
    steep = run.history_growth({**series, "points": [_point(1, 10.0), _point(4, 18.0)]})
    assert steep is not None and steep["flat"] is False

    # the longest history failed: no verdict, however flat the shorter ones look
    longest_failed = {**series, "points": [_point(1, 10.0), _point(2, 10.0), _point(4, None)]}
    assert run.history_growth(longest_failed) is None
    assert run.history_growth({**series, "points": [_point(1, 0.0), _point(4, 1.0)]}) is None
    assert run.history_growth(None) is None
    assert run.history_growth({**series, "points": [_point(1, 10.0)]}) is None

    report = run.markdown({"history_growth": longest_failed})
    row = next(line for line in report.splitlines() if line.startswith("| 4 y |"))
    assert row.count("|") == 17  # 16 cells: the error text's "|" and newline do not break the table
    assert "| incremental night as filing history grows (t tier) |" in report and "| not run |" in report


def test_history_years_are_checked_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.history_years("4, 1,2,2") == (1, 2, 4)
    for bad in ("1,x", "0,1", "3", ""):
        with pytest.raises(ValueError, match="--history-years"):
            run.history_years(bad)
    assert run.main(["--tiers", "none", "--no-ingest", "--cli-tier", "none", "--history-years", "1,x"]) == 2
    assert "--history-years: not whole numbers" in capsys.readouterr().err
