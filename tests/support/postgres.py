"""Databases of their own on this machine's PostgreSQL (127.0.0.1:5432, user postgres, trust).

A session migrates one template database; each test copies it (quicker than migrating again).
A test's copy is dropped when the next one starts (a test's app may still be closing
during its own teardown) or at the end of the session. An unreachable server fails the test:
`make test` starts it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import warnings
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import pytest

from feedserver.store.postgres import PostgresStore

SERVER = os.environ.get("FEEDSERVER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
T = TypeVar("T")


def url(database: str) -> str:
    return f"{SERVER}/{database}"


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on a loop of its own (a thread), so it works inside and outside a running loop."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


async def _admin(*statements: str) -> None:
    try:
        connection = await asyncpg.connect(url("postgres"), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {SERVER} is unreachable ({exc}); `make test` starts it,"
                    " or run: sudo service postgresql start", pytrace=False)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def unique_name(purpose: str) -> str:
    return f"feedserver_test_{purpose}_{os.getpid()}_{secrets.token_hex(4)}"


def create_empty_database(name: str) -> None:
    _run(_admin(f'CREATE DATABASE "{name}"'))


def create_template() -> str:
    """A database at the latest schema, to copy for each test."""
    name = unique_name("template")
    create_empty_database(name)

    async def migrate() -> None:
        store = PostgresStore(url(name))
        await store.open()
        await store.close()

    _run(migrate())
    return name


def create_database(template: str) -> str:
    name = unique_name("db")
    _run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return name


DROP_SECONDS = 30


def drop_database(name: str) -> None:
    """Drop a test's database; one that cannot be dropped within DROP_SECONDS (DROP DATABASE
    waits for every backend of the server to take a signal barrier) is left for the server's
    owner to clear rather than holding up the whole suite."""
    async def drop() -> None:
        try:
            await asyncio.wait_for(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'),
                                   DROP_SECONDS)
        except TimeoutError:
            warnings.warn(f"PostgreSQL database {name} not dropped within {DROP_SECONDS} s",
                          stacklevel=1)

    _run(drop())


class TestDatabases:
    """The session's template and the tests' copies of it."""

    def __init__(self) -> None:
        self.template = create_template()
        self._finished: list[str] = []

    def create(self) -> str:
        self.drop_finished()
        return create_database(self.template)

    def finished(self, name: str) -> None:
        self._finished.append(name)

    def drop_finished(self) -> None:
        while self._finished:
            drop_database(self._finished.pop())

    def close(self) -> None:
        self.drop_finished()
        drop_database(self.template)


def terminate_connections(name: str, instance: str = "") -> None:
    """Every session on the database ends, as when PostgreSQL restarts; or only those of one
    store instance, as when its process is killed. Each is waited for (up to 10 s): the
    backend lets go of its locks only when it has exited, not when it is told to."""
    _run(_admin("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                f" AND application_name LIKE 'feedserver {instance}%'"))


class Relay:
    """A TCP relay to PostgreSQL that a test can cut and restore: the database server going
    away and coming back, for one instance only (the real server stays up for everyone)."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def server_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = SERVER.rsplit("@", 1)[1].split(":")
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.transport.abort()
                self._writers.discard(sink)

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
