"""Shared fixtures: ONE Prefect test harness per session (a temporary server costs 8-14 s to start)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = PROJECT_ROOT / "data" / "sample"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect_home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data dir whose landing folder is a copy of the committed sample deliveries."""
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE / "deliveries", landing)
    monkeypatch.setenv("LEADS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LEADS_LANDING_DIR", str(landing))
    monkeypatch.setenv("LEADS_ENVIRONMENT", "test")
    return tmp_path / "data"


@pytest.fixture
def ca_test_source():  # -> leads.sources.SourceConfig (imported late: collection stays light)
    """A small CSV filings source (`ca_test`, NOD notices) for landing and staging tests."""
    from leads.sources import SourceConfig

    return SourceConfig.model_validate(
        {
            "source": "ca_test",
            "kind": "filings",
            "county": {"name": "Test", "state": "CA", "fips": "06999"},
            "format": {"type": "delimited", "glob": "*.csv", "header": True},
            "fields": {
                "record_id": "DocNumber",
                "recorded_date": "RecDate",
                "doc_type": "DocType",
                "case_number": "TSNumber",
                "apn": "APN",
                "amount_due": "AmountDue",
            },
            "record_key": ["record_id"],
            "events": {"NOD": "NOTICE_OF_DEFAULT", "NTS": "NOTICE_OF_SALE"},
        }
    )
