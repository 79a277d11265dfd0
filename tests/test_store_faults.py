"""A store that cannot answer (disk full, database gone): the API answers 503
store_unavailable, never a 500; screens keep their feeds; and the server recovers by itself,
with nothing it acknowledged lost."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient
from support import postgres
from support.alerts import amber_alert
from support.api import auth, feed, publish, upload_photo
from support.config import EDITOR, KEY_A, config_data
from support.store import fill_the_disk, noise_photo

from feedserver.app import create_app
from feedserver.appkeys import STORE
from feedserver.store import migrations


async def assert_unavailable(client: TestClient) -> None:
    """A change refused with 503 while the alert already published stays on screens."""
    response = await client.post("/v1/photos", data=noise_photo(),
                                 headers={**auth(EDITOR), "Content-Type": "image/jpeg"})
    assert response.status == 503, await response.text()
    assert (await response.json())["error"]["code"] == "store_unavailable"
    assert response.headers["Retry-After"]


@pytest.mark.parametrize("storage", ["sqlite"])
async def test_a_full_disk_answers_503_and_the_server_recovers(aiohttp_client, make_config):
    app = create_app(make_config())
    client = await aiohttp_client(app)
    published = await publish(client, amber_alert())
    await fill_the_disk(app[STORE], 0)
    await assert_unavailable(client)
    document = await feed(client, "net-a", "landscape", KEY_A)
    assert [a["id"] for a in document["alerts"]] == [published["id"]]
    await fill_the_disk(app[STORE], 100_000)  # space freed
    await upload_photo(client, noise_photo())
    second = await publish(client, amber_alert())
    document = await feed(client, "net-a", "landscape", KEY_A)
    assert {a["id"] for a in document["alerts"]} == {published["id"], second["id"]}


@pytest.mark.postgres
@pytest.mark.parametrize("storage", ["sqlite"])  # replaced below by the relayed PostgreSQL
async def test_postgresql_gone_answers_503_and_the_server_recovers(
        aiohttp_client, make_config, postgres_database):
    name = postgres_database
    relay = postgres.Relay()
    await relay.start()
    try:
        app = create_app(make_config(storage=f"{relay.server_url}/{name}"))
        client = await aiohttp_client(app)
        published = await publish(client, amber_alert())
        await relay.cut()
        await assert_unavailable(client)
        response = await client.get(f"/v1/alerts/{published['id']}", headers=auth(EDITOR))
        assert response.status == 503
        document = await feed(client, "net-a", "landscape", KEY_A)
        assert [a["id"] for a in document["alerts"]] == [published["id"]]
        await relay.start()
        second = await publish(client, amber_alert())
        response = await client.get(f"/v1/alerts/{published['id']}", headers=auth(EDITOR))
        assert response.status == 200
        document = await feed(client, "net-a", "landscape", KEY_A)
        assert {a["id"] for a in document["alerts"]} == {published["id"], second["id"]}
    finally:
        await relay.cut()


def serve(tmp_path: Path, storage: str) -> subprocess.CompletedProcess:
    config = tmp_path / "feedserver.yaml"
    config.write_text(yaml.safe_dump({**config_data(tmp_path / "data"), "storage": storage}))
    return subprocess.run([sys.executable, "-m", "feedserver", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)


def test_serve_refuses_a_database_from_a_newer_feedserver_in_one_line(tmp_path: Path):
    path = tmp_path / "newer.db"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    connection.close()
    refused = serve(tmp_path, f"sqlite:///{path}")
    assert refused.returncode == 2
    assert "storage: the database is at schema version" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_serve_says_when_postgresql_cannot_be_reached(tmp_path: Path):
    refused = serve(tmp_path, "postgresql://postgres@127.0.0.1:9/feedserver")
    assert refused.returncode == 2
    assert "storage: PostgreSQL:" in refused.stderr
    assert "Traceback" not in refused.stderr
