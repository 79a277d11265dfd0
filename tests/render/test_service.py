"""The render cache over real HTTP: creatives named in feeds, rendered in the pool, served
from memory with immutable caching; current.*, previews, and a restart that rebuilds."""

from __future__ import annotations

import io
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from support import samples
from support.alerts import amber_alert
from support.api import auth, create, publish, upload_photo
from support.config import KEY_A, KEY_B, PUBLISHER, VIEWER, config_data

from feedserver.access_log import PathOnlyAccessLogger
from feedserver.alerts.model import Alert
from feedserver.app import create_app
from feedserver.appkeys import RENDERER
from feedserver.config import Config, parse_config


@pytest.fixture
def render_config(tmp_path, storage) -> Config:
    """Fewer profiles and formats than the core tests' config: every creative costs CPU."""
    data = {**config_data(tmp_path / "data"), "storage": storage}
    data["networks"][0]["profiles"] = [
        {"id": "landscape", "size": "1920x1080", "languages": ["nl", "en"]},
        {"id": "amber-only", "size": "1400x400", "kinds": ["amber"], "formats": ["png"]},
    ]
    data["networks"][1]["profiles"] = [
        {"id": "atm", "size": "800x600", "languages": ["en"], "formats": ["jpg", "html"]},
    ]
    return parse_config(data)


@pytest.fixture
async def client(aiohttp_client, render_config) -> TestClient:
    server = TestServer(create_app(render_config))
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    return await aiohttp_client(server)


async def feed(client: TestClient, network: str, profile: str, key: str) -> dict:
    response = await client.get(f"/v1/feeds/{network}/{profile}", params={"key": key})
    assert response.status == 200
    return await response.json()


async def settled(client: TestClient) -> None:
    """Wait until the renders the last change scheduled are done."""
    await client.server.app[RENDERER].idle()


async def test_published_alert_is_served_by_digest_with_immutable_caching(client):
    photo = await upload_photo(client, samples.portrait_photo())
    alert = amber_alert()
    alert["children"][0]["photo"] = photo
    published = await publish(client, alert)
    document = await feed(client, "net-a", "landscape", KEY_A)
    renders = document["alerts"][0]["renders"]
    assert document["alerts"][0]["id"] == published["id"]
    assert set(renders) == {"jpg", "png", "webp", "html"}
    for fmt, url in renders.items():
        assert url.startswith("http://feeds.test/v1/renders/") and url.endswith("." + fmt)
        response = await client.get(urlsplit(url).path)  # no credentials
        assert response.status == 200, await response.text()
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        body = await response.read()
        if fmt == "html":
            assert response.content_type == "text/html"
            assert "Fleur Testkind (9)" in body.decode()
        else:
            assert Image.open(io.BytesIO(body)).size == (1920, 1080)
        again = await client.get(
            urlsplit(url).path, headers={"If-None-Match": response.headers["ETag"]}
        )
        assert again.status == 304


async def test_each_profile_gets_its_own_size(client):
    await publish(client, amber_alert())
    for network, profile, key, size in (
        ("net-a", "amber-only", KEY_A, (1400, 400)),
        ("net-b", "atm", KEY_B, (800, 600)),
    ):
        renders = (await feed(client, network, profile, key))["alerts"][0]["renders"]
        url = next(iter(renders.values()))  # the profile's first (primary) format
        response = await client.get(urlsplit(url).path)
        assert Image.open(io.BytesIO(await response.read())).size == size


async def test_current_creative_and_idle_profile(client):
    idle = await client.get("/v1/feeds/net-a/landscape/current.jpg", params={"key": KEY_A})
    assert idle.status == 404
    assert (await idle.json())["error"]["code"] == "no_active_alert"
    await publish(client, amber_alert())
    response = await client.get("/v1/feeds/net-a/landscape/current.jpg", params={"key": KEY_A})
    assert response.status == 200 and response.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(await response.read())).size == (1920, 1080)
    foreign = await client.get("/v1/feeds/net-a/landscape/current.jpg", params={"key": KEY_B})
    assert foreign.status == 403
    unknown = await client.get("/v1/feeds/net-a/landscape/current.gif", params={"key": KEY_A})
    assert unknown.status == 404 and "error" in await unknown.json()


async def test_drafts_are_previewed_but_never_served_by_digest(client):
    draft = await create(client, amber_alert())
    path = f"/v1/alerts/{draft['id']}/preview/net-a/landscape"
    image = await client.get(path + ".png", headers=auth(VIEWER))
    assert image.status == 200 and image.content_type == "image/png"
    assert Image.open(io.BytesIO(await image.read())).size == (1920, 1080)
    digest = image.headers["ETag"].strip('"')
    hidden = await client.get(f"/v1/renders/{digest}.png")
    assert hidden.status == 404
    report = await client.get(path, headers=auth(VIEWER))
    assert report.status == 200
    body = await report.json()
    assert body["alert"] == draft["id"] and body["layout"] == "landscape"
    name = next(b for b in body["layers"][0]["blocks"] if b["block"] == "name")
    assert name["font_px"] >= body["floor_px"] and name["contrast"] >= 4.5
    assert (await client.get(path + ".png")).status == 401
    assert (await client.get(path, params={"key": KEY_A})).status == 401
    missing = await client.get(f"/v1/alerts/{draft['id']}/preview/net-a/nope", headers=auth(VIEWER))
    assert missing.status == 404


async def test_update_replaces_and_cancel_withdraws_creatives(client):
    published = await publish(client, amber_alert())
    old = (await feed(client, "net-a", "landscape", KEY_A))["alerts"][0]["renders"]["jpg"]
    assert (await client.get(urlsplit(old).path)).status == 200
    patched = await client.patch(
        f"/v1/alerts/{published['id']}",
        json={"message": {"nl": "Nieuwe tekst.", "en": "New text."}},
        headers=auth(PUBLISHER),
    )
    assert patched.status == 200
    new = (await feed(client, "net-a", "landscape", KEY_A))["alerts"][0]["renders"]["jpg"]
    assert new != old
    assert (await client.get(urlsplit(new).path)).status == 200
    await settled(client)
    assert (await client.get(urlsplit(old).path)).status == 404
    cancelled = await client.post(
        f"/v1/alerts/{published['id']}/cancel", json={"reason": "test"}, headers=auth(PUBLISHER)
    )
    assert cancelled.status == 200
    await settled(client)
    assert (await client.get(urlsplit(new).path)).status == 404


async def test_resolved_alert_shows_the_found_card(client):
    published = await publish(client, amber_alert())
    resolved = await client.post(
        f"/v1/alerts/{published['id']}/resolve",
        json={"message": {"nl": "Fleur is gevonden.", "en": "Fleur has been found."}},
        headers=auth(PUBLISHER),
    )
    assert resolved.status == 200
    url = (await feed(client, "net-a", "landscape", KEY_A))["alerts"][0]["renders"]["html"]
    html = (await (await client.get(urlsplit(url).path)).read()).decode()
    assert "GEVONDEN" in html and "Fleur is gevonden." in html and "Fleur has been found." in html


async def test_a_restart_rebuilds_every_creative(aiohttp_client, render_config):
    first = await aiohttp_client(TestServer(create_app(render_config)))
    await publish(first, amber_alert())
    url = (await feed(first, "net-a", "landscape", KEY_A))["alerts"][0]["renders"]["webp"]
    await first.close()
    second = await aiohttp_client(TestServer(create_app(render_config)))
    response = await second.get(urlsplit(url).path)
    assert response.status == 200 and response.content_type == "image/webp"


async def test_bad_digests_and_extensions_are_404_json(client):
    for path in (
        "/v1/renders/nothex.png",
        "/v1/renders/" + "a" * 40 + ".gif",
        "/v1/renders/" + "a" * 40 + ".png",
    ):
        response = await client.get(path)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"


async def test_layout_warnings_name_what_was_left_out(client):
    long_message = {"nl": "Lange tekst. " * 60, "en": "Long text. " * 60}
    published = await publish(client, amber_alert(message=long_message))
    await settled(client)
    warnings = client.server.app[RENDERER].layout_warnings(Alert.from_document(published))
    assert any(w.startswith("net-a/landscape 1920x1080") and "message" in w for w in warnings)


async def test_a_found_card_past_its_display_time_is_not_kept(aiohttp_client, render_config):
    config = replace(
        render_config, alerts=replace(render_config.alerts, resolved_display_seconds=0)
    )
    client = await aiohttp_client(TestServer(create_app(config)))
    published = await publish(client, amber_alert())
    url = (await feed(client, "net-a", "landscape", KEY_A))["alerts"][0]["renders"]["jpg"]
    assert (await client.get(urlsplit(url).path)).status == 200
    resolved = await client.post(
        f"/v1/alerts/{published['id']}/resolve",
        json={"message": {"nl": "Gevonden."}},
        headers=auth(PUBLISHER),
    )
    assert resolved.status == 200
    await settled(client)
    assert (await feed(client, "net-a", "landscape", KEY_A))["state"] == "idle"
    assert (await client.get(urlsplit(url).path)).status == 404
    assert client.server.app[RENDERER].layout_warnings(
        Alert.from_document(await resolved.json())) == []
