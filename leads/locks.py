"""One refresh at a time: a second refresh started while one runs is refused with a clear message."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from leads.errors import LeadsError
from leads.settings import Settings


class RefreshRunning(LeadsError):
    """Another refresh holds the lock on this data directory."""


@contextmanager
def refresh_lock(settings: Settings) -> Iterator[None]:
    """An exclusive, non-blocking lock on data/state/refresh.lock, released when the process ends (even on kill)."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.state_dir / "refresh.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshRunning(
                f"another refresh is running on {settings.data_dir}; try again when it ends"
            ) from None
        yield
    finally:
        os.close(fd)
