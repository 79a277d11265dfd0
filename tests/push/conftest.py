"""Fixtures for the push tests: a real app on a real socket, with settings a test may change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from support.push import Staff, push_config_data
from support.servers import free_port
from support.webhooks import Receiver, serve_receiver

from feedserver.app import create_app
from feedserver.config import parse_config
from feedserver.timeutil import Clock, utcnow


@pytest.fixture
def make_app(tmp_path, storage: str) -> Callable[..., web.Application]:
    """The app with quick webhook retries; keyword arguments change its PushSettings."""
    def make(webhook_url: str | None = None, alerts: dict | None = None,
             webhooks: dict | None = None, public_url: str = "http://127.0.0.1:8080",
             clock: Clock = utcnow, limits: dict | None = None, **push) -> web.Application:
        data = {**push_config_data(tmp_path, webhook_url, alerts, public_url), "storage": storage}
        data["push"] = push
        if limits:
            data["limits"] = limits
        data["webhooks"] = {"backoff_seconds": 0.05, "backoff_max_seconds": 0.2,
                            **(webhooks or {})}
        return create_app(parse_config(data), clock=clock)
    return make


@pytest.fixture
def served(make_app, aiohttp_client) -> Callable[..., Awaitable[TestClient]]:
    """A client of an app whose public_url is its own address, so render URLs load."""
    async def serve(**kwargs) -> TestClient:
        port = free_port()
        app = make_app(public_url=f"http://127.0.0.1:{port}", **kwargs)
        return await aiohttp_client(TestServer(app, port=port))
    return serve


@pytest.fixture
async def client(make_app, aiohttp_client) -> TestClient:
    return await aiohttp_client(make_app())


@pytest.fixture
def staff(client) -> Staff:
    return Staff(client)


@pytest.fixture
async def receiver(aiohttp_server) -> tuple[Receiver, str]:
    return await serve_receiver(aiohttp_server)
