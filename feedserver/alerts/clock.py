"""The clock that ends alerts: at `expires_at` an active alert expires with no staff request."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from feedserver.alerts.service import AlertService
from feedserver.events import EventBus
from feedserver.timeutil import parse_time

log = logging.getLogger(__name__)

MAX_SLEEP_SECONDS = 60.0
RETRY_SECONDS = 1.0


async def run_expiry_clock(alerts: AlertService, bus: EventBus) -> None:
    """Sleep until the next expiry or until any change, expire what is due, repeat."""
    changed = asyncio.Event()
    bus.add_listener(lambda alert, event: changed.set())
    while True:
        changed.clear()
        try:
            for alert in await alerts.expire_due():
                log.info("alert %s expired", alert["id"])
            active = await alerts.list(["active"])
        except Exception:
            log.exception("expiry check failed; retrying")
            await asyncio.sleep(RETRY_SECONDS)
            continue
        now = alerts.clock()
        deadlines = [(parse_time(a["expires_at"]) - now).total_seconds() for a in active]
        timeout = min([MAX_SLEEP_SECONDS, *deadlines])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), max(timeout, 0.0))
