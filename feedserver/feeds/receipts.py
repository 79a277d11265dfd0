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


class ReceiptBook:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._pending: dict[tuple[str, int, str, str, str], datetime] = {}

    def record(self, network: str, profile: str, screen: str,
               alerts: Iterable[tuple[str, int]]) -> None:
        now = self.clock()
        for alert_id, version in alerts:
            self._pending[(alert_id, version, network, profile, screen)] = now

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
