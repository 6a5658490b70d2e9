"""Pull connectors: fetch a source's records from an API into the landing folder, where they are landed and
staged exactly like a file delivery (<landing_dir>/<source>/<YYYY-MM-DD>/api_<YYYY-MM-DD>.jsonl).

The bearer token is resolved from the environment (or a Prefect Secret block) at run time and only ever sent
in the Authorization header: it never reaches a config, a log line, an error message, a file or a file name.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import fnmatch
import json
import logging
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from leads.errors import SourceFailed
from leads.files import fsync_dir
from leads.sources import HttpJsonConnector, SourceConfig

logger = logging.getLogger(__name__)

# Default wait before the first retry; doubles on each further retry (0.5 s, 1 s, 2 s, ...).
BACKOFF_SECONDS = 0.5
# Longest wait honoured from a 429's Retry-After header; a server asking for longer gets this much.
RETRY_AFTER_CAP_SECONDS = 60.0


def connector_token(config: SourceConfig) -> str | None:
    """The bearer token of an http_json source: the environment variable named by `token_env`, else a
    Prefect Secret block of the same name in lower case with dashes (HARRIS_API_TOKEN -> harris-api-token).
    None when the source needs no token or none is found."""
    connector = config.connector
    if not isinstance(connector, HttpJsonConnector) or not connector.token_env:
        return None
    value = os.environ.get(connector.token_env)
    if value:
        return value
    return _prefect_secret(connector.token_env.lower().replace("_", "-"))


def _prefect_secret(name: str) -> str | None:
    """A Prefect Secret block's value, or None when there is no such block or no Prefect API to ask."""
    try:
        from prefect.blocks.system import Secret
        from prefect.context import FlowRunContext, TaskRunContext
        from prefect.settings import PREFECT_API_URL

        # Outside a flow and without a configured API, asking would start a temporary server (8-14 s).
        if not PREFECT_API_URL.value() and FlowRunContext.get() is None and TaskRunContext.get() is None:
            return None
        value = Secret.load(name).value.get_secret_value()
    except Exception:  # no block, no server, or Prefect misconfigured: the source runs without a token
        return None
    return value if isinstance(value, str) and value else None


def fetched_delivery(
    config: SourceConfig,
    landing_dir: Path,
    as_of: dt.date,
    token: str | None,
    *,
    backoff_seconds: float = BACKOFF_SECONDS,
    retry_after_cap_seconds: float = RETRY_AFTER_CAP_SECONDS,
) -> Path | None:
    """Pull every page of an http_json source for `as_of` into its landing folder as one JSON Lines file.

    Returns the file (already there from an earlier run the same day: no request is made), or None when the
    source is not http_json or the API returned no records (nothing to land; a later run asks again).
    Raises SourceFailed (one line, no credentials) when the API cannot be read; nothing is written then.
    """
    connector = config.connector
    if not isinstance(connector, HttpJsonConnector):
        return None
    target = landing_dir / config.source / as_of.isoformat() / f"api_{as_of.isoformat()}.jsonl"
    if config.format.type != "jsonl" or not fnmatch.fnmatch(target.name, config.format.glob):
        raise SourceFailed(
            f"http_json lands JSON Lines named {target.name}: format.type must be jsonl and format.glob match it"
        )
    if target.exists():
        logger.info("%s: %s already fetched; not asking the API again", config.source, target.name)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.part")  # not matched by is_safe_name: never landed half-written
    records = 0
    try:
        with temp.open("w", encoding="utf-8") as out:
            for batch in _pages(connector, as_of, token, backoff_seconds, retry_after_cap_seconds):
                for record in batch:
                    out.write(json.dumps(record, sort_keys=True) + "\n")
                records += len(batch)
            out.flush()
            os.fsync(out.fileno())
        if records == 0:
            logger.info("%s: the API returned no records for %s", config.source, as_of.isoformat())
            return None
        os.replace(temp, target)
        fsync_dir(target.parent)
    finally:
        temp.unlink(missing_ok=True)
    logger.info("%s: fetched %d records into %s", config.source, records, target.name)
    return target


def _pages(
    connector: HttpJsonConnector, as_of: dt.date, token: str | None, backoff: float, retry_after_cap: float
) -> Iterator[list]:
    """The records of each page, in order, until an empty or short page."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # httpx drops the Authorization header when a redirect leaves the origin
    with httpx.Client(headers=headers, timeout=connector.timeout_seconds, follow_redirects=True) as client:
        previous: list | None = None
        for page in range(1, connector.max_pages + 1):
            params: dict[str, str | int] = {
                connector.page_param: page,
                connector.page_size_param: connector.page_size,
            }
            if connector.date_param:
                params[connector.date_param] = as_of.isoformat()
            batch = _page_records(client, connector, page, params, backoff, retry_after_cap)
            if not batch:
                return
            if batch == previous:
                # a server that ignores the page parameter would otherwise repeat itself up to max_pages
                raise SourceFailed(
                    f"page {page} of {safe_url(connector.url)} repeats page {page - 1} "
                    f"(does the API take `{connector.page_param}`?)"
                )
            yield batch
            if len(batch) < connector.page_size:
                return
            previous = batch
    raise SourceFailed(
        f"{safe_url(connector.url)} still returns full pages after max_pages {connector.max_pages}"
    )


def _page_records(
    client: httpx.Client,
    connector: HttpJsonConnector,
    page: int,
    params: dict[str, str | int],
    backoff: float,
    retry_after_cap: float,
) -> list:
    """One page's records, retrying connection errors, timeouts, 429 and 5xx with exponential backoff."""
    url = httpx.URL(connector.url).copy_merge_params(params)  # keeps any fixed query of the configured url
    where = f"page {page} of {safe_url(connector.url)}"
    attempts = connector.retries + 1
    problem = "no attempt made"
    for attempt in range(1, attempts + 1):
        delay = backoff * 2 ** (attempt - 1)
        try:
            response = client.get(url)
        except httpx.TimeoutException:
            problem = f"timed out after {connector.timeout_seconds:g} s"
        except httpx.TransportError as exc:
            problem = f"connection error ({type(exc).__name__})"
        except httpx.HTTPError as exc:  # too many redirects, undecodable body: retrying will not help
            raise SourceFailed(f"{where}: {type(exc).__name__}") from None
        else:
            status = response.status_code
            if response.is_success:
                return _records(response, connector.records_path, where)
            if status != 429 and status < 500:
                raise SourceFailed(f"HTTP {status} on {where}")
            problem = f"HTTP {status}"
            if status in (429, 503):
                delay = _retry_after(response.headers.get("Retry-After"), delay, retry_after_cap)
        if attempt < attempts:
            logger.warning(
                "%s: %s; retry %d of %d in %.2f s", where, problem, attempt, connector.retries, delay
            )
            time.sleep(delay)
    raise SourceFailed(f"{problem} on {where} after {attempts} attempt(s)")


def _records(response: httpx.Response, records_path: str | None, where: str) -> list:
    try:
        document = response.json()
    except ValueError:
        raise SourceFailed(f"{where}: response is not JSON") from None
    if records_path:
        document = document.get(records_path) if isinstance(document, dict) else None
    if not isinstance(document, list):
        raise SourceFailed(f"{where}: no list of records at {records_path or 'the top level'}")
    return document


def _retry_after(header: str | None, fallback: float, cap: float) -> float:
    """Seconds to wait from a Retry-After header (delay in seconds or an HTTP date), at most `cap`."""
    if not header:
        return fallback
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return fallback
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    if not math.isfinite(seconds):
        return fallback
    return min(max(seconds, 0.0), cap)


def safe_url(url: str) -> str:
    """The url without user info, query string or fragment: safe for messages and logs."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "(invalid url)"
    return str(parsed.copy_with(userinfo=b"", query=None, fragment=None))
