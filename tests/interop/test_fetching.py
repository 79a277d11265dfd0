"""Images named by upstream data are fetched under API.md's Fetching rules: http(s) only, each
redirect hop checked, never a loopback, private or link-local address unless the operator
allowed that host:port (`server.fetch_allow`, or an upstream's origin)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.api import auth
from support.cap import ingest, with_child_and_photo
from support.config import VIEWER
from support.samples import drawn_photo

from feedserver.app import create_app
from feedserver.appkeys import ALERTS, POLLERS


@dataclass
class Hits:
    paths: list[str] = field(default_factory=list)


def image_app(hits: Hits, redirects: dict[str, str], listing: list | None = None,
              ) -> web.Application:
    """Serves a drawn photo, answers 302 for each path in `redirects`, and `listing` as a
    national list at /alerts.json."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/alerts.json" and listing is not None:
            return web.json_response(listing)
        hits.paths.append(request.path)
        if request.path in redirects:
            raise web.HTTPFound(redirects[request.path])
        if request.path == "/broken.jpg":
            return web.Response(body=b"\xff\xd8\xff not really", content_type="image/jpeg")
        return web.Response(body=drawn_photo(), content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    return app


@pytest.fixture
async def internal(aiohttp_server) -> tuple[TestServer, Hits]:
    """A service on the server's own network that no upstream may make it fetch from."""
    hits = Hits()
    return await aiohttp_server(image_app(hits, {})), hits


@pytest.fixture
async def gateway(aiohttp_server, internal) -> tuple[TestServer, Hits]:
    """An image host the operator allowed (`fetch_allow`) that redirects to bad places."""
    inside, _ = internal
    hits = Hits()
    redirects = {
        "/to-internal": f"http://127.0.0.1:{inside.port}/secret.jpg",
        "/to-localhost": f"http://localhost:{inside.port}/secret.jpg",
        "/to-file": "file:///etc/passwd",
        "/loop": "/loop",
        "/to-photo": "/photo.jpg",
    }
    return await aiohttp_server(image_app(hits, redirects)), hits


@pytest.fixture
async def fetch_client(aiohttp_client, make_config, tmp_path, gateway):
    server, _ = gateway
    config = make_config(server={"listen": "127.0.0.1:0", "public_url": "http://feeds.test",
                                 "data_dir": str(tmp_path / "data"),
                                 "fetch_allow": [f"127.0.0.1:{server.port}"]})
    return await aiohttp_client(create_app(config))


async def test_cap_photos_follow_the_fetching_rules(fetch_client, gateway, internal):
    outside, outside_hits = gateway
    inside, inside_hits = internal
    port = inside.port
    refused = {
        f"http://127.0.0.1:{port}/secret.jpg": "not public",
        f"http://localhost:{port}/secret.jpg": "not public",
        f"http://[::1]:{port}/secret.jpg": "not public",
        f"http://0.0.0.0:{port}/secret.jpg": "not public",
        f"http://2130706433:{port}/secret.jpg": "InvalidUrl",  # 127.0.0.1 as one number
        f"http://169.254.169.254:{port}/latest/meta-data": "not public",
        f"http://127.0.0.1:{outside.port}/to-internal": "not public",
        f"http://127.0.0.1:{outside.port}/to-localhost": "not public",
        f"http://127.0.0.1:{outside.port}/to-file": "only http and https",
        f"http://127.0.0.1:{outside.port}/loop": "more than 5 redirects",
        f"ftp://127.0.0.1:{outside.port}/photo.jpg": "only http and https",
        f"http://127.0.0.1:{outside.port}/broken.jpg": "not a JPEG, PNG or WebP",
    }
    for n, (url, why) in enumerate(refused.items()):
        body = with_child_and_photo(f"<uri>{url}</uri>").replace(b"NL-POL-1", f"R-{n}".encode())
        draft = await ingest(fetch_client, body, 201)
        assert draft["children"][0]["name"] == "Lotte Bedacht", url
        assert draft["children"][0]["photo"] is None, url
        (warning,) = [w for w in draft["warnings"] if w["field"] == "children[0].photo"]
        assert why in warning["message"], (url, warning)
        stored = await fetch_client.get(f"/v1/alerts/{draft['id']}", headers=auth(VIEWER))
        assert warning in (await stored.json())["warnings"]
    assert inside_hits.paths == []  # nothing ever reached the internal service
    assert outside_hits.paths.count("/loop") == 6  # the first request and five redirects

    for n, path in enumerate(("/photo.jpg", "/to-photo")):
        url = f"http://127.0.0.1:{outside.port}{path}"
        body = with_child_and_photo(f"<uri>{url}</uri>").replace(b"NL-POL-1", f"A-{n}".encode())
        draft = await ingest(fetch_client, body, 201)
        assert draft["children"][0]["photo"].startswith("p_"), path
        assert not [w for w in draft["warnings"] if w["field"] == "children[0].photo"]


async def test_national_photos_follow_the_fetching_rules(aiohttp_client, aiohttp_server,
                                                         make_config, internal):
    """The upstream's own origin is trusted; a redirect from it to elsewhere inside is not."""
    inside, inside_hits = internal
    served: list[dict] = []
    upstream = await aiohttp_server(image_app(
        Hits(), {"/to-internal": f"http://127.0.0.1:{inside.port}/secret.jpg"}, served))

    def listed(alert_id: str, photo: str) -> dict:
        return {"AlertId": alert_id, "MessageId": "1", "State": "Actual", "AlertLevel": "5",
                "Message": {"Title": f"Ilse Verzonnen ({alert_id})", "Description": "Vermist.",
                            "Media": {"Image": photo}}}

    served.extend([listed("7", str(upstream.make_url("/photo.jpg"))),
                   listed("8", str(upstream.make_url("/to-internal"))),
                   listed("9", f"http://localhost:{inside.port}/secret.jpg")])
    config = make_config(upstreams=[{"id": "national", "format": "national-json",
                                     "url": str(upstream.make_url("/alerts.json")),
                                     "interval_seconds": 3600, "mode": "draft"}])
    client = await aiohttp_client(create_app(config))
    await asyncio.wait_for(client.app[POLLERS]["national"].polled.wait(), 10)
    alerts = {a.origin.ref: a.to_document() for a in await client.app[ALERTS].list()}
    assert alerts["national:7"]["children"][0]["photo"].startswith("p_")
    for ref in ("national:8", "national:9"):
        assert alerts[ref]["children"][0].get("photo") is None
        (warning,) = alerts[ref]["warnings"]
        assert warning["field"] == "children[0].photo" and "not public" in warning["message"]
    assert inside_hits.paths == []

    photo = alerts["national:7"]["children"][0]["photo"]
    update = listed("7", str(upstream.make_url("/to-internal")))
    served[0] = {**update, "MessageId": "2",
                 "Message": {**update["Message"], "Description": "Gezien in Baarn."}}
    assert await client.app[POLLERS]["national"].poll_once()
    kept = (await client.app[ALERTS].find_by_origin("upstream", "national:7")).to_document()
    assert kept["children"][0]["photo"] == photo
    (warning,) = kept["warnings"]
    assert "earlier one is kept" in warning["message"] and "not public" in warning["message"]
    assert inside_hits.paths == []
