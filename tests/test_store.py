"""The store on its own: what readers see while a write is open, and its schema versions."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedserver.store import migrations
from feedserver.store.base import Change, Event
from feedserver.store.migrations import SchemaTooNew
from feedserver.store.sqlite import SQLiteStore

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def stored_alert(alert_id: str = "a_1", version: int = 1, status: str = "active") -> dict:
    """The smallest document the store indexes: what it keeps, it keeps verbatim."""
    return {"id": alert_id, "version": version, "status": status,
            "origin": {"kind": "staff", "ref": None}, "created_at": "2026-12-01T12:00:00+00:00",
            "children": [{"name": "Invented Testchild"}]}


async def test_a_read_during_an_open_write_sees_only_committed_rows(tmp_path: Path) -> None:
    """A reader interleaved with a write transaction that then rolls back must not have seen
    its event or its alert: they never existed. (Seen on a running server as Hub.opening
    replaying an event whose transaction was still open.)"""
    reads: list[asyncio.Task] = []

    def targets_then_fail(event: Event):
        # Called inside the write transaction, after the event row is written: read now, then
        # make the transaction fail (a delivery without a network breaks NOT NULL).
        reads.append(asyncio.ensure_future(asyncio.gather(
            store.events_since(0), store.get_alert("a_1"), store.list_alerts())))
        return [(None, None)]

    store = SQLiteStore(tmp_path / "feedserver.db", targets_then_fail)
    await store.open()
    try:
        change = Change("t", "publish", AT, event_type="alert.published")
        with pytest.raises(sqlite3.IntegrityError):
            await store.save(stored_alert(), change, None)
        events, alert, alerts = await reads[0]
        assert (events, alert, alerts) == ([], None, [])
        assert await store.events_since(0) == []
        assert await store.get_alert("a_1") is None
    finally:
        await store.close()


def write_old_database(path: Path) -> None:
    """A file as feedserver left it before schema versions: migration 1's tables, version 0,
    holding an alert, its event and a webhook delivery."""
    connection = sqlite3.connect(path, isolation_level=None)
    for statement in migrations.MIGRATIONS[0].statements("sqlite"):
        connection.execute(statement)
    doc = '{"id":"a_old","version":1,"status":"active"}'
    connection.execute("INSERT INTO alerts VALUES ('a_old', 1, 'active', 'staff', NULL,"
                       " '2026-11-30T10:00:00+00:00', ?)", (doc,))
    connection.execute("INSERT INTO events (type, at, alert_id, version, doc) VALUES"
                       " ('alert.published', '2026-11-30T10:00:00+00:00', 'a_old', 1, ?)", (doc,))
    connection.execute("INSERT INTO deliveries (id, seq, network, state, created_at) VALUES"
                       " ('d_old', 1, 'net-a', 'pending', '2026-11-30T10:00:00+00:00')")
    connection.close()


def user_version(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA user_version").fetchone()[0]
    finally:
        connection.close()


async def test_an_old_database_is_migrated_on_open_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "feedserver.db"
    write_old_database(path)
    assert user_version(path) == 0
    store = SQLiteStore(path)
    await store.open()
    try:
        assert user_version(path) == migrations.LATEST > 1
        assert (await store.get_alert("a_old"))["status"] == "active"
        assert [e.seq for e in await store.events_since(0)] == [1]
        assert [d.id for d in await store.deliveries("net-a", "pending")] == ["d_old"]
    finally:
        await store.close()
    connection = sqlite3.connect(path)
    columns = {row[1] for row in connection.execute("PRAGMA table_info(deliveries)")}
    connection.close()
    assert {"lease_owner", "lease_until"} <= columns


async def test_a_database_from_a_newer_feedserver_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "feedserver.db"
    store = SQLiteStore(path)
    await store.open()
    await store.close()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    connection.close()
    store = SQLiteStore(path)
    with pytest.raises(SchemaTooNew, match="written by a newer feedserver"):
        await store.open()
    assert user_version(path) == migrations.LATEST + 1
