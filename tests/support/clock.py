"""A clock the test moves by hand, handed to `create_app(config, clock=...)`.

Expiry, the end of a "found" card and the webhook give-up all read the app's clock, so a
test reaches them by moving this clock instead of waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Stands still at `start` (now, by default) until `advance` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by `timedelta(**delta)`, e.g. `advance(hours=26)`."""
        self.now += timedelta(**delta)
        return self.now
