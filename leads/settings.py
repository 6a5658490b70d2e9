"""The one settings module: paths, database, sources and environment, overridable by `LEADS_*` variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Where everything lives. Every field can be set with an environment variable `LEADS_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="LEADS_", frozen=True)

    environment: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = PROJECT_ROOT / "data"
    # Where county and vendor deliveries arrive: <landing_dir>/<source>/<YYYY-MM-DD>/<files>.
    # Defaults to the committed sample (data/sample/deliveries) so `make run` works on a fresh clone;
    # production sets LEADS_LANDING_DIR.
    landing_dir: Path | None = None
    config_dir: Path = PROJECT_ROOT / "config"
    reference_dir: Path = PROJECT_ROOT / "data" / "reference"
    sql_dir: Path = PROJECT_ROOT / "sql"
    # Comma-separated source ids to run; empty = every config in config/sources/.
    sources: str = ""
    # When the nightly deployment runs (cron in `schedule_timezone`; keep it out of the 02:00-03:00 DST gap).
    # 04:30 Eastern: after county recorders publish the previous day's export.
    schedule_cron: str = "30 4 * * *"
    schedule_timezone: str = "America/New_York"
    # Local Prefect server for `make serve` (loopback only).
    server_host: str = "127.0.0.1"
    server_port: int = 4200
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = 0  # 0 = DuckDB's default (all cores)
    # The Dask refresh (flows/scale_out.py, `leads refresh --dask`): an existing scheduler's address
    # (tcp://host:8786), else a local cluster of this many worker processes. See docs/scale-out.md.
    dask_address: str = ""
    dask_workers: int = Field(default=2, ge=1)
    # Every export has the open leads and the change feed; the full snapshot of every lead (`leads.*`) is
    # written when the last one is this many days old (by as-of date), on the first export and after a full
    # rescoring. 0 = every run. See README "Exports".
    full_export_days: int = Field(default=7, ge=0)

    @property
    def landing(self) -> Path:
        return self.landing_dir or PROJECT_ROOT / "data" / "sample" / "deliveries"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def state_dir(self) -> Path:
        """The pipeline's private working state: never opened by analysts."""
        return self.data_dir / "state"

    @property
    def state_db(self) -> Path:
        return self.state_dir / "pipeline.duckdb"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @property
    def published_db(self) -> Path:
        """The file analysts and other systems open; replaced atomically by each successful run."""
        return self.warehouse_dir / "leads.duckdb"

    @property
    def reports_dir(self) -> Path:
        """The morning report of every run: <run_id>.html and latest.html."""
        return self.data_dir / "reports"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def sources_dir(self) -> Path:
        return self.config_dir / "sources"

    @property
    def selected_sources(self) -> list[str]:
        return [s.strip() for s in self.sources.split(",") if s.strip()]


def configure_prefect_defaults(settings: Settings) -> None:
    """Offline-friendly Prefect defaults (see docs/decisions.md); explicit environment variables win."""
    defaults = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_HOME": str(settings.data_dir / ".prefect"),
        # The temporary server takes 8-14 s to start on 2 cores; give slow CI machines room.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LOG_PRINTS": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


def get_settings() -> Settings:
    return Settings()
