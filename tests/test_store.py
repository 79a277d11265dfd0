"""The store on its own, on SQLite and on PostgreSQL: what readers see while a write is open,
schema versions, and the primitives several instances share (wake-ups, claims, leaders)."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from support import postgres
from support.store import fill_the_disk

from feedserver.alerts.model import Alert
from feedserver.store import make_store, migrations
from feedserver.store.base import Change, Event, Photo, Store, StoreUnavailable
from feedserver.store.migrations import SchemaTooNew
from feedserver.store.postgres import PostgresStore
from feedserver.store.sql import SqlStore
from feedserver.store.sqlite import SQLiteStore
from feedserver.timeutil import utcnow

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PUBLISH = Change("t", "publish", AT, event_type="alert.published")
# a hang guard, not a threshold: each wait below ends as soon as its condition holds
PATIENCE = 30


def stored_alert(alert_id: str = "a_1", version: int = 1, status: str = "active") -> Alert:
    """The smallest alert the store indexes."""
    return Alert.from_document({
        "id": alert_id, "version": version, "status": status,
        "origin": {"kind": "staff", "ref": None}, "created_at": "2026-12-01T12:00:00+00:00",
        "children": [{"name": "Invented Testchild"}]})


def two_networks(event: Event) -> list[tuple[str, None, str]]:
    return [("net-a", None, event.type), ("net-b", None, event.type)]


StoreMaker = Callable[..., SqlStore]


@pytest.fixture
async def stores(storage: str, tmp_path: Path) -> AsyncIterator[StoreMaker]:
    """Opens stores on the test's database: several are several instances sharing it."""
    opened: list[SqlStore] = []

    async def open_store(delivery_targets=None, clock=utcnow) -> SqlStore:
        store = make_store(storage, tmp_path / "feedserver.db", delivery_targets, clock)
        await store.open()
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        await store.close()


async def test_a_read_during_an_open_write_sees_only_committed_rows(stores) -> None:
    """A reader interleaved with a write transaction that then rolls back must not have seen
    its event or its alert: they never existed. (Seen on a running server as Hub.opening
    replaying an event whose transaction was still open.)"""
    reads: list[asyncio.Future] = []

    def targets_then_fail(event: Event):
        # Called inside the write transaction, after the event row is written: read now, then
        # make the transaction fail (a delivery without a network breaks NOT NULL).
        reads.append(asyncio.ensure_future(asyncio.gather(
            store.events_since(0), store.get_alert("a_1"), store.list_alerts())))
        return [(None, None, event.type)]

    store = await stores(targets_then_fail)
    with pytest.raises((sqlite3.IntegrityError, asyncpg.NotNullViolationError)):
        await store.save(stored_alert(), PUBLISH, None)
    events, alert, alerts = await reads[0]
    assert (events, alert, alerts) == ([], None, [])
    assert await store.events_since(0) == []
    assert await store.get_alert("a_1") is None


async def test_events_written_by_two_instances_are_numbered_without_gaps(stores) -> None:
    a, b = await stores(), await stores()
    await asyncio.gather(*(
        (a if n % 2 else b).save(stored_alert(f"a_{n}"), PUBLISH, None) for n in range(20)))
    seqs = [e.seq for e in await a.events_since(0)]
    assert seqs == list(range(seqs[0], seqs[0] + 20))
    assert {e.alert.id for e in await b.events_since(0)} == {f"a_{n}" for n in range(20)}


async def test_a_later_event_is_never_visible_before_an_earlier_uncommitted_one(
        stores, storage: str, tmp_path: Path) -> None:
    """Instance A numbers its event and holds its transaction open; B writes the next event.
    A reader catching up with `seq > last` must not see B's before A's commits, or it would
    step past A's for good. (B waits for A: on PostgreSQL an advisory lock, on SQLite the
    file's write lock.)"""
    inside, release = threading.Event(), threading.Event()

    def hold(event: Event) -> list:
        inside.set()
        release.wait(PATIENCE)
        return []

    async def instance_a() -> None:
        a = make_store(storage, tmp_path / "feedserver.db", hold)
        await a.open()
        try:
            await a.save(stored_alert("a_first"), PUBLISH, None)
        finally:
            await a.close()

    b = await stores()
    a_done = asyncio.ensure_future(asyncio.to_thread(asyncio.run, instance_a()))
    assert await asyncio.to_thread(inside.wait, PATIENCE)
    b_save = asyncio.ensure_future(b.save(stored_alert("a_second"), PUBLISH, None))
    # time for B to commit if nothing holds it back (the failure this test looks for)
    await asyncio.wait([b_save], timeout=1)
    visible = [e.alert.id for e in await b.events_since(0)]
    release.set()
    await a_done
    await b_save
    assert visible == []
    assert [e.alert.id for e in await b.events_since(0)] == ["a_first", "a_second"]


async def test_another_instance_wakes_when_events_are_committed(stores) -> None:
    writer, watcher = await stores(), await stores()
    wake_ups = watcher.committed_events(await watcher.last_seq())
    next_wake_up = asyncio.ensure_future(anext(wake_ups))
    await asyncio.sleep(0)
    event = await writer.save(stored_alert(), PUBLISH, None)
    assert await asyncio.wait_for(next_wake_up, PATIENCE) == event.seq
    assert [e.alert.id for e in await watcher.events_since(event.seq - 1)] == ["a_1"]
    await wake_ups.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def publish_three(store: Store) -> None:
    for n in range(3):
        await store.save(stored_alert(f"a_{n}"), PUBLISH, None)


async def test_a_networks_deliveries_are_claimed_by_one_instance_at_a_time_in_order(
        stores) -> None:
    """Each alert's deliveries go in order; other alerts' deliveries do not wait for them."""
    clock = Clock()
    a = await stores(two_networks, clock)
    b = await stores(two_networks, clock)
    await publish_three(a)
    await a.save(stored_alert("a_0", version=2), Change("p", "updated", clock(),
                                                         "alert.updated"), 1)
    first = await a.claim_delivery("net-a", 60)
    assert first is not None and first.seq == 1
    # b may neither take the leased one nor the next about the same alert (seq 4)
    second = await b.claim_delivery("net-a", 60)
    assert second.seq == 2
    # another network is independent
    assert (await b.claim_delivery("net-b", 60)).seq == 1
    for store, delivery in ((a, first), (b, second)):
        await store.mark_delivery(delivery.id, state="delivered", at=clock(), status=200,
                                  error=None, next_at=None)
    for seq in (3, 4):
        delivery = await a.claim_delivery("net-a", 60)
        assert delivery.seq == seq
        await a.mark_delivery(delivery.id, state="delivered", at=clock(), status=200,
                              error=None, next_at=None)


async def test_a_lease_that_runs_out_lets_another_instance_take_the_delivery(stores) -> None:
    clock = Clock()
    dying = await stores(two_networks, clock)
    survivor = await stores(two_networks, clock)
    await publish_three(dying)
    claimed = await dying.claim_delivery("net-a", 60)
    clock.now += timedelta(seconds=61)
    taken = await survivor.claim_delivery("net-a", 60)
    assert taken is not None and taken.id == claimed.id


async def test_a_delivery_not_yet_due_is_not_claimed(stores) -> None:
    clock = Clock()
    store = await stores(two_networks, clock)
    await publish_three(store)
    delivery = await store.claim_delivery("net-a", 60)
    await store.mark_delivery(delivery.id, state="pending", at=clock(), status=500,
                              error="HTTP 500", next_at=clock() + timedelta(seconds=30))
    for seq in (2, 3):  # other alerts' deliveries do not wait for it
        other = await store.claim_delivery("net-a", 60)
        assert other.seq == seq
        await store.mark_delivery(other.id, state="delivered", at=clock(), status=200,
                                  error=None, next_at=None)
    assert await store.claim_delivery("net-a", 60) is None
    clock.now += timedelta(seconds=31)
    assert (await store.claim_delivery("net-a", 60)).id == delivery.id


async def test_two_instances_draining_the_outbox_send_each_delivery_once(stores) -> None:
    clock = Clock()
    instances = [await stores(two_networks, clock) for _ in range(2)]
    for n in range(10):
        await instances[0].save(stored_alert(f"a_{n}"), PUBLISH, None)
    sent: list[str] = []

    async def drain(store: SqlStore, network: str) -> None:
        idle = 0
        while idle < 3:
            delivery = await store.claim_delivery(network, 60)
            if delivery is None:
                idle += 1
                await asyncio.sleep(0)
                continue
            idle = 0
            sent.append(delivery.id)
            await store.mark_delivery(delivery.id, state="delivered", at=clock(), status=200,
                                      error=None, next_at=None)

    for _ in range(3):
        await asyncio.gather(*(drain(store, network) for store in instances
                               for network in ("net-a", "net-b")))
    assert len(sent) == len(set(sent)) == 20
    assert await instances[1].deliveries("net-a", "pending") == []


async def test_one_instance_leads_and_the_lead_passes_on_release(stores) -> None:
    a, b = await stores(), await stores()
    lead_a, lead_b = a.leadership("upstream-poller"), b.leadership("upstream-poller")
    assert await lead_a.acquire()
    assert await lead_a.acquire()
    assert not await lead_b.acquire()
    assert await b.leadership("expiry-clock").acquire()
    await lead_a.release()
    assert await lead_b.acquire()
    assert not await lead_a.acquire()
    await lead_b.release()


# A leader in a process of its own: it takes the lead, says so, and waits to be killed.
LEADER_SCRIPT = """
import asyncio, sys
from pathlib import Path
from feedserver.store.sqlite import SQLiteStore

async def lead():
    store = SQLiteStore(Path(sys.argv[1]))
    await store.open()
    assert await store.leadership("poller").acquire()
    print("leading", flush=True)
    await asyncio.Event().wait()

asyncio.run(lead())
"""


async def test_sqlite_a_sigkilled_leaders_lead_passes_at_once(tmp_path: Path) -> None:
    """The lead is the kernel's lock on a file: it dies with its process, no lease to lapse."""
    path = tmp_path / "feedserver.db"
    survivor = SQLiteStore(path)
    await survivor.open()
    leader = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LEADER_SCRIPT, str(path), stdout=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(PATIENCE):
            assert await leader.stdout.readline() == b"leading\n"
        lead = survivor.leadership("poller")
        assert not await lead.acquire()
        leader.kill()
        await leader.wait()
        assert await lead.acquire()
        assert await lead.acquire()  # kept while held
        await lead.release()
    finally:
        if leader.returncode is None:
            leader.kill()
            await leader.wait()
        await survivor.close()


@pytest.mark.postgres
async def test_postgresql_a_dead_leaders_lock_passes_at_once(postgres_database: str) -> None:
    name = postgres_database
    dead, survivor = PostgresStore(postgres.url(name)), PostgresStore(postgres.url(name))
    try:
        await survivor.open()
        lead_dead, lead_survivor = (s.leadership("poller") for s in (dead, survivor))
        assert await lead_dead.acquire()
        assert not await lead_survivor.acquire()
        # the leader's sessions end as when its process is killed
        postgres.terminate_connections(name, dead.instance)
        assert await lead_survivor.acquire()
        assert not await lead_dead.acquire()
        await lead_survivor.release()
    finally:
        await survivor.close()


def write_old_sqlite_database(path: Path) -> None:
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


def sqlite_user_version(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA user_version").fetchone()[0]
    finally:
        connection.close()


async def test_sqlite_an_old_database_is_migrated_on_open_and_keeps_its_rows(
        tmp_path: Path) -> None:
    path = tmp_path / "feedserver.db"
    write_old_sqlite_database(path)
    assert sqlite_user_version(path) == 0
    store = SQLiteStore(path)
    await store.open()
    try:
        assert sqlite_user_version(path) == migrations.LATEST > 1
        assert (await store.get_alert("a_old")).status == "active"
        assert [e.seq for e in await store.events_since(0)] == [1]
        assert (await store.claim_delivery("net-a", 60)).id == "d_old"
    finally:
        await store.close()


async def test_sqlite_a_database_from_a_newer_feedserver_is_refused_untouched(
        tmp_path: Path) -> None:
    path = tmp_path / "feedserver.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    connection.close()
    with pytest.raises(SchemaTooNew, match="written by a newer feedserver"):
        await SQLiteStore(path).open()
    assert sqlite_user_version(path) == migrations.LATEST + 1


async def run_sql(url: str, *statements: str) -> list:
    connection = await asyncpg.connect(url)
    try:
        return [await connection.fetch(statement) for statement in statements]
    finally:
        await connection.close()


@pytest.mark.postgres
async def test_postgresql_an_old_database_is_migrated_and_a_newer_one_refused() -> None:
    name = postgres.unique_name("old")
    postgres.create_empty_database(name)
    url = postgres.url(name)
    try:
        await run_sql(url, *migrations.MIGRATIONS[0].statements("postgresql"),
                      "CREATE TABLE schema_version (version INTEGER)",
                      "INSERT INTO schema_version VALUES (1)",
                      "INSERT INTO alerts (id, version, status, origin_kind, created_at, doc)"
                      " VALUES ('a_old', 1, 'active', 'staff', '2026-11-30T10:00:00+00:00',"
                      " '{\"id\":\"a_old\",\"status\":\"active\"}')")
        store = PostgresStore(url)
        await store.open()
        try:
            assert (await store.get_alert("a_old")).status == "active"
        finally:
            await store.close()
        (rows,) = await run_sql(url, "SELECT version FROM schema_version")
        assert [r[0] for r in rows] == [migrations.LATEST]
        await run_sql(url, f"UPDATE schema_version SET version = {migrations.LATEST + 1}")
        with pytest.raises(SchemaTooNew, match="written by a newer feedserver"):
            await PostgresStore(url).open()
    finally:
        postgres.drop_database(name)


async def test_sqlite_locked_beyond_busy_timeout_is_unavailable_then_recovers(
        tmp_path: Path) -> None:
    path = tmp_path / "feedserver.db"
    store = SQLiteStore(path, busy_timeout_ms=50)
    await store.open()
    try:
        await store.save(stored_alert("a_1"), PUBLISH, None)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing, and writing, and ...
        with pytest.raises(StoreUnavailable, match="locked"):
            await store.save(stored_alert("a_2"), PUBLISH, None)
        assert (await store.get_alert("a_1")).id == "a_1"  # readers are not held up
        other.execute("ROLLBACK")
        other.close()
        await store.save(stored_alert("a_2"), PUBLISH, None)
        assert [e.alert.id for e in await store.events_since(0)] == ["a_1", "a_2"]
    finally:
        await store.close()


async def test_sqlite_a_full_disk_is_unavailable_then_recovers(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "feedserver.db")
    await store.open()
    try:
        await store.save(stored_alert("a_1"), PUBLISH, None)
        await fill_the_disk(store, 0)
        with pytest.raises(StoreUnavailable, match="full"):
            await store.put_photo(Photo("p_1", b"\xff" * 200_000, "image/jpeg", 10, 10, None))
        assert await store.photo_ids(["p_1"]) == set()
        await fill_the_disk(store, 10_000)  # space freed
        await store.put_photo(Photo("p_1", b"\xff" * 200_000, "image/jpeg", 10, 10, None))
        await store.save(stored_alert("a_2"), PUBLISH, None)
        assert [e.alert.id for e in await store.events_since(0)] == ["a_1", "a_2"]
        assert await store.photo_ids(["p_1"]) == {"p_1"}
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgresql_gone_is_unavailable_and_back_recovers(postgres_database) -> None:
    name = postgres_database
    relay = postgres.Relay()
    await relay.start()
    store = PostgresStore(f"{relay.server_url}/{name}")
    await store.open()
    try:
        await store.save(stored_alert("a_1"), PUBLISH, None)
        await relay.cut()
        with pytest.raises(StoreUnavailable):
            await store.save(stored_alert("a_2"), PUBLISH, None)
        with pytest.raises(StoreUnavailable):
            await store.events_since(0)
        await relay.start()
        await store.save(stored_alert("a_2"), PUBLISH, None)
        assert [e.alert.id for e in await store.events_since(0)] == ["a_1", "a_2"]
    finally:
        await store.close()
        await relay.cut()
