"""PostgreSQL store: several feedserver instances on one database, acting as one.

asyncpg rather than psycopg 3: it speaks PostgreSQL's own `$1` placeholders (the store's SQL
is written in them), has a connection pool built in, and delivers LISTEN notifications as
callbacks on a connection, which is all the wake-up needs.

Event numbers come from an identity column, and a transaction holds an advisory lock from
taking its number until it commits, so events become visible in number order: a reader that
catches up with `seq > last` never skips one committed late. The same transaction NOTIFYs the
other instances, which PostgreSQL delivers only once it commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from feedserver.store import migrations
from feedserver.store.base import DeliveryTargets, Leadership, StoreUnavailable
from feedserver.store.database import Row, Waker
from feedserver.store.sql import SqlStore, instance_name
from feedserver.timeutil import utcnow

log = logging.getLogger(__name__)

CHANNEL = "feedserver_events"
POOL_SIZE = 10
CONNECT_TIMEOUT = 5.0
# Without a notification (the listening connection was lost), look at the log this often.
POLL_SECONDS = 1.0


def lock_key(name: str) -> int:
    """A stable 64-bit advisory lock key for a name, the same in every process."""
    return int.from_bytes(hashlib.sha256(f"feedserver:{name}".encode()).digest()[:8], "big",
                          signed=True)


EVENTS_LOCK = lock_key("events")
MIGRATIONS_LOCK = lock_key("migrations")

# A pooled connection that died (PostgreSQL restarted, or ended the session); asyncpg may say
# so as an internal client error when the session ended in the middle of an operation.
_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
         asyncpg.OperatorInterventionError, asyncpg.InternalClientError, OSError)
# "Not now" rather than "wrong": the server is gone, restarting, out of disk or connections.
_UNAVAILABLE = (*_LOST, asyncpg.InsufficientResourcesError, TimeoutError)


def _cancelling() -> bool:
    """Whether this task is being cancelled: asyncpg may answer a cancellation with an error of
    its own, and turning that into a retry or a StoreUnavailable would swallow the cancel."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@contextlib.contextmanager
def _unavailable_as_such() -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as exc:
        if _cancelling():
            raise asyncio.CancelledError from exc
        raise StoreUnavailable(f"PostgreSQL: {exc.__class__.__name__}: {exc}") from exc


class _Transaction:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, *args: Any) -> None:
        await self.connection.execute(sql, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            await self.connection.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self.connection.fetch(sql, *args)


class PostgresDatabase:
    dialect = "postgresql"
    alerts_position = "position"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, dsn: str, instance: str, pool_size: int = POOL_SIZE) -> None:
        self.dsn = dsn
        # pg_stat_activity shows which instance each session belongs to
        self.settings = {"application_name": f"feedserver {instance}"[:63]}
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._commits = Waker()

    async def connect(self) -> None:
        with _unavailable_as_such():
            self._pool = await asyncpg.create_pool(self.dsn, min_size=1,
                                                   max_size=self.pool_size,
                                                   timeout=CONNECT_TIMEOUT,
                                                   server_settings=self.settings)
        try:
            await self._migrate()
            await self._listen()
        except BaseException:
            await self.close()
            raise

    async def _migrate(self) -> None:
        async with self.transaction() as tx:
            # two instances starting together: one migrates, the other waits and finds it done
            await tx.execute("SELECT pg_advisory_xact_lock($1)", MIGRATIONS_LOCK)
            await tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            rows = await tx.fetch("SELECT version FROM schema_version")
            current = rows[0][0] if rows else 0
            for migration in migrations.pending(current):
                for statement in migration.statements(self.dialect):
                    await tx.execute(statement)
            await tx.execute("DELETE FROM schema_version")
            await tx.execute("INSERT INTO schema_version (version) VALUES ($1)",
                             migrations.LATEST)

    async def _listen(self) -> None:
        """A connection of its own for LISTEN; if it is lost, waiters poll until it is back."""
        listener = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT,
                                         server_settings=self.settings)
        await listener.add_listener(CHANNEL, lambda *_: self._commits.wake())
        self._listener = listener

    async def close(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            with contextlib.suppress(*_UNAVAILABLE):
                await listener.close(timeout=CONNECT_TIMEOUT)
        if self._pool is not None:
            pool, self._pool = self._pool, None
            with contextlib.suppress(*_UNAVAILABLE):
                await asyncio.wait_for(pool.close(), CONNECT_TIMEOUT)
            pool.terminate()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("store is not open")
        return self._pool

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        for _ in range(self.pool_size):
            async with self._acquire() as connection:
                try:
                    return await connection.fetch(sql, *args)
                except _LOST:
                    if _cancelling():
                        raise
                    continue  # a read may be repeated on another connection
        raise StoreUnavailable("PostgreSQL: no connection answers")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Transaction]:
        for _ in range(self.pool_size):
            async with self._acquire() as connection:
                transaction = connection.transaction()
                try:
                    await transaction.start()
                except _LOST:
                    if _cancelling():
                        raise
                    continue  # nothing ran yet: another connection may take it
                with _unavailable_as_such():
                    try:
                        yield _Transaction(connection)
                    except BaseException:
                        with contextlib.suppress(*_LOST):
                            await transaction.rollback()
                        raise
                    await transaction.commit()
                return
        raise StoreUnavailable("PostgreSQL: no connection answers")

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection. After PostgreSQL restarts, every idle one in the pool is dead:
        the callers above exchange each one found dead before anything ran on it, so the first
        requests after the restart succeed instead of failing once per dead connection."""
        with _unavailable_as_such():
            connection = await self.pool.acquire(timeout=CONNECT_TIMEOUT)
        try:
            yield connection
        finally:
            with contextlib.suppress(*_LOST):
                await self.pool.release(connection, timeout=CONNECT_TIMEOUT)

    async def before_event(self, tx: _Transaction) -> None:
        await tx.execute("SELECT pg_advisory_xact_lock($1)", EVENTS_LOCK)
        await tx.execute(f"NOTIFY {CHANNEL}")

    async def wait_for_commit(self) -> None:
        if self._listener is None or self._listener.is_closed():
            await self._relisten()
        await self._commits.wait(POLL_SECONDS)

    async def forget(self) -> None:
        """PostgreSQL keeps old row versions until VACUUM: clear the tables that held them."""
        async with self._acquire() as connection:
            await connection.execute("VACUUM alerts, alert_versions, events, receipts, photos")

    async def _relisten(self) -> None:
        if self._pool is None:
            return
        try:
            await self._listen()
        except _UNAVAILABLE as exc:
            log.warning("PostgreSQL: cannot LISTEN (%s); polling the event log meanwhile", exc)


class AdvisoryLeadership(Leadership):
    """A session advisory lock on a connection of its own: PostgreSQL releases it the moment
    that connection ends, so a leader that dies is replaced on the others' next `acquire`."""

    def __init__(self, db: PostgresDatabase, name: str) -> None:
        self.db = db
        self.key = lock_key(f"leader:{name}")
        self._connection: asyncpg.Connection | None = None
        self._held = False

    async def acquire(self) -> bool:
        try:
            if self._connection is None or self._connection.is_closed():
                self._held = False
                self._connection = await asyncpg.connect(self.db.dsn, timeout=CONNECT_TIMEOUT,
                                                         server_settings=self.db.settings)
            if self._held:
                # the lock lives as long as the session: a session that answers still holds it
                await self._connection.execute("SELECT 1", timeout=CONNECT_TIMEOUT)
            else:
                self._held = await self._connection.fetchval(
                    "SELECT pg_try_advisory_lock($1)", self.key, timeout=CONNECT_TIMEOUT)
        except Exception as exc:
            # whatever went wrong, this session may no longer hold the lock: stop leading
            log.warning("PostgreSQL: lead lost or not taken (%s: %s)",
                        exc.__class__.__name__, exc)
            await self._drop()
        return self._held

    async def release(self) -> None:
        await self._drop()

    async def _drop(self) -> None:
        """Closing the session releases the lock."""
        self._held = False
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                await connection.close(timeout=CONNECT_TIMEOUT)
            except Exception:
                connection.terminate()


class PostgresStore(SqlStore):
    def __init__(self, dsn: str, delivery_targets: DeliveryTargets | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        instance = instance_name()
        super().__init__(PostgresDatabase(dsn, instance), delivery_targets, clock, instance)
        self.pg = self.db

    def leadership(self, name: str) -> Leadership:
        return AdvisoryLeadership(self.pg, name)
