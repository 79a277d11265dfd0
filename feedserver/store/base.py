"""The store interface: the single source of truth every feed, stream and cache derives from.

Each change to an alert is a new version, a history entry and (for changes screens must see)
an event with a monotonically increasing sequence number, all written in one transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from feedserver.alerts.model import Alert


class VersionConflict(Exception):
    """The alert changed between reading and writing it."""


class DuplicateOrigin(Exception):
    """A new alert names an origin (kind, ref) another alert already has."""


class StoreUnavailable(Exception):
    """The database cannot answer now (locked, disk full, connection lost); nothing was written.

    Transient by nature: the store recovers by itself, so a client may retry (HTTP 503).
    """


class Leadership(ABC):
    """One named singleton job (upstream poller, expiry clock, outbox): run by one instance.

    `acquire` never waits. It returns True while this instance leads, and must be called again
    well within the lease (every few seconds): it renews or confirms the lead, and a False
    means stop the job now, since another instance may have taken over.
    """

    @abstractmethod
    async def acquire(self) -> bool: ...

    @abstractmethod
    async def release(self) -> None: ...


@dataclass(frozen=True)
class Change:
    """Who did what to an alert; `event_type` is None for changes screens never see (drafts)."""

    actor: str
    action: str
    at: datetime
    event_type: str | None = None
    note: dict | None = None


@dataclass(frozen=True)
class Event:
    """A change screens must hear of; `previous` is the alert's version before it (None for a
    new alert), so those who had the alert and lose it by this change can be told."""

    seq: int
    type: str
    at: datetime
    alert: Alert
    previous: Alert | None = None


@dataclass(frozen=True)
class Photo:
    id: str
    data: bytes
    content_type: str
    width: int
    height: int
    focus: tuple[float, float] | None


@dataclass(frozen=True)
class Receipt:
    """One screen having received one alert version through one profile."""

    alert_id: str
    version: int
    network: str
    profile: str
    screen: str
    at: datetime


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery of one event to one network (and profile, for per-profile formats).

    Written to the outbox in the event's own transaction, so a crash never loses one.
    `state` is pending, delivered or failed (given up after the retry period).
    """

    id: str
    seq: int
    network: str
    profile: str | None
    state: str
    attempts: int
    created_at: datetime
    next_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


# Events that end an alert on a screen: a receiver must get them before anything still
# pending about the alert, and nothing about it after.
END_EVENTS = frozenset({"alert.resolved", "alert.cancelled", "alert.expired", "alert.withdrawn"})

# Which (network, profile) pairs get a webhook delivery of an event, each with the type it
# hears: the event's own, or alert.withdrawn where the change takes the alert away from it.
DeliveryTargets = Callable[[Event], Iterable[tuple[str, str | None, str]]]


class Store(ABC):
    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def save(self, alert: Alert, change: Change,
                   expected_version: int | None) -> Event | None:
        """Write `alert` as its new version; `expected_version` None means a new alert.

        Raises VersionConflict when the stored version is not `expected_version`, and
        DuplicateOrigin (writing nothing) when a new alert's origin is taken.
        """

    @abstractmethod
    async def get_alert(self, alert_id: str) -> Alert | None: ...

    @abstractmethod
    async def purge(self, alert_id: str, purged: Alert, notes: dict[int, dict | None]) -> None:
        """Forget an ended alert's personal data, in one transaction: `purged` (the alert
        without it) replaces every stored copy (the alert, its versions, its events), each
        version's history note becomes `notes[version]` (who did what and when stay), and its
        per-screen receipts and the photos no other alert names go; then the files are made
        to hold no trace of them."""

    @abstractmethod
    async def list_alerts(self, statuses: Iterable[str] | None = None) -> list[Alert]:
        """Alerts newest first (by creation)."""

    @abstractmethod
    async def find_by_origin(self, kind: str, ref: str) -> Alert | None: ...

    @abstractmethod
    async def history(self, alert_id: str) -> list[dict]: ...

    @abstractmethod
    async def events_since(self, seq: int, limit: int = 1000) -> list[Event]: ...

    @abstractmethod
    async def last_seq(self) -> int: ...

    @abstractmethod
    async def put_photo(self, photo: Photo) -> None: ...

    @abstractmethod
    async def get_photo(self, photo_id: str) -> Photo | None: ...

    @abstractmethod
    async def photo_ids(self, photo_ids: Iterable[str]) -> set[str]:
        """Which of these photo ids exist."""

    @abstractmethod
    async def record_receipts(self, receipts: Iterable[Receipt]) -> None: ...

    @abstractmethod
    async def receipts(self, alert_id: str, version: int) -> list[dict]:
        """Per network and profile: distinct screens and the last time one received it."""

    @abstractmethod
    async def receipts_timeline(self, alert_id: str) -> list[dict]:
        """Per network and minute (`at`), the screens that first received any version of the
        alert then (a screen counted once per profile), oldest first."""

    @abstractmethod
    async def next_delivery(self, network: str, now: datetime) -> Delivery | None:
        """The network's next delivery to try: of the oldest pending delivery of each
        (profile, alert), the oldest due at `now`, else the one due soonest. Events about one
        alert reach a receiver in order; a delivery that keeps failing holds back nothing
        about other alerts."""

    @abstractmethod
    async def mark_delivery(self, delivery_id: str, *, state: str, at: datetime,
                            status: int | None, error: str | None,
                            next_at: datetime | None) -> None:
        """Record one attempt: its outcome, and when to try again if still pending."""

    @abstractmethod
    async def deliveries(self, network: str, state: str | None = None,
                         limit: int = 100) -> list[Delivery]:
        """The network's deliveries, newest first."""

    @abstractmethod
    async def delivery_backlog(self) -> dict[str, int]:
        """Pending deliveries per network (networks with none are left out)."""

    @abstractmethod
    async def claim_delivery(self, network: str, lease_seconds: float) -> Delivery | None:
        """Lease the network's oldest pending delivery to this instance, if it is due and no
        other instance holds a running lease on it; None otherwise. Deliveries of one network
        still go out in order, one at a time, however many instances send. `mark_delivery`
        ends the lease; a lease that runs out (its instance died) lets another claim it.
        """

    @abstractmethod
    def leadership(self, name: str) -> Leadership:
        """The lead of the singleton job `name`, shared by every instance on this database."""

    @abstractmethod
    def committed_events(self, after: int) -> AsyncIterator[int]:
        """Yields the newest committed event seq each time it moves past the last one yielded
        (starting after `after`), whichever instance wrote it. A wake-up only: read the
        events themselves with `events_since`, so a missed wake-up loses nothing.
        """
