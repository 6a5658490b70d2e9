"""The nightly refresh as a scheduled Prefect deployment: cron + explicit timezone, one run at a time.

Checked without a server in tests (entrypoint loads, parameters validate, schedule valid, concurrency set).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Schedule
from pydantic import ValidationError

from flows.nightly import nightly_refresh
from leads.errors import ConfigError
from leads.settings import Settings

DEPLOYMENT_NAME = "nightly"
ENTRYPOINT = "flows/nightly.py:nightly_refresh"
# A second run while one is going is queued, never run alongside (the refresh lock would refuse it anyway).
ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def nightly_schedule(settings: Settings) -> Schedule:
    """The cron schedule with its timezone; refuses invalid crons, unknown zones and the DST gap hour."""
    cron, zone = settings.schedule_cron, settings.schedule_timezone
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        raise ConfigError(f"LEADS_SCHEDULE_TIMEZONE: {zone!r} is not a known timezone") from None
    try:
        CronSchedule(cron=cron, timezone=zone)
    except ValidationError:
        raise ConfigError(f"LEADS_SCHEDULE_CRON: {cron!r} is not a valid cron expression") from None
    hour = cron.split()[1]
    if hour == "2" or hour == "02":
        # 02:00-03:00 local does not exist on the spring DST day and repeats in the fall
        raise ConfigError(f"LEADS_SCHEDULE_CRON: {cron!r} runs in the 02:00-03:00 DST gap; pick another hour")
    return Cron(cron, timezone=zone)


def nightly_deployment(settings: Settings) -> RunnerDeployment:
    """The deployment `make serve` serves (and `prefect deploy` would register): parameters as-of and sources."""
    return nightly_refresh.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[nightly_schedule(settings)],
        concurrency_limit=ONE_AT_A_TIME,
        parameters={},
        description="Nightly pre-foreclosure refresh: land, validate, match, score, audit, publish, export.",
        tags=["leads", "nightly"],
    )
