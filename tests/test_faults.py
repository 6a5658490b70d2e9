"""Faults: crashes at every step, disk full, two refreshes at once, an analyst during the run, bad deliveries.

The machinery (a Prefect-free runner in the flow's order, numbered fault points, child processes from a fork
server, fingerprints of the published file and of the final state) lives in bench/faults.py, which also prints
the fault table (`make faults`). Row numbers below are those of ../shared/reference/reliability.md.

Default runs are real and bounded (about a minute and a half); `RUN_SLOW=1` or `LEADS_SOAK=1` adds the soak:
every point, 40 random kills, nine disk sizes, the analyst at every point, a kill through a fresh interpreter.
"""

from __future__ import annotations

import ast
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from bench import faults
from bench.faults import AS_OF, Baseline, Outcome
from leads.db import state_reader

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SOAK = os.environ.get("RUN_SLOW") == "1" or os.environ.get("LEADS_SOAK") == "1"
soak = pytest.mark.skipif(not SOAK, reason="soak: set RUN_SLOW=1 or LEADS_SOAK=1")
SEED = int(os.environ.get("LEADS_FAULT_SEED", "7"))


@pytest.fixture(scope="module")
def base() -> Iterator[Baseline]:
    root = faults.scratch_root()
    try:
        yield faults.make_baseline(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def work(base: Baseline, request: pytest.FixtureRequest) -> Iterator[Path]:
    folder = base.root / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]
    shutil.rmtree(folder, ignore_errors=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _report(outcomes: list[Outcome]) -> str:
    return "\n".join(
        f"{o.fault} at {o.where}: lost {o.lost} failed {o.failed}" for o in outcomes if not o.survived
    )


def _published(data_dir: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(data_dir / "warehouse" / "leads.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _state(data_dir: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = state_reader(data_dir / "state" / "pipeline.duckdb")
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# ------------------------------------------------------------------------------------------ the runner


def _flow_task_order() -> list[str]:
    """Task calls of the refresh flow's body in flows/nightly.py (the module function calling the most tasks),
    in source order, on the success path (the `if failures:` branch left out), each once; a call of the
    `stage_sources` strategy counts as the stage_source task."""
    tree = ast.parse((PROJECT_ROOT / "flows" / "nightly.py").read_text(encoding="utf-8"))
    tasks = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Call) and getattr(d.func, "id", "") == "task" for d in node.decorator_list)
    }

    def calls(node: ast.AST) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "failures":
            return found
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", "")
            if name in tasks or name == "stage_sources":
                found.append((node.lineno, "stage_source" if name == "stage_sources" else name))
        for child in ast.iter_child_nodes(node):
            found += calls(child)
        return found

    bodies = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name not in tasks]
    body = max(bodies, key=lambda n: len(calls(n)))
    ordered = [name for _, name in sorted(calls(body))]
    return [n for i, n in enumerate(ordered) if n not in ordered[:i]]


def test_the_runner_calls_the_steps_in_the_flows_order(base: Baseline) -> None:
    """bench.faults.refresh mirrors flows/nightly.py: if the flow changes, this points at the runner to update."""
    task_to_point = {"publish_leads": "publish", "stage_source": "stage_source"}
    expected = [task_to_point.get(t, t) for t in _flow_task_order() if t != "report"]  # report: Prefect only
    kinds = [p.split(":", 1)[0] for p in base.points]
    seen = [k for i, k in enumerate(kinds) if k in expected and k not in kinds[:i]]
    assert seen == expected
    assert base.previous.leads_hash != base.next.leads_hash, "the crashed run must change the published leads"


# ------------------------------------------------------------------------- 1-3: kill loop over the steps


@pytest.fixture(scope="module")
def kills(base: Baseline) -> dict[str, tuple[Outcome, Path]]:
    """SIGKILL at each default point (the child kills itself: LEADS_FAULT_KILL_AT=N), then re-run; two at a
    time. Keyed by point name; the folders stay for the tests that look inside them."""
    numbers = faults.default_kill_points(base.points)
    outcomes = faults.kill_loop(base, base.root / "kills", numbers)
    return {
        base.points[n - 1]: (o, base.root / "kills" / f"kill-{n:03d}")
        for n, o in zip(numbers, outcomes, strict=True)
    }


def test_kill_at_every_step_leaves_old_or_new_publish_and_a_rerun_heals(
    base: Baseline, kills: dict[str, tuple[Outcome, Path]]
) -> None:
    """Rows 1-3: after a SIGKILL at any step the published file is exactly the previous or the next version
    and opens cleanly; no partial file at a final export path; the re-run publishes the uninterrupted final
    state with no duplicate lead ids or events."""
    outcomes = [o for o, _ in kills.values()]
    assert all(o.survived for o in outcomes), _report(outcomes)
    covered = {name.split(":", 1)[0] for name in kills}
    assert {
        "start_run",
        "upsert-uncommitted",
        "feed-written",  # a feed's new Parquet file written, its list not committed (leads/feeds.py)
        "feed-committed",  # listed and committed, the file it replaces not yet removed
        "stage_source",
        "assemble_cases",
        "score_leads",
        "changes",
    } <= covered
    assert {"audit", "publish", "written", "replace-before", "replace-after", "finish_run"} <= covered
    assert all(o.where == name for name, (o, _) in kills.items()), "each child died at the point it was told"


def test_a_kill_mid_export_leaves_no_partial_file_at_a_final_path(
    kills: dict[str, tuple[Outcome, Path]],
) -> None:
    """Row 3: the killed run's export folder holds complete files at final paths (leads.*, open_leads.* were
    renamed in)
    and the half-written one only under its temp name; it has no manifest; the re-run's manifest matches."""
    _, folder = kills["written:exports/<run>/.changes.parquet.part"]
    exports = sorted((folder / "data" / "exports").iterdir())
    killed = [p for p in exports if not (p / "manifest.json").exists()]
    assert len(killed) == 1
    names = sorted(p.name for p in killed[0].iterdir())
    # the open leads always, the full snapshot (leads.*) when due
    snapshots = sorted({p.name.split(".")[0] for p in killed[0].iterdir() if not p.name.startswith(".")})
    assert "open_leads" in snapshots and set(snapshots) <= {"leads", "open_leads"}
    assert names == [
        ".changes.parquet.part",
        *(f"{s}.{f}" for s in snapshots for f in ("csv", "jsonl", "parquet")),
    ]
    for stem in snapshots:
        assert (
            pl.read_parquet(killed[0] / f"{stem}.parquet").height
            == pl.read_csv(killed[0] / f"{stem}.csv").height
        )
    assert faults.export_problems(folder / "data") == []


def test_kill_at_random_moments(base: Baseline, work: Path) -> None:
    """Row 1: the parent SIGKILLs the child at a random moment (os.kill), then the same checks."""
    outcomes = faults.kill_at_random(base, work, runs=2, seed=SEED)
    assert all(o.survived for o in outcomes), _report(outcomes)


def test_a_state_damaged_by_a_torn_checkpoint_is_reported_and_rebuilt_from_raw(
    base: Baseline, work: Path
) -> None:
    """Row 1 when the kill tears a DuckDB checkpoint (DuckDB rewrites metadata blocks in place): the night stops
    with one line naming the rebuild, readers keep the previous publish, and the rebuild then the night reach the
    uninterrupted final state."""
    outcome = faults.damaged_state_iteration(base, work)
    assert outcome.survived, _report([outcome])
    assert list((work / "data" / "state").glob("pipeline.before-rebuild-*.duckdb"))  # set aside, not deleted


@soak
@pytest.mark.slow
def test_soak_kill_at_every_point_and_many_random_moments(base: Baseline, work: Path) -> None:
    outcomes = faults.kill_loop(base, work / "all", list(range(1, len(base.points) + 1)))
    outcomes += faults.kill_at_random(
        base, work / "random", runs=int(os.environ.get("LEADS_SOAK_RUNS", "40")), seed=SEED
    )
    assert all(o.survived for o in outcomes), _report(outcomes)
    # a kill tears a DuckDB checkpoint rarely (once in the CI runs so far); often would mean a new cause
    damaged = [o.fault for o in outcomes if faults.DAMAGED_NOTE in o.notes]
    assert len(damaged) <= len(outcomes) // 10, damaged


@soak
@pytest.mark.slow
def test_soak_kill_through_the_command_line_child(base: Baseline, work: Path) -> None:
    """`python -m bench.faults child` in a fresh interpreter with LEADS_FAULT_KILL_AT in its environment."""
    number = base.points.index("publish:committed") + 1
    data_dir = work / "data"
    shutil.copytree(base.previous_dir, data_dir)
    command = [
        sys.executable,
        "-m",
        "bench.faults",
        "child",
        "--data-dir",
        str(data_dir),
        "--landing",
        str(base.landing),
    ]
    env = {**os.environ, faults.KILL_ENV: str(number)}
    killed = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, timeout=300)
    assert killed.returncode == -9
    assert faults.published_version(data_dir / "warehouse" / "leads.duckdb") == base.previous
    env.pop(faults.KILL_ENV)
    again = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert faults.final_state(data_dir) == base.next_state


def _change_rows(data_dir: Path) -> set[tuple]:
    """Every change-feed row ever exported (run ids aside): what a consumer of changes.* has received."""
    rows: set[tuple] = set()
    for path in (data_dir / "exports").glob("*/changes.parquet"):
        if (path.parent / "manifest.json").exists():
            frame = pl.read_parquet(path).select(
                "change_as_of", "event_type", "old_value", "new_value", "lead_id"
            )
            rows |= set(frame.iter_rows())
    return rows


@pytest.mark.parametrize(
    "point",
    [
        "publish:committed",
        "replace-after:warehouse/leads.duckdb",
        "written:exports/<run>/.changes.parquet.part",
    ],
)
def test_change_events_of_a_crashed_run_reach_a_change_export(
    base: Baseline, kills: dict[str, tuple[Outcome, Path]], point: str
) -> None:
    """Regression (found by this suite): a run killed after commit_publish left its events in lead_events; the
    re-run found nothing new and exported only its own events, so no changes.* export ever carried them."""
    _, folder = kills[point]
    expected = _change_rows(base.next_dir)
    assert expected, "the uninterrupted run exports change events"
    assert _change_rows(folder / "data") >= expected


def _runs(data_dir: Path) -> list[tuple]:
    return _published(data_dir, "SELECT run_id, status FROM runs ORDER BY started_at")


@pytest.mark.parametrize("point", ["publish:run_marked", "replace-before:warehouse/leads.duckdb"])
def test_a_run_killed_before_its_file_is_swapped_in_is_not_recorded_as_published(
    kills: dict[str, tuple[Outcome, Path]], point: str
) -> None:
    """Regression: the run used to be marked 'published' before its file was swapped in."""
    _, folder = kills[point]
    crashed = _runs(folder / "data")[1]  # previous run, the crashed one, the re-run
    assert crashed[1] != "published", crashed


@pytest.mark.parametrize("point", ["start_run", "audit"])
def test_a_killed_run_is_not_left_running(kills: dict[str, tuple[Outcome, Path]], point: str) -> None:
    """Regression: a killed run stayed 'running' in `runs` forever; the next run now reconciles it."""
    _, folder = kills[point]
    statuses = [status for _, status in _runs(folder / "data")]
    assert "running" not in statuses, statuses


def test_no_orphan_building_file_after_a_crash_and_a_rerun(kills: dict[str, tuple[Outcome, Path]]) -> None:
    """Regression: .leads.duckdb.<run_id>.building files of crashed runs piled up in the warehouse."""
    _, folder = kills["replace-before:warehouse/leads.duckdb"]
    assert sorted(p.name for p in (folder / "data" / "warehouse").iterdir()) == ["leads.duckdb"]


# ------------------------------------------------------------------------------ 18: disk full, I/O error


@pytest.fixture(scope="module")
def disk_full(base: Baseline) -> dict[str, tuple[Outcome, Path]]:
    """ENOSPC injected at each stage of the AS_OF run (LEADS_FAULT_DISK_FULL=<stage> in a child), then a re-run."""
    stages = list(faults.DISK_FULL_AT)
    outcomes = faults.disk_full_loop(base, base.root / "enospc", stages)
    return {s: (outcomes[s], base.root / "enospc" / f"enospc-{i}") for i, s in enumerate(stages)}


@pytest.mark.parametrize("stage", list(faults.DISK_FULL_AT))
def test_disk_full_aborts_with_a_clear_message_and_keeps_the_previous_publish(
    disk_full: dict[str, tuple[Outcome, Path]], stage: str
) -> None:
    """Row 18: ENOSPC (OSError from Python writes, duckdb.IOException from DuckDB's) inside staging (raw copy,
    DuckDB write), audit, the publish build, the rename and the export: the run aborts with an error that says
    the disk is full; the published file is the previous version (or, once swapped in, the next one) and opens;
    no partial export file; the re-run reaches the uninterrupted final state."""
    outcome, _ = disk_full[stage]
    assert outcome.survived, _report([outcome])
    assert outcome.where != "(never reached)"
    assert any("No space left on device" in n for n in outcome.notes)


def test_disk_full_on_a_real_tmpfs(base: Baseline, work: Path) -> None:
    """A real ENOSPC: the data dir on a small tmpfs filled up but for 256 KB (the raw copy fails) or 2 MB
    (DuckDB fails building the new file). Needs root to mount; the injected faults above run everywhere."""
    outcomes = [faults.tmpfs_disk_full(base, work / f"free-{kb}", kb) for kb in (256, 2048)]
    if any(o is None for o in outcomes):
        pytest.skip("cannot mount a tmpfs here (needs root); injected ENOSPC tests cover row 18")
    assert all(o is not None and o.survived for o in outcomes), _report([o for o in outcomes if o])
    assert all(o is not None and "completed" not in " ".join(o.notes) for o in outcomes), (
        "the disk was not full"
    )


@soak
@pytest.mark.slow
def test_soak_disk_full_on_a_real_tmpfs_at_many_sizes(base: Baseline, work: Path) -> None:
    outcomes = [faults.tmpfs_disk_full(base, work / f"free-{kb}", kb) for kb in faults.TMPFS_FREE_KB]
    if any(o is None for o in outcomes):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    assert all(o is not None and o.survived for o in outcomes), _report([o for o in outcomes if o])


def test_a_failed_build_removes_its_building_file(disk_full: dict[str, tuple[Outcome, Path]]) -> None:
    """Regression: a build that failed on a full disk left its half-built file (and kept the space)."""
    _, folder = disk_full["publish (file build)"]
    assert sorted(p.name for p in (folder / "data" / "warehouse").iterdir()) == ["leads.duckdb"]


# ---------------------------------------------------------------------------- 16, 17: concurrency


def test_second_refresh_is_refused_while_one_runs(base: Baseline, work: Path) -> None:
    """Row 16: a second refresh started while the first holds the lock is refused (RefreshRunning, one line);
    the output equals one uninterrupted run."""
    outcome = faults.concurrent_refreshes(base, work)
    assert outcome.survived, _report([outcome])


def test_two_refreshes_started_together_equal_one_run(base: Baseline, work: Path) -> None:
    outcome = faults.simultaneous_refreshes(base, work)
    assert outcome.survived, _report([outcome])


def test_cli_refresh_refused_with_one_line_while_a_refresh_runs(base: Baseline, work: Path) -> None:
    """Row 16 through the command line, in its own process (regression: the lock used to be taken inside the
    flow, after Prefect started: a traceback on stderr and exit 1)."""
    data_dir = work / "data"
    shutil.copytree(base.previous_dir, data_dir)
    fd = os.open(data_dir / "state" / "refresh.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a refresh is running
        env = {**os.environ, "LEADS_DATA_DIR": str(data_dir), "LEADS_LANDING_DIR": str(base.landing)}
        result = subprocess.run(
            [sys.executable, "-m", "leads.cli", "refresh", "--as-of", AS_OF.isoformat()],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        os.close(fd)
    assert "another refresh is running" in result.stderr
    assert result.returncode == 2, result.returncode
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@soak
@pytest.mark.slow
def test_soak_analyst_session_at_every_point(base: Baseline, work: Path) -> None:
    outcome = faults.analyst_during_refresh(base, work)
    assert outcome.survived, _report([outcome])


def test_analyst_session_keeps_its_snapshot_through_the_run(base: Baseline, work: Path) -> None:
    """Row 17 (extends test_end_to_end's reader test): an analyst connection opened before the run, queried
    at every one of its points, keeps the previous snapshot; a session opened at any point sees the previous
    or the next version whole; the run completes."""
    numbers = faults.analyst_pause_points(base.points)
    outcome = faults.analyst_during_refresh(base, work, numbers)
    assert outcome.survived, _report([outcome])
    seen = re.search(r"(\d+) points; new sessions saw previous (\d+), next (\d+)", outcome.notes[-1])
    assert seen is not None and int(seen[1]) == len(numbers)
    assert int(seen[2]) > 0 and int(seen[3]) > 0, "new sessions saw the swap happen"


# ------------------------------------------------------------------------- 5, 10-15: bad deliveries


def _source(result: faults.BadDelivery, source: str) -> dict:
    return next(s for s in result.summary["sources"] if s["source"] == source)


def _leads_by_county(data_dir: Path) -> dict[str, str]:
    """Hash of each county's published leads (run-dependent columns aside)."""
    con = duckdb.connect(str(data_dir / "warehouse" / "leads.duckdb"), read_only=True)
    try:
        frame = con.sql("SELECT * EXCLUDE (run_id) FROM leads ORDER BY lead_id").pl()
    finally:
        con.close()
    return {
        str(county): faults.frame_hash(part)
        for (county,), part in frame.partition_by("county_fips", as_dict=True).items()
    }


def _quarantine(data_dir: Path, source: str) -> list[tuple]:
    return _state(
        data_dir,
        "SELECT source_line, check_name, reason, raw_record FROM quarantine WHERE source = ? "
        "AND file LIKE '%2026-11-27%' ORDER BY source_line",
        [source],
    )


COUNTY = {"fl_hillsborough": "12057", "ca_riverside": "06065", "tx_harris": "48201"}
DAY_FILE = {
    "fl_hillsborough": "OR_20261127.txt",
    "ca_riverside": "riverside_foreclosure_2026-11-27.csv",
    "tx_harris": "harris_fc_2026-11-27.jsonl",
}


@pytest.fixture(scope="module")
def bad(base: Baseline) -> dict[str, faults.BadDelivery]:
    """The AS_OF run with each bad delivery (one per run, in children, two at a time)."""
    return faults.bad_delivery_loop(base, base.root / "bad", list(faults.BAD_DELIVERIES))


@pytest.mark.parametrize("name", list(faults.BAD_DELIVERIES))
def test_bad_delivery_never_crashes_nor_wipes_and_other_sources_publish(
    base: Baseline, bad: dict[str, faults.BadDelivery], name: str
) -> None:
    """Rows 5, 10-15: the run finishes; the hit source fails with a reason or quarantines; the other counties
    publish exactly what they would have; the published leads never shrink; no duplicates."""
    result = bad[name]
    assert result.outcome.survived, _report([result.outcome])
    assert result.summary["status"] in ("published", "partial")
    hit = _source(result, result.source)
    if name != "empty files":  # (that one empties every county's filings of the day)
        expected = _leads_by_county(base.next_dir)
        got = _leads_by_county(result.data_dir)
        changed = sorted(c for c in expected if c != COUNTY.get(result.source) and got.get(c) != expected[c])
        assert changed == [], f"counties not hit by the bad delivery changed: {changed}"
    CHECKS[name](base, result, hit)


def _failed_with(reason: str) -> object:
    def check(base: Baseline, result: faults.BadDelivery, hit: dict) -> None:
        assert hit["status"] == "failed"
        assert reason in hit["message"], hit["message"]
        assert result.summary["status"] == "partial" and result.summary["failed_sources"] == [result.source]
        # nothing of the file is staged; it stays in raw, marked failed with its reason, retried next run
        [(status, message)] = _state(
            result.data_dir,
            "SELECT status, message FROM raw_manifest WHERE file_name = ?",
            [DAY_FILE[result.source]],
        )
        assert status == "failed" and reason in message

    return check


def _empty(base: Baseline, result: faults.BadDelivery, hit: dict) -> None:
    """Row 11: empty daily files alert and publish the leads already known (nothing wiped)."""
    assert {_source(result, s)["status"] for s in COUNTY} <= {"ok", "no_new_files"}
    leads = {r[0] for r in _published(result.data_dir, "SELECT lead_id FROM leads")}
    assert leads >= {r[0] for r in _published(base.previous_dir, "SELECT lead_id FROM leads")}
    assert any("0 rows, far below the recent median" in w for w in result.summary["warnings"])


def _header_only(base: Baseline, result: faults.BadDelivery, hit: dict) -> None:
    assert hit["status"] == "ok" and hit["rows_in"] == 0 and hit["rows_staged"] == 0
    assert any(w.startswith("ca_riverside:") and "0 rows, far below" in w for w in result.summary["warnings"])
    assert _published(result.data_dir, "SELECT count(*) FROM leads")[0][0] >= base.previous.rows


def _empty_feeds(base: Baseline, result: faults.BadDelivery, hit: dict) -> None:
    """Row 11: header-only parcel roll, AVM and loans: nothing staged, nothing wiped, the same leads as the
    normal run (values and payoffs included), and an alert for each feed."""
    assert hit["status"] == "ok" and hit["rows_staged"] == 0
    assert (
        faults.published_version(result.data_dir / "warehouse" / "leads.duckdb").leads_hash
        == base.next.leads_hash
    )
    for feed in ("vendor_parcels", "vendor_avm", "vendor_loans"):
        assert any(
            w.startswith(f"{feed}:") and "0 rows, far below" in w for w in result.summary["warnings"]
        ), feed


def _duplicated(base: Baseline, result: faults.BadDelivery, hit: dict) -> None:
    """Row 5: every record twice, and the records again in another file: one staged row per record key."""
    assert hit["status"] == "ok" and hit["files_landed"] == 2 and hit["rows_staged"] > 0
    assert hit["rows_duplicate"] == 2 * hit["rows_staged"]  # each record delivered three times
    assert (
        _state(
            result.data_dir, "SELECT source, record_id FROM staged_filings GROUP BY ALL HAVING count(*) > 1"
        )
        == []
    )
    assert (
        faults.published_version(result.data_dir / "warehouse" / "leads.duckdb").leads_hash
        == base.next.leads_hash
    )


def _cp1252(base: Baseline, result: faults.BadDelivery, hit: dict) -> None:
    """Row 14: the undecodable line is quarantined with its bytes escaped, never stored mangled."""
    assert hit["status"] == "ok" and hit["rows_quarantined"] == 1 and hit["rows_staged"] == 39
    [(line, check, reason, raw)] = _quarantine(result.data_dir, "ca_riverside")
    assert (line, check) == (5, "encoding") and "utf-8" in reason
    assert "MU\\xd1OZ" in raw  # backslash-escaped bytes, not a replacement character
    [(text,)] = _state(result.data_dir, "SELECT string_agg(defendant, '') FROM staged_filings")
    assert "\ufffd" not in text


def _huge_field(base: Baseline, result: faults.BadDelivery, hit: dict) -> None:
    """Row 15: the record with a 3 MB field is quarantined (without its 3 MB), the rest of the file stages."""
    assert hit["status"] == "ok" and hit["rows_quarantined"] == 1 and hit["rows_staged"] == 39
    [(line, check, _, raw)] = _quarantine(result.data_dir, "tx_harris")
    assert (line, check) == (1, "field_too_long") and len(raw) < 1000


def _truncated_csv(base: Baseline, result: faults.BadDelivery, hit: dict) -> None:
    """Row 10 (regression: the cut record used to be staged with its missing fields as nulls): a header CSV
    cut inside its last record never stages that record; it is quarantined, or the source fails."""
    staged = _state(result.data_dir, "SELECT plaintiff FROM staged_filings WHERE record_id = '2026-0900039'")
    assert staged == []
    if hit["status"] != "failed":
        assert hit["rows_staged"] == 39 and hit["rows_quarantined"] == 1
        assert [q[1] for q in _quarantine(result.data_dir, "ca_riverside")] == ["truncated_record"]


def _placeholders(base: Baseline, result: faults.BadDelivery, hit: dict) -> None:
    """Row 13 (regression: all-NA rows used to be counted as 'ignored' documents, silently): a delivery of
    placeholders is quarantined row by row, or fails its source with a reason; nothing is staged."""
    assert hit["rows_staged"] == 0 and hit["rows_ignored"] == 0
    assert (hit["status"] == "failed" and "rows rejected" in hit["message"]) or hit["rows_quarantined"] == 40


CHECKS = {
    "truncated pipe file": _failed_with("rows rejected"),
    "truncated csv (no final newline)": _truncated_csv,
    "placeholder storm (every value NA)": _placeholders,
    "corrupt (gzip bytes in a .txt)": _failed_with("rows rejected"),
    "empty files": _empty,
    "header-only csv": _header_only,
    "empty feeds (parcels, AVM, loans)": _empty_feeds,
    "duplicated rows and file": _duplicated,
    "cp1252 bytes, declared utf-8": _cp1252,
    "3 MB field": _huge_field,
    "column renamed": _failed_with("schema drift: missing column(s) ['hcad_account']"),
}


def test_every_bad_delivery_has_its_checks() -> None:
    assert set(CHECKS) == set(faults.BAD_DELIVERIES)


# ----------------------------------------------------------------- 6-9: amended, re-filed, late, backfill

FL_LINE = (
    "{id}|{doc}|{date}|{case}|{folio}|{plaintiff}|{defendant}|{legal}|{amount}|{sale}|{ref}|{address}||\r\n"
)


def _fl_record(parcel: dict, **values: str) -> str:
    fields = {
        "plaintiff": "WELLS FARGO BANK NA",
        "defendant": parcel["owner_name"].replace(", ", ","),
        "legal": parcel["legal_description"],
        "address": parcel["situs_address"],
        "folio": f"{parcel['apn'][:6]}-{parcel['apn'][6:]}",
        "amount": "",
        "sale": "",
        "ref": "",
        **values,
    }
    return FL_LINE.format(**fields)


def _deliver(landing: Path, day: dt.date, name: str, lines: list[str]) -> None:
    folder = landing / "fl_hillsborough" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes("".join(lines).encode("utf-8"))


@pytest.fixture(scope="module")
def lifecycle(base: Baseline) -> Iterator[dict]:
    """Three more nights on top of the 11-27 publish, with Hillsborough documents on parcels that had no case:
    a lis pendens released then re-filed, an amended final judgment, a record delivered late for an earlier
    date. Snapshots of the published leads after each night."""
    root = base.root / "lifecycle"
    landing = root / "landing"
    shutil.copytree(base.landing, landing)
    data_dir = root / "data"
    shutil.copytree(base.next_dir, data_dir)
    free = _state(
        data_dir,
        "SELECT apn, owner_name, legal_description, situs_address FROM staged_parcels "
        "WHERE county_fips = '12057' AND owner_name LIKE '%,%' AND apn NOT IN "
        "(SELECT parcel_apn FROM case_filings WHERE parcel_apn IS NOT NULL) ORDER BY apn LIMIT 3",
    )
    refiled, amended, late = (
        {"apn": a, "owner_name": o, "legal_description": lg, "situs_address": s} for a, o, lg, s in free
    )
    days = [dt.date(2026, 11, 28), dt.date(2026, 11, 29), dt.date(2026, 11, 30)]
    _deliver(
        landing,
        days[0],
        "OR_20261128.txt",
        [
            _fl_record(refiled, id="9100001", doc="LP", date="11/28/2026", case="26-CA-910001"),
            _fl_record(amended, id="9200001", doc="LP", date="10/01/2026", case="26-CA-920001"),
            _fl_record(
                amended, id="9200002", doc="FJ", date="11/28/2026", case="26-CA-920001", amount="150000.00"
            ),
            _fl_record(late, id="9300001", doc="LP", date="09/01/2026", case="26-CA-930001"),
            _fl_record(
                late, id="9300003", doc="NS", date="11/28/2026", case="26-CA-930001", sale="12/30/2026"
            ),
        ],
    )
    _deliver(
        landing,
        days[1],
        "OR_20261129.txt",
        [
            _fl_record(
                refiled, id="9100002", doc="RLP", date="11/29/2026", case="26-CA-910001", ref="9100001"
            ),
            _fl_record(
                amended, id="9200002", doc="FJ", date="11/28/2026", case="26-CA-920001", amount="175000.00"
            ),
            _fl_record(
                late, id="9300002", doc="FJ", date="10/20/2026", case="26-CA-930001", amount="99000.00"
            ),
        ],
    )
    _deliver(
        landing,
        days[2],
        "OR_20261130.txt",
        [
            _fl_record(refiled, id="9100003", doc="LP", date="11/30/2026", case="26-CA-910002"),
        ],
    )
    settings = faults.fault_settings(data_dir, landing)
    nights = {}
    for day in days:
        summary = faults.refresh(settings, day)
        assert summary["status"] == "published", summary["message"]
        con = duckdb.connect(str(data_dir / "warehouse" / "leads.duckdb"), read_only=True)
        try:
            nights[day] = con.sql(
                "SELECT l.*, list(f.record_id ORDER BY f.record_id) AS records FROM leads l "
                "JOIN lead_filings f USING (lead_id) GROUP BY ALL"
            ).pl()
        finally:
            con.close()
    yield {"data_dir": data_dir, "days": days, "nights": nights}
    shutil.rmtree(root, ignore_errors=True)


def _lead_with(frame: pl.DataFrame, record_id: str) -> dict:
    rows = frame.filter(pl.col("records").list.contains(record_id))
    assert rows.height == 1, f"{record_id}: {rows.height} leads"
    return rows.row(0, named=True)


def test_released_then_refiled_is_removed_then_restored_as_a_new_case(lifecycle: dict) -> None:
    """Row 7: lis pendens -> lead actionable; its release -> the same lead cancelled (not actionable, out of
    the outreach views); a new lis pendens -> a new lead (new case), actionable; the old one stays cancelled."""
    d28, d29, d30 = (lifecycle["nights"][d] for d in lifecycle["days"])
    first = _lead_with(d28, "9100001")
    assert first["status"] == "active" and first["actionable"]
    released = _lead_with(d29, "9100001")
    assert released["lead_id"] == first["lead_id"]
    assert released["status"] == "cancelled" and not released["actionable"]
    assert "9100002" in released["records"]
    refiled = _lead_with(d30, "9100003")
    assert refiled["lead_id"] != first["lead_id"] and refiled["status"] == "active" and refiled["actionable"]
    assert _lead_with(d30, "9100001")["status"] == "cancelled"
    hot = _published(lifecycle["data_dir"], "SELECT lead_id FROM hot_leads")
    assert (first["lead_id"],) not in hot
    events = _published(
        lifecycle["data_dir"],
        "SELECT as_of, event_type FROM lead_events WHERE lead_id = ? ORDER BY as_of",
        [first["lead_id"]],
    )
    assert ("cancelled" in {e for _, e in events}) and events[0][1] == "new_lead"


def test_an_amended_filing_keeps_one_current_row_and_its_history(lifecycle: dict) -> None:
    """Row 6: the final judgment re-delivered with a corrected amount: one staged row and one lead_filings row
    (the new amount), the payoff follows it, lead_history keeps the day it said otherwise, raw keeps both."""
    data_dir = lifecycle["data_dir"]
    d28, d29 = (lifecycle["nights"][d] for d in lifecycle["days"][:2])
    before, after = _lead_with(d28, "9200002"), _lead_with(d29, "9200002")
    assert before["lead_id"] == after["lead_id"]
    assert before["payoff_source"] == after["payoff_source"] == "judgment"
    assert 150_000 <= before["estimated_payoff"] < 175_000 <= after["estimated_payoff"]
    assert _state(data_dir, "SELECT amount_due FROM staged_filings WHERE record_id = '9200002'") == [
        (175000.0,)
    ]
    assert _published(data_dir, "SELECT amount_due FROM lead_filings WHERE record_id = '9200002'") == [
        (175000.0,)
    ]
    history = _published(
        data_dir,
        "SELECT as_of, estimated_payoff FROM lead_history WHERE lead_id = ? ORDER BY as_of",
        [after["lead_id"]],
    )
    assert [h[0] for h in history][:2] == lifecycle["days"][:2]
    assert history[0][1] == pytest.approx(before["estimated_payoff"])
    assert len(list((data_dir / "raw" / "fl_hillsborough").glob("2026-11-2[89]/*"))) == 2


def test_a_late_record_for_an_earlier_date_merges_into_its_case(lifecycle: dict) -> None:
    """Row 8: a final judgment recorded 10/20 arrives on 11/29, after the 11/28 notice of sale: it joins the
    same case (same lead id, three filings); the stage stays the furthest document, the sale stays recorded."""
    d28, d29 = (lifecycle["nights"][d] for d in lifecycle["days"][:2])
    before, after = _lead_with(d28, "9300003"), _lead_with(d29, "9300002")
    assert after["lead_id"] == before["lead_id"]
    assert after["filing_count"] == 3 and sorted(after["records"]) == ["9300001", "9300002", "9300003"]
    assert after["stage"] == before["stage"] == "NOTICE_OF_SALE"
    assert after["auction_date"] == before["auction_date"] == dt.date(2026, 12, 30)
    assert after["first_filing_date"] == dt.date(2026, 9, 1)
    assert d29.height == d28.height  # no new lead for the late document


def test_backfilling_one_date_changes_only_that_dates_cases(base: Baseline, work: Path) -> None:
    """Row 9: a late file for 11-26 (a final judgment for one open case) replayed as of 11-27: that case's lead
    changes; every other lead is byte-for-byte what it was (run id aside). See also test_operations.py::
    test_backfill_and_rebuild_equal_nightly_runs (a backfill equals the nightly runs)."""
    landing = work / "landing"
    shutil.copytree(base.landing, landing)
    data_dir = work / "data"
    shutil.copytree(base.next_dir, data_dir)
    [(lead_id, case_number, apn, record_id)] = _published(
        data_dir,
        "SELECT l.lead_id, f.case_number, l.apn, f.record_id FROM leads l JOIN lead_filings f USING (lead_id) "
        "WHERE l.source = 'fl_hillsborough' AND l.stage = 'LIS_PENDENS' AND l.actionable "
        "AND f.case_number IS NOT NULL AND l.apn IS NOT NULL AND l.filing_count = 1 ORDER BY l.lead_id LIMIT 1",
    )
    parcel = {"apn": apn, "owner_name": "X,Y", "legal_description": "", "situs_address": ""}
    _deliver(
        landing,
        dt.date(2026, 11, 26),
        "OR_20261126_late.txt",
        [
            _fl_record(
                parcel, id="9400001", doc="FJ", date="11/26/2026", case=case_number, amount="123456.00"
            ),
        ],
    )
    before = _published(data_dir, "SELECT * EXCLUDE (run_id) FROM leads ORDER BY lead_id")
    summary = faults.refresh(faults.fault_settings(data_dir, landing), AS_OF)
    assert summary["status"] == "published"
    after = _published(data_dir, "SELECT * EXCLUDE (run_id) FROM leads ORDER BY lead_id")
    changed = {b[0] for b, a in zip(before, after, strict=True) if a != b}
    assert changed == {lead_id}
    [(stage, filings)] = _published(
        data_dir, "SELECT stage, filing_count FROM leads WHERE lead_id = ?", [lead_id]
    )
    assert (stage, filings) == ("FINAL_JUDGMENT", 2)
    events = _published(
        data_dir, "SELECT DISTINCT lead_id FROM lead_events WHERE run_id = ?", [summary["run_id"]]
    )
    assert events == [(lead_id,)]


def test_export_problems_checks_the_full_snapshot_each_manifest_names(tmp_path: Path) -> None:
    exports = tmp_path / "exports"

    def export(name: str, full: dict | None, rows: int | None = None, finished: bool = True) -> None:
        folder = exports / name
        folder.mkdir(parents=True)
        if rows is not None:
            pl.DataFrame({"lead_id": [f"L{i}" for i in range(rows)]}).write_parquet(folder / "leads.parquet")
        if finished:
            manifest = {"files": {}, "full_snapshot": full}
            (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    export("a", {"folder": "a", "as_of": "2026-11-27", "rows": 2}, rows=2)
    export("b", {"folder": "a", "as_of": "2026-11-27", "rows": 2})
    export("c", {"folder": "gone", "as_of": "2026-11-20", "rows": 5})  # removed by a clean-up: not a fault
    assert faults.export_problems(tmp_path) == []
    export("d", {"folder": "a", "as_of": "2026-11-27", "rows": 3})
    export("e", {"folder": "f", "as_of": "2026-11-28", "rows": 2})
    export("f", None, rows=2, finished=False)  # killed before its manifest
    export("g", None)
    assert faults.export_problems(tmp_path) == [
        "d/manifest.json: a/leads.parquet is not 3 rows",
        "e/manifest.json names f, which has no finished full snapshot",
        "g/manifest.json names no full snapshot",
    ]
