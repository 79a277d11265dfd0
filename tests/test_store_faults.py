"""A store that cannot answer (disk full, database gone): the API answers 503
store_unavailable, never a 500; screens keep their feeds; and the server recovers by itself,
with nothing it acknowledged lost."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from support import postgres
from support.alerts import amber_alert
from support.api import auth, feed, publish, upload_photo
from support.config import EDITOR, KEY_A
from support.store import fill_the_disk, noise_photo

from feedserver.app import create_app
from feedserver.appkeys import STORE


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
        aiohttp_client, make_config, postgres_template):
    name = postgres.create_database(postgres_template)
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
        await client.close()
    finally:
        await relay.cut()
        postgres.drop_database(name)
