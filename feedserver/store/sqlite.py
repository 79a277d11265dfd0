"""SQLite store: one file in WAL mode, one writer connection, and reader connections apart.

Readers never share the writer's connection, so a read while a write transaction is open sees
the last committed state, never rows that may yet roll back (WAL lets them read while the
writer writes). Like datasette's `execute_write_fn`, every write runs on the writer's own
thread, one transaction at a time; the readers have threads of their own. `synchronous=FULL`
makes every acknowledged change durable before the HTTP answer goes out.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import queue
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from feedserver.store import migrations
from feedserver.store.base import DeliveryTargets, Leadership, StoreUnavailable
from feedserver.store.database import Row, Waker
from feedserver.store.sql import SqlStore
from feedserver.timeutil import utcnow

T = TypeVar("T")
READERS = 2
# Another process's commits are noticed by reading last_seq this often (this process's at once).
POLL_SECONDS = 0.25
# Errors that say "not now" rather than "wrong": another writer holds the lock beyond
# busy_timeout, the disk is full, or the file cannot be read or written.
_UNAVAILABLE = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL,
                sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL}


@contextmanager
def _unavailable_as_such() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if (exc.sqlite_errorcode & 0xFF) in _UNAVAILABLE:
            raise StoreUnavailable(f"SQLite: {exc}") from exc
        raise


@lru_cache(maxsize=256)
def _sqlite_sql(sql: str) -> str:
    """`$1` (the store's placeholders) as SQLite's numbered `?1`."""
    return re.sub(r"\$(\d+)", r"?\1", sql)


def _connect(path: Path, busy_timeout_ms: int, *, reader: bool) -> sqlite3.Connection:
    # isolation_level=None: transactions are begun and ended explicitly, never implicitly
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                 timeout=busy_timeout_ms / 1000)
    if not reader:
        _use_wal(connection, time.monotonic() + busy_timeout_ms / 1000)
    # secure_delete: deleted and overwritten rows are zeroed, not left in free pages
    pragmas = ["synchronous=FULL", "foreign_keys=ON", "secure_delete=ON"]
    if reader:
        pragmas.append("query_only=ON")
    for pragma in pragmas:
        connection.execute(f"PRAGMA {pragma}")
    return connection


def _use_wal(connection: sqlite3.Connection, deadline: float) -> None:
    """Put a new file in WAL mode (a file already in it stays so, with no lock needed).

    Switching needs the file to itself, and SQLite does not wait for that when another
    connection is writing: it answers "database is locked" at once, whatever busy_timeout
    says (two processes opening a new file together: one switches and migrates, the other
    failed). So wait for the other's write lock the way that does wait, and switch then."""
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        connection.execute("BEGIN IMMEDIATE")  # waits up to busy_timeout, then raises
        connection.execute("ROLLBACK")


class _Writer:
    """The one connection that writes, used from its own thread: write functions queue up."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.thread, fn, self.connection)

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        self.connection.close()


class _WriterTransaction:
    def __init__(self, writer: _Writer) -> None:
        self.writer = writer

    async def execute(self, sql: str, *args: Any) -> None:
        await self.writer.run(lambda c: c.execute(_sqlite_sql(sql), args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        await self.writer.run(lambda c: c.executemany(_sqlite_sql(sql), rows))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self.writer.run(lambda c: c.execute(_sqlite_sql(sql), args).fetchall())


def _begin(connection: sqlite3.Connection) -> None:
    # a caller cancelled while its BEGIN ran left that transaction open: nothing is in it
    _rollback(connection)
    connection.execute("BEGIN IMMEDIATE")


def _commit(connection: sqlite3.Connection) -> None:
    try:
        connection.execute("COMMIT")
    except BaseException:
        _rollback(connection)
        raise


def _rollback(connection: sqlite3.Connection) -> None:
    # SQLite may have rolled back already (a full disk does that)
    if connection.in_transaction:
        connection.execute("ROLLBACK")


class SQLiteDatabase:
    dialect = "sqlite"
    alerts_position = "rowid"
    # BEGIN IMMEDIATE already makes a transaction the only writer
    skip_locked = ""

    def __init__(self, path: Path, busy_timeout_ms: int = 5000, readers: int = READERS) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.reader_count = readers
        self._writer: _Writer | None = None
        self._write_lock = asyncio.Lock()
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._reader_threads: ThreadPoolExecutor | None = None
        self._commits = Waker()

    async def connect(self) -> None:
        # children's data: the directory and the files are this user's only (SQLite gives its
        # -wal and -shm files the database file's permissions)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        loop = asyncio.get_running_loop()
        with _unavailable_as_such():
            self._writer = _Writer(await loop.run_in_executor(
                None, lambda: _connect(self.path, self.busy_timeout_ms, reader=False)))
        try:
            await self._migrate()
            self._reader_threads = ThreadPoolExecutor(self.reader_count,
                                                      thread_name_prefix="sqlite-reader")
            for _ in range(self.reader_count):
                self._readers.put(await loop.run_in_executor(
                    None, lambda: _connect(self.path, self.busy_timeout_ms, reader=True)))
        except BaseException:
            await self.close()
            raise

    async def _migrate(self) -> None:
        async with self.transaction() as tx:
            (current,), = await tx.fetch("PRAGMA user_version")
            for migration in migrations.pending(current):
                for statement in migration.statements(self.dialect):
                    await tx.execute(statement)
            await tx.execute(f"PRAGMA user_version = {migrations.LATEST}")

    async def close(self) -> None:
        if self._reader_threads is not None:
            self._reader_threads.shutdown(wait=True)
            self._reader_threads = None
            while not self._readers.empty():
                self._readers.get().close()
        if self._writer is not None:
            async with self._write_lock:
                writer, self._writer = self._writer, None
                writer.close()

    @property
    def writer(self) -> _Writer:
        if self._writer is None:
            raise RuntimeError("store is not open")
        return self._writer

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        if self._reader_threads is None:
            raise RuntimeError("store is not open")

        def read() -> list[Row]:
            # as many connections as threads: one is always free for the thread running this
            connection = self._readers.get()
            try:
                return connection.execute(_sqlite_sql(sql), args).fetchall()
            finally:
                self._readers.put(connection)

        with _unavailable_as_such():
            return await asyncio.get_running_loop().run_in_executor(self._reader_threads, read)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_WriterTransaction]:
        """One writer at a time. The writer's thread runs the commit or rollback even when the
        caller is cancelled meanwhile, before it takes the next transaction's BEGIN."""
        with _unavailable_as_such():
            async with self._write_lock:
                writer = self.writer
                await writer.run(_begin)
                try:
                    yield _WriterTransaction(writer)
                except BaseException:
                    await asyncio.shield(writer.run(_rollback))
                    raise
                await asyncio.shield(writer.run(_commit))
        self._commits.wake()

    async def before_event(self, tx: _WriterTransaction) -> None:
        """BEGIN IMMEDIATE already made this the only writer; this process wakes on commit."""

    async def wait_for_commit(self) -> None:
        await self._commits.wait(POLL_SECONDS)

    async def forget(self) -> None:
        """The WAL still holds the pages as they were: copy it into the database and empty it."""
        async with self._write_lock:
            with _unavailable_as_such():
                await self.writer.run(
                    lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())


class SQLiteStore(SqlStore):
    def __init__(self, path: Path, delivery_targets: DeliveryTargets | None = None,
                 busy_timeout_ms: int = 5000,
                 clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(SQLiteDatabase(path, busy_timeout_ms), delivery_targets, clock)
        self.path = path

    def leadership(self, name: str) -> Leadership:
        return FileLockLeadership(self.path.with_name(f"{self.path.name}.{name}.lead"))


class FileLockLeadership(Leadership):
    """An exclusive `flock` on a file beside the database. Every process that shares a SQLite
    file runs on its host, and the kernel drops a dead process's lock the moment it dies, so
    a SIGKILLed leader's duties pass on at once (a lease in a table had to lapse first).
    Files are opened close-on-exec, and the render pool's fork server is started by exec, so
    no child process keeps the lock alive after its leader died."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the lock
