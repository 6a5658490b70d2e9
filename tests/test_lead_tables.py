"""Leads scored night after night: open and changed leads as a full scoring gives them, final leads carried;
and each night's export: the open leads every night, the full snapshot when due.

A generated sample (a bulk history delivery, then six daily ones) goes through the pipeline's steps night by
night. After each night's case build the state is copied; the copy scores every lead, the original only the
leads that can have moved (leads/lead_tables.py), and the two candidate tables are compared. Each night ends
with the original's publish and export.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from leads import case_tables, feeds, lead_tables, pipeline, publish
from leads.db import state_db
from leads.errors import LeadsError
from leads.publish import commit_publish, export_snapshot
from leads.sample.generator import SampleSpec, generate_sample
from leads.scoring import load_scoring
from leads.settings import Settings
from leads.sources import load_sources
from transforms.cases import FINAL_STATUSES

SPEC = SampleSpec(parcels_per_county=3000, daily_days=6, history_days=900)


def _candidates(settings: Settings) -> pl.DataFrame:
    with state_db(settings) as con:
        return con.sql("SELECT * FROM candidate_leads ORDER BY lead_id").pl()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Per night: the incremental candidates, the fully scored ones, and the build's counts; and the
    incremental state after the last night."""
    root = tmp_path_factory.mktemp("lead_tables")
    generate_sample(root / "sample", SPEC)
    landing = root / "sample" / "deliveries"
    settings = Settings(data_dir=root / "incremental", landing_dir=landing, environment="test", sources="")
    full = settings.model_copy(update={"data_dir": root / "full"})
    configs = [c for c in load_sources(settings.sources_dir) if (landing / c.source).is_dir()]
    scoring = load_scoring(settings.config_dir / "scoring.yaml")
    days = sorted({p.name for p in landing.glob("*/*") if p.is_dir()})
    out = []
    for night, day in enumerate(days):
        as_of, run_id = dt.date.fromisoformat(day), f"night-{night}"
        with state_db(settings) as con:
            if night == 0:
                pipeline.ensure_staged_tables(con)
                pipeline.load_reference(con, settings)
            pipeline.start_run(con, run_id, as_of, dt.datetime.combine(as_of, dt.time(5)))
            for config in configs:
                received = dt.datetime.combine(as_of, dt.time(6))
                outcome = pipeline.run_source(con, config, settings, as_of, run_id, received)
                assert outcome.status in ("ok", "no_new_files"), outcome.message
            case_tables.build_cases(con, settings, as_of)
        shutil.rmtree(full.data_dir, ignore_errors=True)
        shutil.copytree(settings.data_dir, full.data_dir)
        with state_db(full) as con:
            lead_tables.build_leads(con, full, scoring, as_of, run_id, full=True)
        with state_db(settings) as con:
            counts = lead_tables.build_leads(con, settings, scoring, as_of, run_id)
        with state_db(settings) as con:  # the leads carried on the next night are the published ones
            pipeline.build_changes(con, run_id, as_of)
            commit_publish(con, run_id)
            export = export_snapshot(con, settings, run_id)
            published = con.sql("SELECT * FROM published_leads WHERE NOT suppressed ORDER BY lead_id").pl()
        out.append(
            {
                "as_of": as_of,
                "counts": counts,
                "inc": _candidates(settings),
                "full": _candidates(full),
                "export": export,
                "published": published,
            }
        )
    return {"nights": out, "settings": settings, "scoring": scoring}


@pytest.fixture
def nights(run: dict) -> list[dict]:
    return run["nights"]


def test_every_case_keeps_exactly_one_lead(nights: list[dict]) -> None:
    for night in nights:
        assert night["inc"]["lead_id"].to_list() == night["full"]["lead_id"].to_list()
        assert night["counts"]["leads"] == night["full"].height


def test_rescored_leads_equal_a_full_scoring_and_open_leads_are_always_rescored(nights: list[dict]) -> None:
    for night in nights:
        inc = night["inc"]
        rescored = inc.filter(pl.col("as_of") == night["as_of"])
        assert rescored.height == night["counts"]["leads_scored"]
        expected = night["full"].filter(pl.col("lead_id").is_in(rescored["lead_id"].implode()))
        assert_frame_equal(rescored, expected)
        assert inc.filter(~pl.col("status").is_in(FINAL_STATUSES))["as_of"].unique().to_list() == [
            night["as_of"]
        ]
        assert (rescored["run_id"] == f"night-{nights.index(night)}").all()


def test_final_leads_keep_the_row_of_the_night_they_were_last_scored(nights: list[dict]) -> None:
    carried_total = 0
    for before, night in zip(nights, nights[1:], strict=False):
        carried = night["inc"].filter(pl.col("as_of") < night["as_of"])
        carried_total += carried.height
        assert carried["status"].is_in(FINAL_STATUSES).all()
        previous = before["inc"].filter(pl.col("lead_id").is_in(carried["lead_id"].implode()))
        assert_frame_equal(carried, previous)  # run_id too: the run that scored the row
    # the first night scores everything; later nights carry most final leads
    assert nights[0]["counts"]["leads_scored"] == nights[0]["counts"]["leads"]
    assert carried_total > 0 and all(n["counts"]["leads_scored"] < n["counts"]["leads"] for n in nights[1:])


SYNTHETIC = """
INSERT INTO staged_filings BY NAME
SELECT * REPLACE (? AS record_id, ? AS case_number, ? AS event, ? AS recorded_date, NULL AS ref_record_id,
                  'synthetic.csv' AS file, ? AS delivery_date)
FROM staged_filings
WHERE source = ? AND record_id = ?
"""


UNMATCHED = """
INSERT INTO staged_filings BY NAME
SELECT * REPLACE (? AS record_id, ? AS case_number, 'LIS_PENDENS' AS event, ? AS recorded_date,
                  NULL AS ref_record_id, NULL AS apn, NULL AS apn_key, NULL AS legal_description,
                  NULL AS legal_key, NULL AS situs_address, NULL AS street_key, 'synthetic.csv' AS file,
                  ? AS delivery_date)
FROM staged_filings
WHERE source = ? AND record_id = ?
"""


def test_a_new_case_on_a_final_leads_parcel_and_a_change_to_an_unmatched_case_rescore_them(
    run: dict, tmp_path: Path
) -> None:
    """A final lead is scored again when another case appears on its parcel (its distress signals count the
    other cases), and an unmatched case that changes is scored again although it has no parcel."""
    suit_day = run["nights"][-1]["as_of"] + dt.timedelta(days=1)
    as_of = suit_day + dt.timedelta(days=1)
    settings = run["settings"].model_copy(update={"data_dir": tmp_path / "incremental"})
    full = run["settings"].model_copy(update={"data_dir": tmp_path / "full"})
    shutil.copytree(run["settings"].data_dir, settings.data_dir)
    pick = (
        "SELECT c.case_id, f.source, f.record_id FROM cases c JOIN case_filings f USING (case_id) "
        "WHERE {} ORDER BY c.case_id, f.record_id LIMIT 1"
    )
    with state_db(settings) as con:
        sold, sold_source, sold_record = con.execute(
            pick.format("c.status = 'sold' AND c.parcel_apn IS NOT NULL AND f.match_method = 'parcel_id'")
        ).fetchall()[0]
        _, suit_source, suit_record = con.execute(
            pick.format("f.event = 'LIS_PENDENS' AND f.case_number IS NOT NULL")
        ).fetchall()[0]
        # night 1: a suit whose parcel id, legal description and address are all missing (unmatched)
        con.execute(UNMATCHED, ["SYN-0", "SYN-CASE-0", suit_day, suit_day, suit_source, suit_record])
        case_tables.build_cases(con, settings, suit_day)
        lead_tables.build_leads(con, settings, run["scoring"], suit_day, "synthetic-0")
        loose, parcel, status = con.execute(
            "SELECT c.case_id, c.parcel_apn, c.status FROM cases c JOIN case_filings f USING (case_id) "
            "WHERE f.record_id = 'SYN-0'"
        ).fetchall()[0]
        assert parcel is None and status == "active"
        # night 2: a new suit on the sold parcel (another case number), and a release of the unmatched case
        con.execute(SYNTHETIC, ["SYN-1", "SYN-CASE-1", "LIS_PENDENS", as_of, as_of, sold_source, sold_record])
        con.execute(SYNTHETIC, ["SYN-2", "SYN-CASE-0", "RELEASE", as_of, as_of, suit_source, "SYN-0"])
        case_tables.build_cases(con, settings, as_of)
    shutil.copytree(settings.data_dir, full.data_dir)
    with state_db(settings) as con:
        lead_tables.build_leads(con, settings, run["scoring"], as_of, "synthetic")
    with state_db(full) as con:
        lead_tables.build_leads(con, full, run["scoring"], as_of, "synthetic", full=True)
    inc, expected = _candidates(settings), _candidates(full)
    for case_id in (sold, loose):
        row = inc.filter(pl.col("case_id") == case_id)
        assert_frame_equal(row, expected.filter(pl.col("case_id") == case_id))
        assert row["as_of"].item() == as_of
    assert expected.filter(pl.col("case_id") == loose)["status"].item() == "cancelled"


def test_a_night_whose_leads_were_not_published_leaves_the_next_night_to_score_them(
    run: dict, tmp_path: Path
) -> None:
    """Write-audit-publish: candidates that fail the audit are never published, so the next night compares
    its cases with the last publish, not with the failed night, and scores the changed lead again."""
    last = run["nights"][-1]["as_of"]
    settings = run["settings"].model_copy(update={"data_dir": tmp_path / "incremental"})
    full = run["settings"].model_copy(update={"data_dir": tmp_path / "full"})
    shutil.copytree(run["settings"].data_dir, settings.data_dir)
    failed_night, next_night = last + dt.timedelta(days=1), last + dt.timedelta(days=2)
    with state_db(settings) as con:
        case_id, source, record, number = con.execute(
            "SELECT c.case_id, f.source, f.record_id, f.case_number FROM cases c JOIN case_filings f "
            "USING (case_id) WHERE c.status = 'active' AND f.case_number IS NOT NULL "
            "ORDER BY c.case_id, f.record_id LIMIT 1"
        ).fetchall()[0]
        con.execute(SYNTHETIC, ["SYN-9", number, "RELEASE", failed_night, failed_night, source, record])
        case_tables.build_cases(con, settings, failed_night)
        lead_tables.build_leads(con, settings, run["scoring"], failed_night, "failed-night")
        # the audit failed: no commit_publish; the published snapshot still has the case open
        published = con.execute("SELECT status FROM published_leads WHERE case_id = ?", [case_id]).fetchall()
        assert published == [("active",)]
        case_tables.build_cases(con, settings, next_night)
    shutil.copytree(settings.data_dir, full.data_dir)
    with state_db(settings) as con:
        lead_tables.build_leads(con, settings, run["scoring"], next_night, "next-night")
        pipeline.build_changes(con, "next-night", next_night)
        commit_publish(con, "next-night")
        row = con.sql("SELECT * FROM published_leads WHERE case_id = ?", params=[case_id]).pl()
    with state_db(full) as con:
        lead_tables.build_leads(con, full, run["scoring"], next_night, "next-night", full=True)
    expected = _candidates(full).filter(pl.col("case_id") == case_id)
    assert_frame_equal(row, expected)
    assert (row["status"].item(), row["as_of"].item()) == ("cancelled", next_night)


def test_publishing_without_candidates_is_a_one_line_error(tmp_path: Path) -> None:
    with state_db(Settings(data_dir=tmp_path)) as con, pytest.raises(LeadsError, match="no candidate leads"):
        lead_tables.published_candidates(con)


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_every_export_has_the_open_leads_and_the_first_one_every_lead(nights: list[dict]) -> None:
    """The open leads every night; the full snapshot on the first export, then not again within a week (the
    default `full_export_days`): every later manifest names the first night's folder as the latest one."""
    first = nights[0]["export"]
    for night in nights:
        folder, published = night["export"], night["published"]
        open_leads = published.filter(~pl.col("status").is_in(FINAL_STATUSES))
        assert_frame_equal(pl.read_parquet(folder / "open_leads.parquet"), open_leads)
        assert 0 < open_leads.height < published.height
        manifest = _manifest(folder)
        assert manifest["open_rows"] == open_leads.height
        assert manifest["full_snapshot"]["folder"] == first.name
        assert set(manifest["files"]) == {p.name for p in folder.iterdir()} - {"manifest.json"}
        if folder == first:
            assert_frame_equal(pl.read_parquet(folder / "leads.parquet"), published)
            assert manifest["full_snapshot"]["rows"] == published.height
        else:
            assert not (folder / "leads.parquet").exists() and not (folder / "leads.csv").exists()


def test_the_full_snapshot_is_due_weekly_and_when_the_leads_were_scored_from_new_inputs(
    run: dict, tmp_path: Path
) -> None:
    settings = run["settings"].model_copy(update={"data_dir": tmp_path / "data"})
    shutil.copytree(run["settings"].data_dir, settings.data_dir)
    first, last = run["nights"][0]["as_of"], run["nights"][-1]["as_of"]
    days = (last - first).days
    with state_db(settings) as con:
        assert not publish.full_export_due(con, settings, last)
        assert publish.full_export_due(con, settings.model_copy(update={"full_export_days": days}), last)
        assert publish.full_export_due(con, settings.model_copy(update={"full_export_days": 0}), last)
        assert publish.full_export_due(con, settings, first + dt.timedelta(days=7))
        # an opt-out arrives: every lead is scored again (new inputs), and that night's export never finishes
        owner = con.execute(
            "SELECT owner_name FROM published_leads WHERE owner_name IS NOT NULL ORDER BY lead_id LIMIT 1"
        ).fetchall()[0][0]
        optout = pl.DataFrame(
            {
                "owner_name": [owner],
                "address": [None],
                "zip": [None],
                "source": ["optout_list"],
                "delivery_date": [last],
            },
            schema_overrides={"address": pl.String, "zip": pl.String},
        )
        feeds.upserted(con, "suppression", "optout_list", optout, ["owner_name", "address", "zip"])
        for run_id in ("opt-out-night", "next-night"):
            counts = lead_tables.build_leads(con, settings, run["scoring"], last, run_id)
            pipeline.start_run(con, run_id, last, dt.datetime.now())
            commit_publish(con, run_id)
            assert publish.full_export_due(con, settings, last), run_id
        assert counts["suppressed"] > 0
        folder = export_snapshot(con, settings, "next-night")
        published = con.sql("SELECT * FROM published_leads WHERE NOT suppressed ORDER BY lead_id").pl()
        assert_frame_equal(pl.read_parquet(folder / "leads.parquet"), published)
        assert owner not in (folder / "leads.csv").read_text(encoding="utf-8")
        expected = {"folder": "next-night", "as_of": last.isoformat(), "rows": published.height}
        assert _manifest(folder)["full_snapshot"] == expected
        assert not publish.full_export_due(con, settings, last)
        # the export task retried after it finished: the full snapshot is written again, not dropped
        (folder / "leads.csv").unlink()
        again = export_snapshot(con, settings, "next-night")
        assert (again / "leads.csv").exists() and "leads.csv" in _manifest(again)["files"]
