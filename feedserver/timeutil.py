"""Times: stored and compared in UTC, written as RFC 3339 with an explicit offset."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""What every part that reads the time is handed: returns the current time, aware, in UTC."""


def utcnow() -> datetime:
    """The real clock, the default `Clock`."""
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with `+00:00` (never `Z`: CAP and some players refuse it).

    Milliseconds are kept when present, so alerts published within one second still sort.
    """
    timespec = "milliseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=timespec)


def parse_time(text: str) -> datetime:
    """Parse RFC 3339; a time without an offset is refused, since it would be ambiguous."""
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is None:
        raise ValueError("needs an offset such as +01:00 or Z")
    return moment.astimezone(UTC)
