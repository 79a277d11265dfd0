"""Screen receipts: which screen has received which alert version, written in batches.

Thousands of screens poll every half minute; one transaction a second for all of them keeps
the store's writer free for the changes that matter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from feedserver.alerts.model import Alert
from feedserver.store.base import Receipt, Store

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 1.0
# Screens remembered as seen (for the metrics' distinct screens): a bound, since a network key
# could name any number of made-up screens.
MAX_SCREENS_SEEN = 100_000


ENDED = ("cancelled", "expired")
MAX_TRACKED = 4096  # (network, alert, version) counts kept; more only under a flood of versions


class ReceiptBook:
    """Receipts waiting for the next flush, and how many screens each network has been
    counted with per alert version: past `screens_per_network` a new screen id is still served
    its feed (what is on screen matters more than counting it) but not recorded, so a leaked
    key cannot inflate the reach or fill the store without end."""

    def __init__(self, store: Store, clock: Callable[[], datetime],
                 screens_per_network: int) -> None:
        self.store = store
        self.clock = clock
        self.screens_per_network = screens_per_network
        self.turned_away = 0  # receipts not recorded because their network was at the bound
        self._pending: dict[tuple[str, int, str, str, str], datetime] = {}
        self._counted: dict[tuple[str, str, int], set[tuple[str, str]]] = {}
        self._seen: dict[tuple[str, str, str], datetime] = {}

    def record(self, network: str, profile: str, screen: str,
               alerts: Iterable[tuple[str, int]]) -> None:
        now = self.clock()
        self.seen(network, profile, screen, now)
        for alert_id, version in alerts:
            counted = self._counted.get((network, alert_id, version))
            if counted is None:
                counted = self._counted[(network, alert_id, version)] = set()
                if len(self._counted) > MAX_TRACKED:
                    del self._counted[next(iter(self._counted))]
            if (profile, screen) not in counted:
                if len(counted) >= self.screens_per_network:
                    self.turned_away += 1
                    continue
                counted.add((profile, screen))
            self._pending[(alert_id, version, network, profile, screen)] = now

    def on_change(self, alert: Alert, event: object) -> None:
        """EventBus listener: a new version is counted afresh; the old ones (and all of an
        ended or purged alert) need no counting any more."""
        gone = alert.status in ENDED or alert.is_purged
        for key in [k for k in self._counted if k[1] == alert.id]:
            if gone or key[2] != alert.version:
                del self._counted[key]

    def seen(self, network: str, profile: str, screen: str, at: datetime | None = None) -> None:
        """The screen asked for its feed (or is connected) now."""
        key = (network, profile, screen)
        if key in self._seen or len(self._seen) < MAX_SCREENS_SEEN:
            self._seen[key] = at or self.clock()

    def screens(self, since: float) -> dict[tuple[str, str], dict[str, float]]:
        """Per network and profile, the screens seen since `since` (a Unix time) and when;
        those seen before are forgotten."""
        found: dict[tuple[str, str], dict[str, float]] = {}
        for (network, profile, screen), at in list(self._seen.items()):
            when = at.timestamp()
            if when < since:
                del self._seen[(network, profile, screen)]
            else:
                found.setdefault((network, profile), {})[screen] = when
        return found

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        await self.store.record_receipts(Receipt(*key, at) for key, at in batch.items())

    async def run(self) -> None:
        """Flush forever; a failed flush is logged and its receipts are tried again."""
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
            pending = dict(self._pending)
            try:
                await self.flush()
            except Exception:
                log.exception("could not record %d receipts; will retry", len(pending))
                self._pending = {**pending, **self._pending}
