"""Fixtures: a real server on a real socket with a real store per test: a SQLite file, and
(marked `postgres`) a PostgreSQL database of its own.

Helpers live in tests/support; this file holds fixtures only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, async_playwright
from support import postgres
from support.browser import CHROMIUM, CHROMIUM_ARGS
from support.config import config_data
from support.servers import ServerProcess

from feedserver.access_log import PathOnlyAccessLogger
from feedserver.app import create_app
from feedserver.config import Config, parse_config
from feedserver.serving import answer_known_polls_first


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[postgres.TestDatabases]:
    databases = postgres.TestDatabases()
    yield databases
    databases.close()


@pytest.fixture
def postgres_database(postgres_databases: postgres.TestDatabases) -> Iterator[str]:
    """The name of a migrated PostgreSQL database of the test's own."""
    name = postgres_databases.create()
    yield name
    postgres_databases.finished(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest) -> str:
    """The config's `storage`: every test that uses it runs on both stores."""
    if request.param == "sqlite":
        return "sqlite"
    return postgres.url(request.getfixturevalue("postgres_database"))


@pytest.fixture
def make_config(tmp_path: Path, storage: str) -> Callable[..., Config]:
    def make(**overrides: Any) -> Config:
        data = config_data(tmp_path / "data")
        data["storage"] = storage
        data.update(overrides)
        return parse_config(data)

    return make


@pytest.fixture
async def client(make_config, aiohttp_client) -> TestClient:
    """make_config first: fixtures are torn down in reverse, so the app (and its store
    connections) closes before its database is dropped."""
    server = TestServer(create_app(make_config()))
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    answer_known_polls_first(server.runner)  # as `feedserver serve` does
    return await aiohttp_client(server)


@pytest.fixture
async def server_process(tmp_path: Path, storage: str) -> AsyncIterator[ServerProcess]:
    """`feedserver serve` in a child process on the main config and each store (a SQLite file
    in tmp_path, a PostgreSQL database); SIGKILLed at the end if the test left it running."""
    process = ServerProcess({**config_data(tmp_path / "data"), "storage": storage}, tmp_path)
    await process.start()
    yield process
    process.kill()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium (tests that use it are marked `browser`)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()
