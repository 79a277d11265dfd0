"""Shared fixtures: a real server on a real socket with a real SQLite file per test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from feedserver.access_log import PathOnlyAccessLogger
from feedserver.app import create_app
from feedserver.config import Config, parse_config

VIEWER, EDITOR, PUBLISHER, ADMIN = "t-viewer-1", "t-editor-1", "t-publisher-1", "t-admin-1"
KEY_A, KEY_B = "key-network-a", "key-network-b"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat(timespec="seconds")


def config_data(data_dir: Path) -> dict[str, Any]:
    """Two networks with profiles that differ in every filter the feed applies."""
    return {
        "server": {"listen": "127.0.0.1:0", "public_url": "http://feeds.test",
                   "data_dir": str(data_dir)},
        "storage": "sqlite",
        "alerts": {"resolved_display_seconds": 3600, "offline_grace_seconds": 900},
        "staff": [
            {"name": "vera-viewer", "role": "viewer", "token": VIEWER},
            {"name": "eddie-editor", "role": "editor", "token": EDITOR},
            {"name": "pia-publisher", "role": "publisher", "token": PUBLISHER},
            {"name": "ada-admin", "role": "admin", "token": ADMIN},
        ],
        "networks": [
            {"id": "net-a", "name": "Network A", "keys": [KEY_A], "profiles": [
                {"id": "landscape", "size": "1920x1080", "languages": ["nl", "en"]},
                {"id": "amber-only", "size": "1400x400", "kinds": ["amber"]},
                {"id": "utrecht", "size": "840x400", "regions": ["NL-UT"]},
                {"id": "tests", "size": "800x600", "test_alerts": True},
            ]},
            {"id": "net-b", "name": "Network B", "keys": [KEY_B], "profiles": [
                {"id": "atm", "size": "800x600", "languages": ["en"]},
            ]},
        ],
    }


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


def amber_alert(**overrides: Any) -> dict[str, Any]:
    """A complete AMBER Alert about an invented child."""
    alert = {
        "kind": "amber",
        "circumstance": "stranger_abduction",
        "regions": ["NL"],
        "languages": ["nl", "en"],
        "children": [{"name": "Fleur Testkind", "age": 9, "sex": "female", "height_cm": 134,
                      "description": {"nl": "Lang blond haar", "en": "Long blond hair"},
                      "clothing": {"nl": "Rode jas", "en": "Red coat"}}],
        "suspects": [{"name": None, "description": {"nl": "Man, ongeveer 40",
                                                    "en": "Man, about 40"}}],
        "vehicles": [{"make": "Volkswagen", "model": "Golf", "colour": {"nl": "blauw",
                                                                        "en": "blue"},
                      "plate": "99-XYZ-9", "country": "NL"}],
        "last_seen": {"place": "Utrecht, Vredenburg", "at": in_hours(-1)},
        "message": {"nl": "Bel 112 als u haar ziet.", "en": "Call 112 if you see her."},
        "contact": {"phone": "0800-6070", "url": "https://www.politie.nl/amberalert"},
        "expires_at": in_hours(24),
    }
    alert.update(overrides)
    return alert


def missing_child_alert(**overrides: Any) -> dict[str, Any]:
    alert = {
        "kind": "missing_child",
        "circumstance": "runaway",
        "regions": ["NL-UT"],
        "languages": ["nl"],
        "children": [{"name": "Daan Verzonnen", "age": 14}],
        "message": "Daan is sinds gisteren vermist.",
    }
    alert.update(overrides)
    return alert


async def create(client: TestClient, alert: dict[str, Any], token: str = EDITOR) -> dict:
    response = await client.post("/v1/alerts", json=alert, headers=auth(token))
    assert response.status == 201, await response.text()
    return await response.json()


async def publish(client: TestClient, alert: dict[str, Any]) -> dict:
    created = await create(client, alert)
    response = await client.post(f"/v1/alerts/{created['id']}/publish", headers=auth(PUBLISHER))
    assert response.status == 200, await response.text()
    return await response.json()


async def feed(client: TestClient, network: str, profile: str, key: str, **params: str) -> dict:
    response = await client.get(f"/v1/feeds/{network}/{profile}", params={"key": key, **params})
    assert response.status == 200, await response.text()
    return await response.json()
