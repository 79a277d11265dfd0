"""The clock that ends alerts: at `expires_at` an active alert expires with no staff request;
`privacy.purge_after` after an alert left the screens, its child's data is purged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from feedserver.alerts.service import AlertService
from feedserver.events import EventBus
from feedserver.timeutil import parse_time

log = logging.getLogger(__name__)

MAX_SLEEP_SECONDS = 60.0
RETRY_SECONDS = 1.0


async def run_expiry_clock(alerts: AlertService, bus: EventBus, purge_after: timedelta) -> None:
    """Sleep until the next expiry or purge or until any change, do what is due, repeat."""
    changed = asyncio.Event()
    bus.add_listener(lambda alert, event: changed.set())
    while True:
        changed.clear()
        try:
            for alert in await alerts.expire_due():
                log.info("alert %s expired", alert.id)
            purged, next_purge = await alerts.purge_due(purge_after)
            for alert_id in purged:
                log.info("alert %s: personal data purged", alert_id)
            active = await alerts.list(["active"])
        except Exception:
            log.exception("expiry check failed; retrying")
            await asyncio.sleep(RETRY_SECONDS)
            continue
        now = alerts.clock()
        deadlines = [(parse_time(a.expires_at) - now).total_seconds() for a in active
                     if a.expires_at]
        if next_purge is not None:
            deadlines.append((next_purge - now).total_seconds())
        timeout = min([MAX_SLEEP_SECONDS, *deadlines])
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
        # comes as `changed` is set, and the app's shutdown then waits for this task
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(timeout, 0.0)):
                await changed.wait()
