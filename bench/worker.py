"""One measured benchmark job, run in its own process: `python -m bench.worker JOB.json`.

Jobs: `generate` (a tier's inputs into the cache), `ingest` (the 1M-row parse + validate micro-benchmark),
`refresh` (a full or incremental nightly refresh, optionally under cProfile) and `accuracy` (leads.evaluate,
when that module exists). The result goes to the job's `result` path as JSON; the stage being run is appended
to `progress` so that the parent can say where a job was when it had to be stopped.

The refresh calls the functions of leads/pipeline.py and leads/publish.py directly, in the order of
flows/nightly.py, without Prefect (its temporary server is measured separately through the CLI).
"""

from __future__ import annotations

import cProfile
import datetime as dt
import importlib
import inspect
import json
import os
import pstats
import re
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROFILE_TOP = 30


# ---------------------------------------------------------------------------------------------- memory


def _status_kb(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else None


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


class Stages:
    """Wall time and peak RSS per stage; per-stage peaks come from resetting VmHWM at each stage start."""

    def __init__(self, progress: Path | None) -> None:
        self.progress = progress
        self.records: list[dict[str, Any]] = []
        self.process_peak_kb = _status_kb("VmHWM") or 0
        self.per_stage_peaks = True

    def note(self, text: str) -> None:
        if self.progress is not None:
            with self.progress.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"t": round(time.time(), 3), "stage": text}) + "\n")

    @contextmanager
    def stage(self, name: str) -> Iterator[dict[str, Any]]:
        self.note(name)
        self.process_peak_kb = max(self.process_peak_kb, _status_kb("VmHWM") or 0)
        self.per_stage_peaks = _reset_peak() and self.per_stage_peaks
        # a stage's peak includes what the process already held at its start (freed memory the allocator
        # has not returned yet counts as RSS)
        record: dict[str, Any] = {"stage": name, "rss_start_mb": _mb(_status_kb("VmRSS"))}
        cpu_start = time.process_time()
        start = time.perf_counter()
        try:
            yield record
        except BaseException as exc:
            record["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            raise
        finally:
            record["seconds"] = round(time.perf_counter() - start, 3)
            # CPU seconds of all the process's threads: less sensitive than wall time to other load on the box
            record["cpu_s"] = round(time.process_time() - cpu_start, 3)
            peak = _status_kb("VmHWM")
            self.process_peak_kb = max(self.process_peak_kb, peak or 0)
            record["peak_rss_mb"] = _mb(peak)
            rows = record.get("rows")
            if rows and record["seconds"] > 0:
                record["rows_per_s"] = round(rows / record["seconds"])
            self.records.append(record)

    def summary(self) -> dict[str, Any]:
        self.process_peak_kb = max(self.process_peak_kb, _status_kb("VmHWM") or 0)
        return {
            "stages": self.records,
            "peak_rss_mb": _mb(self.process_peak_kb),
            "per_stage_peaks": self.per_stage_peaks,
        }


# -------------------------------------------------------------------------------------------- generate


def job_generate(job: dict, stages: Stages) -> dict:
    from bench.tiers import MARKER, generator_digest, spec_from_json
    from leads.sample import generate_sample

    spec = spec_from_json(job["spec"])
    target = Path(job["folder"])
    building = target.with_name(f".{target.name}.building")
    shutil.rmtree(building, ignore_errors=True)
    with stages.stage("generate") as rec:
        summary = generate_sample(building, spec)
        rec["rows"] = sum(c.get("parcels", 0) for c in summary["counties"].values())
        rec["unit"] = "parcels"
    counts = _generated_counts(summary)
    marker = {
        "spec": job["spec"],
        "generator": generator_digest(),
        "seconds": stages.records[-1]["seconds"],
        "peak_rss_mb": stages.records[-1]["peak_rss_mb"],
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "counts": counts,
        "summary": summary,
    }
    (building / MARKER).write_text(json.dumps(marker, indent=2, default=str) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(building, target)
    return {"counts": counts}


def _generated_counts(summary: dict) -> dict[str, int]:
    """Totals over counties: parcels, feed rows, filing rows (all delivered documents) and foreclosure rows."""
    totals: dict[str, int] = {}
    for county in summary["counties"].values():
        for key, value in county.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    return totals


# ---------------------------------------------------------------------------------------------- ingest


def _ingest_file(job: dict, stages: Stages) -> Path:
    """A `rows`-line delivery in Hillsborough's recorder format (pipe-delimited, no header, trailing `|`, CRLF).

    Made once, deterministically: a generated Florida county's bulk history file, tiled with the instrument
    number prefixed by the copy number so that record ids stay unique."""
    folder = Path(job["folder"])
    target = folder / f"OR_bench_{job['rows']}.txt"
    if target.is_file():
        return target
    from leads.sample import SampleSpec, generate_sample

    with stages.stage("make_ingest_file") as rec:
        seed_dir = folder / "seed_county"
        shutil.rmtree(seed_dir, ignore_errors=True)
        spec = SampleSpec(
            seed=job["seed"],
            # ~0.19 delivered rows per parcel over two years: enough distinct rows to tile, quick to make
            parcels_per_county=min(200_000, max(2_000, job["rows"] // 2)),
            counties=("fl_hillsborough",),
            history_days=730,
            daily_days=0,
        )
        generate_sample(seed_dir, spec)
        history = sorted((seed_dir / "deliveries" / "fl_hillsborough").glob("*/OR_*.txt"))[0]
        lines = [line for line in history.read_bytes().split(b"\r\n") if line]
        out: list[bytes] = []
        copy = 0
        while len(out) < job["rows"]:
            prefix = b"%03d" % copy
            for line in lines[: job["rows"] - len(out)]:
                out.append(prefix + line)
            copy += 1
        temp = target.with_name(f".{target.name}.part")
        temp.write_bytes(b"\r\n".join(out) + b"\r\n")
        os.replace(temp, target)
        shutil.rmtree(seed_dir, ignore_errors=True)
        rec["rows"] = len(out)
    return target


def job_ingest(job: dict, stages: Stages) -> dict:
    import polars as pl

    from leads.readers import read_delivery
    from leads.settings import Settings
    from leads.sources import load_sources
    from leads.validation import validated
    from schemas.inputs import StagedFiling
    from schemas.vocabulary import FILING_FIELDS
    from transforms.canonical import canonical_records, with_events

    path = _ingest_file(job, stages)
    config = load_sources(Settings().sources_dir, ["fl_hillsborough"])[0]

    def parse(p: Path) -> tuple[Any, pl.DataFrame]:
        raw = read_delivery(p, config.format)
        return raw, raw.frame

    def canonical(frame: pl.DataFrame) -> pl.DataFrame:
        records = canonical_records(
            frame, config.fields, FILING_FIELDS, config.null_values, config.date_formats
        )
        return with_events(records, config.events, config.default_event)

    # warm-up on a small slice: imports, pandera schema construction, Polars thread pool
    warm = path.with_name(".warmup.txt")
    warm.write_bytes(b"\r\n".join(path.read_bytes().split(b"\r\n")[:2000]) + b"\r\n")
    _, frame = parse(warm)
    validated(canonical(frame), StagedFiling, frame, config.source, warm.name)
    warm.unlink()

    runs = []
    for repeat in range(job["repeats"]):
        with stages.stage(f"read_delivery#{repeat + 1}") as read_rec:
            raw, frame = parse(path)
            read_rec["rows"] = frame.height
        with stages.stage(f"canonical+events#{repeat + 1}") as canon_rec:
            records = canonical(frame)
            canon_rec["rows"] = records.height
        with stages.stage(f"validate#{repeat + 1}") as valid_rec:
            checked = validated(records, StagedFiling, frame, config.source, path.name)
            valid_rec["rows"] = records.height
        runs.append(
            {
                "read_s": read_rec["seconds"],
                "canonical_s": canon_rec["seconds"],
                "validate_s": valid_rec["seconds"],
                "cpu_s": round(read_rec["cpu_s"] + canon_rec["cpu_s"] + valid_rec["cpu_s"], 3),
                "peak_rss_mb": max(
                    read_rec["peak_rss_mb"], canon_rec["peak_rss_mb"], valid_rec["peak_rss_mb"]
                ),
            }
        )
        counts = {
            "rows_read": frame.height,
            "rows_unreadable": len(raw.unreadable),
            "rows_ignored_event": records.filter(pl.col("event") == "IGNORE").height,
            "rows_valid": checked.valid.height,
            "rows_quarantined": checked.rejected_rows,
        }
        del raw, frame, records, checked
    as_staged = _as_staged(config, path, stages)
    best = min(runs, key=lambda r: r["read_s"] + r["canonical_s"] + r["validate_s"])
    rows = counts["rows_read"] + counts["rows_unreadable"]
    parse_s = best["read_s"] + best["canonical_s"]
    return {
        "file": str(path),
        "bytes": path.stat().st_size,
        "rows": rows,
        "counts": counts,
        "repeats": runs,
        "best": {
            "read_s": best["read_s"],
            "canonical_s": best["canonical_s"],
            "parse_s": round(parse_s, 3),
            "validate_s": best["validate_s"],
            "parse_validate_s": round(parse_s + best["validate_s"], 3),
            "parse_validate_cpu_s": best["cpu_s"],
            "parse_rows_per_s": round(rows / parse_s) if parse_s else None,
            "validate_rows_per_s": round(rows / best["validate_s"]) if best["validate_s"] else None,
            "parse_validate_rows_per_s": round(rows / (parse_s + best["validate_s"])),
        },
        "as_staged": as_staged,
    }


def _as_staged(config: Any, path: Path, stages: Stages) -> dict:
    """The same file through the pipeline's own per-file staging step (read, canonicalize, drop IGNORE,
    validate, provenance); a private function, so a changed signature is reported rather than fatal."""
    try:
        from leads.landing import LandedFile
        from leads.staging import _file_records

        landed = LandedFile(
            config.source, dt.date(2026, 11, 25), path.name, path.name, "-", path.stat().st_size
        )
        with stages.stage("staging._file_records") as rec:
            valid, quarantine, rows_in, ignored = _file_records(config, landed, path.parent, [])
            rec["rows"] = rows_in
        return {
            "seconds": rec["seconds"],
            "rows_in": rows_in,
            "rows_ignored": ignored,
            "rows_valid": valid.height,
            "quarantine_rows": quarantine.height,
            "rows_per_s": rec.get("rows_per_s"),
            "peak_rss_mb": rec["peak_rss_mb"],
        }
    except Exception as exc:  # the figure is optional; the micro-benchmark above stands on its own
        return {"skipped": f"{type(exc).__name__}: {str(exc)[:200]}"}


# --------------------------------------------------------------------------------------------- refresh


def _timed(fn: Callable, split: dict[str, float], key: str) -> Callable:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            split[key] = split.get(key, 0.0) + time.perf_counter() - start

    return wrapper


def direct_refresh(settings: Any, as_of: dt.date, stages: Stages) -> dict:
    """The nightly refresh without Prefect: flows/nightly.py's steps, each in its own state connection."""
    from leads import pipeline

    # land vs stage time inside run_source: time the two calls it makes (restored afterwards)
    split: dict[str, float] = {}
    wrapped = {"landed_deliveries": "land", "staged_source": "stage"}
    originals = {name: getattr(pipeline, name) for name in wrapped if hasattr(pipeline, name)}
    for name, fn in originals.items():
        setattr(pipeline, name, _timed(fn, split, wrapped[name]))
    try:
        return _steps(settings, as_of, stages, split)
    finally:
        for name, fn in originals.items():
            setattr(pipeline, name, fn)


def _steps(settings: Any, as_of: dt.date, stages: Stages, split: dict[str, float]) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    from leads import case_tables, lead_tables, pipeline
    from leads.db import state_db
    from leads.landing import Receiver
    from leads.locks import refresh_lock
    from leads.publish import audit_failures, export_snapshot, publish
    from leads.scoring import load_scoring
    from leads.sources import load_sources

    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_id = pipeline.new_run_id(as_of, started_at)
    counts: dict[str, Any] = {}
    with refresh_lock(settings):
        with stages.stage("load_configs"):
            configs = load_sources(settings.sources_dir, settings.selected_sources)
            scoring = load_scoring(settings.config_dir / "scoring.yaml")
        with stages.stage("start_run"), state_db(settings) as con:
            pipeline.start_run(con, run_id, as_of, started_at)
            pipeline.ensure_staged_tables(con)
            pipeline.load_reference(con, settings)
        outcomes = []
        # the receiver copies the sources' new files into raw while earlier ones stage
        with Receiver() as receiver, ThreadPoolExecutor(max_workers=1) as side:
            with stages.stage("receive_ahead") as rec, state_db(settings) as con:
                rec["files"] = pipeline.receive_ahead(
                    con, pipeline.landing_order(configs), settings, as_of, receiver
                )
            # as flows.nightly.stage_in_process: the filing sources landed first and prepared on a side thread,
            # the other sources staged in turn, then the filing sources committed (their stage rows: the commit)
            early = pipeline.sources_ahead(configs)
            ahead = {}
            for config in early:
                with stages.stage(f"land_ahead:{config.source}"), state_db(settings) as con:
                    ahead[config.source] = pipeline.landed_ahead(
                        con, config, settings, as_of, run_id, started_at, side, receiver
                    )
            for config in [c for c in configs if c.source not in ahead] + early:
                split.clear()
                with stages.stage(f"source:{config.source}") as rec, state_db(settings) as con:
                    if config.source in ahead:
                        outcome = pipeline.staged_ahead(
                            con, config, settings, as_of, run_id, started_at, ahead[config.source]
                        )
                    else:
                        outcome = pipeline.run_source(
                            con, config, settings, as_of, run_id, started_at, receiver
                        )
                    pipeline.record_source(con, run_id, outcome)
                    rec.update(
                        rows=outcome.rows_in,
                        status=outcome.status,
                        files_landed=outcome.files_landed,
                        rows_staged=outcome.rows_staged,
                        rows_quarantined=outcome.rows_quarantined,
                    )
                    if config.source not in ahead:  # (a source landed ahead only commits here)
                        rec.update(
                            land_s=round(split.get("land", 0.0), 3), stage_s=round(split.get("stage", 0.0), 3)
                        )
                    if outcome.message:
                        rec["message"] = outcome.message[:300]
                outcomes.append(outcome)
        outcomes.sort(key=lambda o: [c.source for c in configs].index(o.source))  # config order, as the flow
        with stages.stage("build_cases") as rec, state_db(settings) as con:
            case_counts = case_tables.build_cases(con, settings, as_of)
            rec["rows"] = case_counts.get("filings", 0)
            rec["unit"] = "filings"
        with stages.stage("build_leads") as rec, state_db(settings) as con:
            lead_counts = lead_tables.build_leads(con, settings, scoring, as_of, run_id)
            rec["rows"] = lead_counts.get("leads", 0)
            rec["unit"] = "leads"
        if hasattr(pipeline, "build_changes"):
            with stages.stage("build_changes") as rec, state_db(settings) as con:
                lead_counts |= pipeline.build_changes(con, run_id, as_of)
                rec["rows"] = lead_counts.get("leads", 0)
                rec["unit"] = "leads"
        with stages.stage("audit") as rec, state_db(settings) as con:
            failures = [f"{f.audit}: {f.detail}" for f in audit_failures(con, settings)]
            rec["rows"] = lead_counts.get("leads", 0)
            rec["unit"] = "leads"
        timings = {r["stage"]: r["seconds"] for r in stages.records}
        summary = pipeline.run_summary(
            run_id, as_of, outcomes, {**case_counts, **lead_counts}, failures, timings
        )
        counts["run"] = {
            "status": summary["status"],
            "message": summary["message"],
            "stage_counts": summary["stage_counts"],
            "failed_sources": summary["failed_sources"],
        }
        if failures:
            with stages.stage("finish_run"), state_db(settings) as con:
                pipeline.finish_run(con, run_id, "failed", summary)
            return counts
        with stages.stage("publish") as rec, state_db(settings) as con:
            pipeline.finish_run(con, run_id, summary["status"], summary)
            publish(con, settings, run_id)
            rec["rows"] = lead_counts.get("leads", 0)
            rec["unit"] = "leads"
        with stages.stage("export") as rec, state_db(settings) as con:
            folder = export_snapshot(con, settings, run_id)
            rec["rows"] = _exported_leads(folder)
            rec["unit"] = "leads"
        with stages.stage("finish_run"), state_db(settings) as con:
            pipeline.finish_run(con, run_id, summary["status"], summary)
        _html_report(settings, run_id, stages)
    return counts


def _exported_leads(folder: Path) -> int:
    """Lead rows the export wrote: the open leads, plus the full snapshot when this export has it."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    full = manifest["full_snapshot"]
    return manifest["open_rows"] + (full["rows"] if full and full["folder"] == folder.name else 0)


def _html_report(settings: Any, run_id: str, stages: Stages) -> None:
    """The flow's morning report (leads/html_report.py), when the module exists; Prefect artifacts are not
    written here (they need a Prefect run)."""
    try:
        from leads.html_report import write_report
    except ImportError:
        return
    reports_dir = getattr(settings, "reports_dir", settings.data_dir / "reports")
    with stages.stage("html_report") as rec:
        write_report(settings.published_db, reports_dir, run_id)
        rec["unit"] = "report"


def _table_counts(path: Path, tables: list[str]) -> dict[str, int]:
    import duckdb

    if not path.is_file():
        return {}
    from leads.db import state_reader

    # the state's staged feeds are views over Parquet (leads/feeds.py)
    con = state_reader(path) if path.name == "pipeline.duckdb" else duckdb.connect(str(path), read_only=True)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        present |= {
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
            ).fetchall()
        }
        return {
            t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608 (names from our own list)
            for t in tables
            if t in present
        }
    finally:
        con.close()


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def output_counts(settings: Any) -> dict:
    from leads.staging import STAGED_TABLES

    state_tables = [*STAGED_TABLES.values(), "case_filings", "cases", "candidate_leads", "quarantine", "runs"]
    published_tables = ["leads", "lead_filings", "lead_history", "lead_events", "quarantine", "runs"]
    return {
        "state": _table_counts(settings.state_db, state_tables),
        "published": _table_counts(settings.published_db, published_tables),
        "bytes": {
            "raw": _dir_bytes(settings.raw_dir),
            "state_db": settings.state_db.stat().st_size if settings.state_db.is_file() else 0,
            "published_db": settings.published_db.stat().st_size if settings.published_db.is_file() else 0,
            "exports": _dir_bytes(settings.exports_dir),
        },
    }


def _short(filename: str) -> str:
    if filename.startswith(str(PROJECT_ROOT)):
        return filename[len(str(PROJECT_ROOT)) + 1 :]
    marker = "site-packages/"
    return filename.split(marker, 1)[1] if marker in filename else filename


def profile_top(stats: pstats.Stats, key: str, limit: int, project_only: bool = False) -> list[dict]:
    """The top `limit` functions by cumulative (`ct`) or own (`tt`) time."""
    rows = []
    for (filename, line, name), (cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if project_only and not (
            filename.startswith(str(PROJECT_ROOT)) and "/bench/" not in filename and "/.venv/" not in filename
        ):
            continue
        rows.append(
            {
                "function": f"{_short(filename)}:{line}({name})",
                "calls": nc,
                "primitive_calls": cc,
                "tottime_s": round(tt, 3),
                "cumtime_s": round(ct, 3),
            }
        )
    rows.sort(key=lambda r: r["cumtime_s" if key == "ct" else "tottime_s"], reverse=True)
    return rows[:limit]


def job_refresh(job: dict, stages: Stages) -> dict:
    from leads.settings import Settings

    setup = time.perf_counter()
    data_dir = Path(job["data_dir"])
    if job["mode"] != "incremental":
        shutil.rmtree(data_dir, ignore_errors=True)
    settings = Settings(data_dir=data_dir, landing_dir=Path(job["landing"]))
    as_of = dt.date.fromisoformat(job["as_of"])
    # import the pipeline's modules before the clock starts: their import time is not pipeline work
    importlib.import_module("leads.pipeline")
    importlib.import_module("leads.publish")
    start = time.perf_counter()
    cpu_start = time.process_time()
    if job.get("profile"):
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            counts = direct_refresh(settings, as_of, stages)
        finally:
            profiler.disable()
            profiler.dump_stats(job["profile"])
        stats = pstats.Stats(profiler)
        profile = {
            "file": job["profile"],
            "top_cumulative": profile_top(stats, "ct", PROFILE_TOP),
            "top_cumulative_project": profile_top(stats, "ct", PROFILE_TOP, project_only=True),
            "top_own_time": profile_top(stats, "tt", PROFILE_TOP),
        }
    else:
        counts = direct_refresh(settings, as_of, stages)
        profile = None
    pipeline_s = round(time.perf_counter() - start, 3)
    pipeline_cpu_s = round(time.process_time() - cpu_start, 3)
    counted = time.perf_counter()
    result = {
        "as_of": as_of.isoformat(),
        "mode": job["mode"],
        "pipeline_s": pipeline_s,
        "pipeline_cpu_s": pipeline_cpu_s,
        "setup_s": round(start - setup, 3),
        **counts,
        "outputs": output_counts(settings),
    }
    result["outputs_s"] = round(time.perf_counter() - counted, 3)
    if profile:
        result["profile"] = profile
    return result


# -------------------------------------------------------------------------------------------- accuracy


def _jsonable(value: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if hasattr(value, "to_dicts"):
        return value.to_dicts()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def job_accuracy(job: dict, stages: Stages) -> dict:
    """Accuracy against the generator's truth via leads.evaluate, if that module exists (it is optional)."""
    try:
        module = importlib.import_module("leads.evaluate")
    except ModuleNotFoundError as exc:
        if exc.name in ("leads.evaluate", "leads"):
            return {"skipped": "leads.evaluate is not present (accuracy figures come from issues 4 and 5)"}
        raise
    from leads.settings import Settings

    data_dir = Path(job["data_dir"])
    settings = Settings(data_dir=data_dir, landing_dir=Path(job["landing"]))
    sample_dir = Path(job["landing"]).parent
    published = settings.published_db
    offered: dict[str, Any] = {
        "settings": settings,
        "data_dir": data_dir,
        "published_db": published,
        "warehouse": published,
        "warehouse_db": published,
        "db_path": published,
        "database": published,
        "db": published,
        "truth_dir": sample_dir / "truth",
        "truth": sample_dir / "truth",
        "sample_dir": sample_dir,
        "sample": sample_dir,
        "config_dir": settings.config_dir,
        "sources_dir": settings.sources_dir,
        "as_of": dt.date.fromisoformat(job["as_of"]),
    }
    names = ("evaluate", "evaluation", "accuracy", "accuracy_report", "evaluate_run", "run", "main")
    for name in names:
        fn = getattr(module, name, None)
        if not callable(fn) or inspect.isclass(fn):
            continue
        params = inspect.signature(fn).parameters
        required = [
            p.name
            for p in params.values()
            if p.default is inspect.Parameter.empty
            and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        ]
        if any(r not in offered for r in required):
            continue
        kwargs = {p: offered[p] for p in params if p in offered}
        with stages.stage(f"leads.evaluate.{name}"):
            value = fn(**kwargs)
        return {"function": f"leads.evaluate.{name}", "figures": _jsonable(value)}
    signatures = {
        n: str(inspect.signature(getattr(module, n)))
        for n in dir(module)
        if not n.startswith("_") and inspect.isfunction(getattr(module, n))
    }
    return {"skipped": f"no entry point the benchmark knows how to call; public functions: {signatures}"}


# ------------------------------------------------------------------------------------------------ main

JOBS: dict[str, Callable[[dict, Stages], dict]] = {
    "generate": job_generate,
    "ingest": job_ingest,
    "refresh": job_refresh,
    "accuracy": job_accuracy,
}


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    progress = Path(job["progress"]) if job.get("progress") else None
    stages = Stages(progress)
    result: dict[str, Any] = {"job": job["job"]}
    code = 0
    try:
        result |= JOBS[job["job"]](job, stages)
        result["ok"] = True
    except BaseException as exc:
        result["ok"] = False
        result["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
        result["traceback"] = traceback.format_exc()[-4000:]
        code = 1
    result |= stages.summary()
    Path(job["result"]).write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
