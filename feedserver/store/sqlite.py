"""SQLite store: one file in WAL mode, written through one connection on its own thread.

`synchronous=FULL` makes every acknowledged change durable before the HTTP answer goes out;
aiosqlite keeps the event loop free while SQLite waits for the disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiosqlite

from feedserver.store.base import (
    Change,
    Delivery,
    DeliveryTargets,
    Event,
    Photo,
    Receipt,
    Store,
    VersionConflict,
)
from feedserver.timeutil import format_time, parse_time

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    origin_kind TEXT NOT NULL,
    origin_ref TEXT,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status);
CREATE INDEX IF NOT EXISTS alerts_origin ON alerts (origin_kind, origin_ref);
CREATE TABLE IF NOT EXISTS alert_versions (
    alert_id TEXT NOT NULL REFERENCES alerts (id),
    version INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    note TEXT,
    doc TEXT NOT NULL,
    PRIMARY KEY (alert_id, version)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS photos (
    id TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    focus TEXT,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS receipts (
    alert_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    network TEXT NOT NULL,
    profile TEXT NOT NULL,
    screen TEXT NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (alert_id, version, network, profile, screen)
);
CREATE TABLE IF NOT EXISTS deliveries (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    seq INTEGER NOT NULL REFERENCES events (seq),
    network TEXT NOT NULL,
    profile TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    next_at TEXT,
    delivered_at TEXT,
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (network, state, position);
"""

DELIVERY_COLUMNS = ("id, seq, network, profile, state, attempts, created_at, next_at,"
                    " delivered_at, last_status, last_error")


def _dump(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


class SQLiteStore(Store):
    def __init__(self, path: Path, delivery_targets: DeliveryTargets | None = None) -> None:
        self.path = path
        self.delivery_targets = delivery_targets
        self._db: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    async def open(self) -> None:
        # aiosqlite logs every call with its arguments at DEBUG: alert documents name children.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                       "busy_timeout=5000"):
            await self.db.execute(f"PRAGMA {pragma}")
        await self.db.executescript(SCHEMA)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One writer at a time; everything inside commits together or not at all."""
        async with self._write_lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def save(self, alert: dict, change: Change, expected_version: int | None) -> Event | None:
        doc = _dump(alert)
        at = format_time(change.at)
        event = None
        async with self._transaction() as db:
            if expected_version is None:
                await db.execute(
                    "INSERT INTO alerts (id, version, status, origin_kind, origin_ref,"
                    " created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (alert["id"], alert["version"], alert["status"], alert["origin"]["kind"],
                     alert["origin"]["ref"], alert["created_at"], doc),
                )
            else:
                cursor = await db.execute(
                    "UPDATE alerts SET version = ?, status = ?, doc = ?"
                    " WHERE id = ? AND version = ?",
                    (alert["version"], alert["status"], doc, alert["id"], expected_version),
                )
                if cursor.rowcount != 1:
                    raise VersionConflict(alert["id"])
            await db.execute(
                "INSERT INTO alert_versions (alert_id, version, at, actor, action, note, doc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (alert["id"], alert["version"], at, change.actor, change.action,
                 _dump(change.note) if change.note else None, doc),
            )
            if change.event_type:
                cursor = await db.execute(
                    "INSERT INTO events (type, at, alert_id, version, doc)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (change.event_type, at, alert["id"], alert["version"], doc),
                )
                event = Event(cursor.lastrowid, change.event_type, change.at, alert)
                await self._queue_deliveries(db, event, at)
        return event

    async def _queue_deliveries(self, db: aiosqlite.Connection, event: Event, at: str) -> None:
        """The webhook outbox rows of an event, in the event's own transaction."""
        if self.delivery_targets is None:
            return
        await db.executemany(
            "INSERT INTO deliveries (id, seq, network, profile, state, created_at, next_at)"
            " VALUES (?, ?, ?, ?, 'pending', ?, ?)",
            [("d_" + secrets.token_hex(12), event.seq, network, profile, at, at)
             for network, profile in self.delivery_targets(event)],
        )

    async def get_alert(self, alert_id: str) -> dict | None:
        rows = await self.db.execute_fetchall("SELECT doc FROM alerts WHERE id = ?", (alert_id,))
        return json.loads(rows[0][0]) if rows else None

    async def list_alerts(self, statuses: Iterable[str] | None = None) -> list[dict]:
        query = "SELECT doc FROM alerts"
        params: tuple = ()
        if statuses is not None:
            params = tuple(statuses)
            query += f" WHERE status IN ({','.join('?' * len(params))})"
        rows = await self.db.execute_fetchall(query + " ORDER BY created_at DESC, rowid DESC",
                                              params)
        return [json.loads(row[0]) for row in rows]

    async def find_by_origin(self, kind: str, ref: str) -> dict | None:
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM alerts WHERE origin_kind = ? AND origin_ref = ?", (kind, ref))
        return json.loads(rows[0][0]) if rows else None

    async def history(self, alert_id: str) -> list[dict]:
        rows = await self.db.execute_fetchall(
            "SELECT version, at, actor, action, note FROM alert_versions WHERE alert_id = ?"
            " ORDER BY version", (alert_id,))
        return [
            {"version": version, "at": at, "actor": actor, "action": action,
             **({"note": json.loads(note)} if note else {})}
            for version, at, actor, action, note in rows
        ]

    async def events_since(self, seq: int, limit: int = 1000) -> list[Event]:
        rows = await self.db.execute_fetchall(
            "SELECT seq, type, at, doc FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit))
        return [Event(s, t, parse_time(at), json.loads(doc)) for s, t, at, doc in rows]

    async def last_seq(self) -> int:
        rows = await self.db.execute_fetchall("SELECT COALESCE(MAX(seq), 0) FROM events")
        return rows[0][0]

    async def put_photo(self, photo: Photo) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO photos (id, content_type, width, height, focus, data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (photo.id, photo.content_type, photo.width, photo.height,
                 json.dumps(photo.focus) if photo.focus else None, photo.data),
            )

    async def get_photo(self, photo_id: str) -> Photo | None:
        rows = await self.db.execute_fetchall(
            "SELECT id, data, content_type, width, height, focus FROM photos WHERE id = ?",
            (photo_id,))
        if not rows:
            return None
        pid, data, content_type, width, height, focus = rows[0]
        return Photo(pid, data, content_type, width, height,
                     tuple(json.loads(focus)) if focus else None)

    async def photo_ids(self, photo_ids: Iterable[str]) -> set[str]:
        ids = tuple(set(photo_ids))
        if not ids:
            return set()
        rows = await self.db.execute_fetchall(
            f"SELECT id FROM photos WHERE id IN ({','.join('?' * len(ids))})", ids)
        return {row[0] for row in rows}

    async def record_receipts(self, receipts: Iterable[Receipt]) -> None:
        rows = [(r.alert_id, r.version, r.network, r.profile, r.screen, format_time(r.at))
                for r in receipts]
        if not rows:
            return
        async with self._transaction() as db:
            await db.executemany(
                "INSERT INTO receipts (alert_id, version, network, profile, screen, first_at,"
                " last_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
                " ON CONFLICT DO UPDATE SET last_at = MAX(last_at, excluded.last_at)",
                rows,
            )

    async def receipts(self, alert_id: str, version: int) -> list[dict]:
        rows = await self.db.execute_fetchall(
            "SELECT network, profile, COUNT(*), MAX(last_at) FROM receipts"
            " WHERE alert_id = ? AND version = ? GROUP BY network, profile"
            " ORDER BY network, profile", (alert_id, version))
        return [{"network": n, "profile": p, "screens": c, "last_at": last}
                for n, p, c, last in rows]

    async def receipts_timeline(self, alert_id: str) -> list[dict]:
        rows = await self.db.execute_fetchall(
            "SELECT network, substr(first_at, 1, 16) AS minute, COUNT(*) FROM"
            " (SELECT network, MIN(first_at) AS first_at FROM receipts WHERE alert_id = ?"
            "  GROUP BY network, profile, screen)"
            " GROUP BY network, minute ORDER BY minute, network", (alert_id,))
        return [{"network": n, "at": f"{minute}:00+00:00", "screens": c}
                for n, minute, c in rows]

    async def next_delivery(self, network: str) -> Delivery | None:
        rows = await self.db.execute_fetchall(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE network = ? AND state = 'pending'"
            " ORDER BY position LIMIT 1", (network,))
        return _delivery(rows[0]) if rows else None

    async def mark_delivery(self, delivery_id: str, *, state: str, at: datetime,
                            status: int | None, error: str | None,
                            next_at: datetime | None) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_status = ?,"
                " last_error = ?, next_at = ?,"
                " delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END"
                " WHERE id = ?",
                (state, status, error, format_time(next_at) if next_at else None, state,
                 format_time(at), delivery_id),
            )

    async def deliveries(self, network: str, state: str | None = None,
                         limit: int = 100) -> list[Delivery]:
        query = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE network = ?"
        params: tuple = (network,)
        if state is not None:
            query += " AND state = ?"
            params += (state,)
        rows = await self.db.execute_fetchall(query + " ORDER BY position DESC LIMIT ?",
                                              (*params, limit))
        return [_delivery(row) for row in rows]


def _delivery(row: Iterable) -> Delivery:
    (did, seq, network, profile, state, attempts, created_at, next_at, delivered_at,
     last_status, last_error) = row
    return Delivery(did, seq, network, profile, state, attempts, parse_time(created_at),
                    parse_time(next_at) if next_at else None,
                    parse_time(delivered_at) if delivered_at else None, last_status, last_error)
