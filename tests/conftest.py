"""Fixtures: a real server on a real socket with a real SQLite file per test.

Helpers live in tests/support; this file holds fixtures only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from support.config import config_data

from feedserver.access_log import PathOnlyAccessLogger
from feedserver.app import create_app
from feedserver.config import Config, parse_config


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    def make(**overrides: Any) -> Config:
        data = config_data(tmp_path / "data")
        data.update(overrides)
        return parse_config(data)

    return make


@pytest.fixture
async def client(aiohttp_client, make_config) -> TestClient:
    server = TestServer(create_app(make_config()))
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    return await aiohttp_client(server)
