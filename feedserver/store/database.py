"""What the SQL store needs of a database: committed reads, and one writer's transactions.

SQL is written once with PostgreSQL's `$1` placeholders; SQLite gets them as `?1`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from feedserver.tasks import wait_at_most

Row = Sequence[Any]


class Transaction(Protocol):
    async def execute(self, sql: str, *args: Any) -> None: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...


class Database(Protocol):
    dialect: str
    # how alerts are ordered by insertion (SQLite's rowid; a column on PostgreSQL)
    alerts_position: str
    # what makes a concurrent claimer pass over a row another transaction is claiming
    skip_locked: str

    async def connect(self) -> None:
        """Open connections and bring the schema to the latest migration."""

    async def close(self) -> None: ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """A read that sees only committed rows."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Everything inside commits together or not at all."""

    async def before_event(self, tx: Transaction) -> None:
        """Make event numbers commit in the order they are handed out, and wake the other
        instances when this transaction commits."""

    async def wait_for_commit(self) -> None:
        """Return when events may have been committed (by any instance), or after a while."""

    async def forget(self) -> None:
        """Leave no copy of deleted or overwritten rows in the database's files."""


def placeholders(first: int, count: int) -> str:
    """`$first, ..., $(first+count-1)`: a parameter list for `IN (...)`."""
    return ", ".join(f"${n}" for n in range(first, first + count))


class Waker:
    """Wakes every waiter at once. A wake-up nobody waited for is not kept: waiters re-read the
    event log after waking, so nothing is lost with it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        await wait_at_most(self._event, timeout)
