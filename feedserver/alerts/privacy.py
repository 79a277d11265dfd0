"""What is left of an alert once its child's data is purged: who did what and when, its
kind, places and times, how many screens it reached, and nothing that names or shows a
person (API.md, Privacy)."""

from __future__ import annotations

from datetime import datetime, timedelta

from feedserver.alerts.model import Alert, Reach, Resolution
from feedserver.alerts.texts import KIND_TITLES
from feedserver.config import AlertsConfig
from feedserver.timeutil import format_time, parse_time

# free text in history notes that may name a person (a cancel reason, an override's reason)
NOTE_TEXTS = ("reason",)


def off_screens_at(alert: Alert, settings: AlertsConfig) -> datetime:
    """When an ended alert left the last screen: its end, or the end of its "found" card."""
    ended = parse_time(alert.ended_at)
    if alert.status == "resolved":
        return ended + timedelta(seconds=settings.resolved_display_seconds)
    return ended


def purged(alert: Alert, reach: list[list[dict]], at: datetime) -> Alert:
    """The alert with its personal data gone and its reach kept as counts: the screens its
    widest-reaching version got to (receipts per version, as `receipts` gives them)."""
    resolution = alert.resolution
    return alert.changed(
        children=(), suspects=(), vehicles=(), last_seen=None, message={},
        cancel_reason=None, policy_override=None, warnings=(),
        resolution=Resolution({}, resolution.at) if resolution else None,
        headline={lang: KIND_TITLES[alert.kind][lang] for lang in alert.languages},
        reach=Reach(max((sum(r["screens"] for r in version) for version in reach), default=0),
                    tuple(sorted({r["network"] for version in reach for r in version}))),
        purged_at=format_time(at),
    )


def scrubbed(note: dict | None) -> dict | None:
    """A history note without its free texts (a reason may name the child)."""
    if note is None:
        return None
    result = {}
    for key, value in note.items():
        if key in NOTE_TEXTS:
            continue
        result[key] = scrubbed(value) if isinstance(value, dict) else value
    return result
