"""The store's queries, written once for every SQL database it runs on.

Writes go through the database's single writer, one transaction each; reads go to connections
that only ever see committed rows.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime, timedelta

from feedserver.alerts.model import Alert
from feedserver.formats import compact_json
from feedserver.store.base import (
    END_EVENTS,
    Change,
    Delivery,
    DeliveryTargets,
    DuplicateOrigin,
    Event,
    Photo,
    Receipt,
    Store,
    StoreUnavailable,
    VersionConflict,
)
from feedserver.store.database import Database, Row, Transaction, placeholders
from feedserver.timeutil import format_time, parse_time, utcnow

log = logging.getLogger(__name__)

DELIVERY_COLUMNS = ("id, seq, network, profile, state, attempts, created_at, next_at,"
                    " delivered_at, last_status, last_error")


# A pending delivery is a head when nothing older about its alert is pending for the same
# receiver (network and profile): only heads may go, so one alert's events stay in order and
# a delivery that keeps failing holds back nothing about other alerts.
HEAD = ("NOT EXISTS (SELECT 1 FROM deliveries e, events ee, events ev"
        " WHERE ee.seq = e.seq AND ev.seq = d.seq AND ee.alert_id = ev.alert_id"
        " AND e.network = d.network AND COALESCE(e.profile, '') = COALESCE(d.profile, '')"
        " AND e.state = 'pending' AND e.position < d.position)")


def _dump(doc: dict) -> str:
    return compact_json(doc).decode()


def _alert(doc: str) -> Alert:
    return Alert.from_document(json.loads(doc))


def instance_name() -> str:
    """Who holds a lease: this host and process, unique even when a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class SqlStore(Store):
    def __init__(self, db: Database, delivery_targets: DeliveryTargets | None = None,
                 clock: Callable[[], datetime] = utcnow, instance: str | None = None) -> None:
        self.db = db
        self.delivery_targets = delivery_targets
        self.clock = clock
        self.instance = instance or instance_name()

    async def open(self) -> None:
        await self.db.connect()

    async def close(self) -> None:
        await self.db.close()

    async def save(self, alert: Alert, change: Change,
                   expected_version: int | None) -> Event | None:
        doc = _dump(alert.to_document())
        at = format_time(change.at)
        event = None
        async with self.db.transaction() as tx:
            if expected_version is None:
                # One alert per origin however many ingests race (migration 3's unique key;
                # staff alerts have no ref, and NULLs never collide).
                inserted = await tx.fetch(
                    "INSERT INTO alerts (id, version, status, origin_kind, origin_ref,"
                    " created_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                    " ON CONFLICT (origin_kind, origin_ref) DO NOTHING RETURNING id",
                    alert.id, alert.version, alert.status, alert.origin.kind,
                    alert.origin.ref, alert.created_at, doc,
                )
                if not inserted:
                    raise DuplicateOrigin(alert.origin.ref)
            else:
                updated = await tx.fetch(
                    "UPDATE alerts SET version = $1, status = $2, doc = $3"
                    " WHERE id = $4 AND version = $5 RETURNING id",
                    alert.version, alert.status, doc, alert.id, expected_version,
                )
                if not updated:
                    raise VersionConflict(alert.id)
            await tx.execute(
                "INSERT INTO alert_versions (alert_id, version, at, actor, action, note, doc)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                alert.id, alert.version, at, change.actor, change.action,
                _dump(change.note) if change.note else None, doc,
            )
            if change.event_type:
                await self.db.before_event(tx)
                previous = await tx.fetch(
                    "SELECT doc FROM alert_versions WHERE alert_id = $1 AND version = $2",
                    alert.id, alert.version - 1)
                rows = await tx.fetch(
                    "INSERT INTO events (type, at, alert_id, version, doc)"
                    " VALUES ($1, $2, $3, $4, $5) RETURNING seq",
                    change.event_type, at, alert.id, alert.version, doc,
                )
                event = Event(rows[0][0], change.event_type, change.at, alert,
                              _alert(previous[0][0]) if previous else None)
                await self._queue_deliveries(tx, event, at)
        return event

    async def _queue_deliveries(self, tx: Transaction, event: Event, at: str) -> None:
        """The webhook outbox rows of an event, in the event's own transaction. The end of
        an alert supersedes what is still pending about it for the same receiver: it goes
        at once, and nothing older about the alert can arrive after it."""
        if self.delivery_targets is None:
            return
        targets = list(self.delivery_targets(event))
        ends = [(network, profile, heard) for network, profile, heard in targets
                if heard in END_EVENTS]
        if ends:
            await tx.executemany(
                "UPDATE deliveries SET state = 'failed', next_at = NULL, last_error = $1,"
                " lease_owner = NULL, lease_until = NULL"
                " WHERE state = 'pending' AND network = $2 AND COALESCE(profile, '') = $3"
                " AND seq IN (SELECT seq FROM events WHERE alert_id = $4)",
                [(f"superseded by event {event.seq} ({heard})", network, profile or "",
                  event.alert.id) for network, profile, heard in ends],
            )
        await tx.executemany(
            "INSERT INTO deliveries (id, seq, network, profile, state, created_at, next_at)"
            " VALUES ($1, $2, $3, $4, 'pending', $5, $6)",
            [("d_" + secrets.token_hex(12), event.seq, network, profile, at, at)
             for network, profile, _ in targets],
        )

    async def purge(self, alert_id: str, purged: Alert, notes: dict[int, dict | None]) -> None:
        doc = _dump(purged.to_document())
        async with self.db.transaction() as tx:
            # photos are named by ids no text can hold by chance ("p_" and 24 hex digits)
            await tx.execute(
                "DELETE FROM photos WHERE"
                " EXISTS (SELECT 1 FROM alert_versions v WHERE v.alert_id = $1"
                "         AND v.doc LIKE '%' || photos.id || '%')"
                " AND NOT EXISTS (SELECT 1 FROM alert_versions v WHERE v.alert_id <> $1"
                "         AND v.doc LIKE '%' || photos.id || '%')", alert_id)
            await tx.execute("UPDATE alerts SET doc = $1 WHERE id = $2", doc, alert_id)
            await tx.execute("UPDATE alert_versions SET doc = $1 WHERE alert_id = $2",
                             doc, alert_id)
            await tx.executemany(
                "UPDATE alert_versions SET note = $1 WHERE alert_id = $2 AND version = $3",
                [(_dump(note) if note else None, alert_id, version)
                 for version, note in notes.items()])
            await tx.execute("UPDATE events SET doc = $1 WHERE alert_id = $2", doc, alert_id)
            await tx.execute("DELETE FROM receipts WHERE alert_id = $1", alert_id)
        await self.db.forget()

    async def get_alert(self, alert_id: str) -> Alert | None:
        rows = await self.db.fetch("SELECT doc FROM alerts WHERE id = $1", alert_id)
        return _alert(rows[0][0]) if rows else None

    async def list_alerts(self, statuses: Iterable[str] | None = None) -> list[Alert]:
        query = "SELECT doc FROM alerts"
        params: tuple = ()
        if statuses is not None:
            params = tuple(statuses)
            if not params:
                return []
            query += f" WHERE status IN ({placeholders(1, len(params))})"
        order = f" ORDER BY created_at DESC, {self.db.alerts_position} DESC"
        rows = await self.db.fetch(query + order, *params)
        return [_alert(row[0]) for row in rows]

    async def find_by_origin(self, kind: str, ref: str) -> Alert | None:
        rows = await self.db.fetch(
            "SELECT doc FROM alerts WHERE origin_kind = $1 AND origin_ref = $2", kind, ref)
        return _alert(rows[0][0]) if rows else None

    async def history(self, alert_id: str) -> list[dict]:
        rows = await self.db.fetch(
            "SELECT version, at, actor, action, note FROM alert_versions WHERE alert_id = $1"
            " ORDER BY version", alert_id)
        return [
            {"version": version, "at": at, "actor": actor, "action": action,
             **({"note": json.loads(note)} if note else {})}
            for version, at, actor, action, note in rows
        ]

    async def events_since(self, seq: int, limit: int = 1000) -> list[Event]:
        rows = await self.db.fetch(
            "SELECT e.seq, e.type, e.at, e.doc, v.doc FROM events e"
            " LEFT JOIN alert_versions v ON v.alert_id = e.alert_id AND v.version = e.version - 1"
            " WHERE e.seq > $1 ORDER BY e.seq LIMIT $2",
            seq, limit)
        # `previous`: the version screens had before this event, to tell whom it takes the
        # alert away from (alert.withdrawn).
        return [Event(s, t, parse_time(at), _alert(doc), _alert(previous) if previous else None)
                for s, t, at, doc, previous in rows]

    async def last_seq(self) -> int:
        rows = await self.db.fetch("SELECT COALESCE(MAX(seq), 0) FROM events")
        return rows[0][0]

    async def put_photo(self, photo: Photo) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO photos (id, content_type, width, height, focus, data)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                photo.id, photo.content_type, photo.width, photo.height,
                json.dumps(photo.focus) if photo.focus else None, photo.data,
            )

    async def get_photo(self, photo_id: str) -> Photo | None:
        rows = await self.db.fetch(
            "SELECT id, data, content_type, width, height, focus FROM photos WHERE id = $1",
            photo_id)
        if not rows:
            return None
        pid, data, content_type, width, height, focus = rows[0]
        return Photo(pid, bytes(data), content_type, width, height,
                     tuple(json.loads(focus)) if focus else None)

    async def photo_ids(self, photo_ids: Iterable[str]) -> set[str]:
        ids = tuple(set(photo_ids))
        if not ids:
            return set()
        rows = await self.db.fetch(
            f"SELECT id FROM photos WHERE id IN ({placeholders(1, len(ids))})", *ids)
        return {row[0] for row in rows}

    async def record_receipts(self, receipts: Iterable[Receipt]) -> None:
        # sorted: two instances upserting overlapping batches lock rows in one order, never
        # each waiting for the other
        rows = sorted((r.alert_id, r.version, r.network, r.profile, r.screen, format_time(r.at))
                      for r in receipts)
        if not rows:
            return
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO receipts (alert_id, version, network, profile, screen, first_at,"
                " last_at) VALUES ($1, $2, $3, $4, $5, $6, $6)"
                " ON CONFLICT (alert_id, version, network, profile, screen) DO UPDATE"
                " SET last_at = CASE WHEN excluded.last_at > receipts.last_at"
                " THEN excluded.last_at ELSE receipts.last_at END",
                rows,
            )

    async def receipts(self, alert_id: str, version: int) -> list[dict]:
        rows = await self.db.fetch(
            "SELECT network, profile, COUNT(*), MAX(last_at) FROM receipts"
            " WHERE alert_id = $1 AND version = $2 GROUP BY network, profile"
            " ORDER BY network, profile", alert_id, version)
        return [{"network": n, "profile": p, "screens": c, "last_at": last}
                for n, p, c, last in rows]

    async def receipts_timeline(self, alert_id: str) -> list[dict]:
        rows = await self.db.fetch(
            "SELECT network, substr(first_at, 1, 16) AS minute, COUNT(*) FROM"
            " (SELECT network, MIN(first_at) AS first_at FROM receipts WHERE alert_id = $1"
            "  GROUP BY network, profile, screen) AS firsts"
            " GROUP BY network, minute ORDER BY minute, network", alert_id)
        return [{"network": n, "at": f"{minute}:00+00:00", "screens": c}
                for n, minute, c in rows]

    async def next_delivery(self, network: str, now: datetime) -> Delivery | None:
        # Of the heads: the oldest due now, else the one due soonest.
        rows = await self.db.fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE network = $1"
            f" AND state = 'pending' AND {HEAD}"
            " ORDER BY CASE WHEN next_at <= $2 THEN position END NULLS LAST, next_at LIMIT 1",
            network, format_time(now))
        return _delivery(rows[0]) if rows else None

    async def mark_delivery(self, delivery_id: str, *, state: str, at: datetime,
                            status: int | None, error: str | None,
                            next_at: datetime | None) -> None:
        delivered_at = format_time(at) if state == "delivered" else None
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE deliveries SET state = $1, attempts = attempts + 1, last_status = $2,"
                " last_error = $3, next_at = $4, delivered_at = COALESCE($5, delivered_at),"
                " lease_owner = NULL, lease_until = NULL"
                # one superseded while it was being tried stays given up unless it arrived
                " WHERE id = $6 AND (state = 'pending' OR $1 = 'delivered')",
                state, status, error, format_time(next_at) if next_at else None, delivered_at,
                delivery_id,
            )

    async def deliveries(self, network: str, state: str | None = None,
                         limit: int = 100) -> list[Delivery]:
        query = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE network = $1"
        params: tuple = (network,)
        if state is not None:
            query += " AND state = $2"
            params += (state,)
        rows = await self.db.fetch(query + f" ORDER BY position DESC LIMIT ${len(params) + 1}",
                                   *params, limit)
        return [_delivery(row) for row in rows]


    async def delivery_backlog(self) -> dict[str, int]:
        rows = await self.db.fetch("SELECT network, COUNT(*) FROM deliveries"
                                   " WHERE state = 'pending' GROUP BY network")
        return {network: count for network, count in rows}

    async def claim_delivery(self, network: str, lease_seconds: float) -> Delivery | None:
        # Only heads are candidates, so each alert's order holds. PostgreSQL locks the
        # oldest due one with SKIP LOCKED: a second claimer at the same moment gets None
        # instead of waiting, and re-checks the lease on the row as the first committed it.
        now = self.clock()
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "UPDATE deliveries SET lease_owner = $2, lease_until = $3"
                " WHERE id = (SELECT id FROM deliveries d WHERE network = $1"
                f" AND state = 'pending' AND {HEAD} AND (next_at IS NULL OR next_at <= $4)"
                " AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $2)"
                f" ORDER BY position LIMIT 1{self.db.skip_locked})"
                " AND state = 'pending' AND (next_at IS NULL OR next_at <= $4)"
                " AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $2)"
                f" RETURNING {DELIVERY_COLUMNS}",
                network, self.instance, format_time(now + timedelta(seconds=lease_seconds)),
                format_time(now),
            )
        return _delivery(rows[0]) if rows else None

    async def committed_events(self, after: int) -> AsyncIterator[int]:
        last = after
        while True:
            await self.db.wait_for_commit()
            try:
                seq = await self.last_seq()
            except StoreUnavailable as exc:
                log.warning("waiting for events: %s", exc)
                continue
            if seq > last:
                last = seq
                yield seq


def _delivery(row: Row) -> Delivery:
    (did, seq, network, profile, state, attempts, created_at, next_at, delivered_at,
     last_status, last_error) = row
    return Delivery(did, seq, network, profile, state, attempts, parse_time(created_at),
                    parse_time(next_at) if next_at else None,
                    parse_time(delivered_at) if delivered_at else None, last_status, last_error)
