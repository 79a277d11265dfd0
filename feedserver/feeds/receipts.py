"""Screen receipts: which screen has received which alert version, written in batches.

Thousands of screens poll every half minute; one transaction a second for all of them keeps
the store's writer free for the changes that matter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from feedserver.store.base import Receipt, Store

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 1.0
# Screens remembered as seen (for the metrics' distinct screens): a bound, since a network key
# could name any number of made-up screens.
MAX_SCREENS_SEEN = 100_000


class ReceiptBook:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._pending: dict[tuple[str, int, str, str, str], datetime] = {}
        self._seen: dict[tuple[str, str, str], datetime] = {}

    def record(self, network: str, profile: str, screen: str,
               alerts: Iterable[tuple[str, int]]) -> None:
        now = self.clock()
        self.seen(network, profile, screen, now)
        for alert_id, version in alerts:
            self._pending[(alert_id, version, network, profile, screen)] = now

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
