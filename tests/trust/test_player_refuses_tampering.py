"""The reference player behind a proxy that changes one byte: of the feed document, of a push
envelope, or of a render. Headless Chromium refuses each (WebCrypto, with the keys the page
was served with) and shows nothing false; with nothing changed it shows the real alert."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.alerts import amber_alert
from support.api import auth, publish
from support.config import KEY_A, PUBLISHER, config_data
from support.servers import free_port

from feedserver.app import create_app
from feedserver.appkeys import SIGNING_KEYS
from feedserver.config import parse_config
from feedserver.signing.keys import common_name, rotate

NAME = b"Fleur Testkind"  # in the headline, so in every document, envelope and html render
FORGED = b"Fleur Testkinf"  # one byte changed
HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", "host"}


class TamperingProxy:
    """Passes everything to the server; in its mode, changes one byte of one kind of answer
    and keeps the screen from the other way of learning the truth (poll or push)."""

    def __init__(self, upstream: str, mode: str) -> None:
        self.upstream, self.mode = upstream, mode

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/{path:.*}", self.forward)
        return app

    async def forward(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        stream = path.endswith("/events")
        document = path.count("/") == 4 and path.startswith("/v1/feeds/")
        if (self.mode == "document" and stream) or (self.mode == "envelope" and document):
            return web.Response(status=503)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with aiohttp.ClientSession(auto_decompress=False) as session, session.get(
                self.upstream + request.path_qs, headers=headers) as answer:
            out_headers = {k: v for k, v in answer.headers.items()
                           if k.lower() not in HOP_HEADERS}
            if stream:
                return await self._stream(request, answer, out_headers)
            body = await answer.read()
            if self.mode == "document" and document:
                body = body.replace(NAME, FORGED)
            if self.mode == "render" and path.startswith("/v1/renders/") and body:
                body = body.replace(NAME, FORGED) if NAME in body else \
                    body[:len(body) // 2] + bytes([body[len(body) // 2] ^ 1]) + \
                    body[len(body) // 2 + 1:]
            return web.Response(status=answer.status, body=body, headers=out_headers)

    async def _stream(self, request: web.Request, answer: aiohttp.ClientResponse,
                      headers: dict) -> web.StreamResponse:
        response = web.StreamResponse(status=answer.status, headers=headers)
        await response.prepare(request)
        async for line in answer.content:
            if self.mode == "envelope" and line.startswith(b"data:"):
                line = line.replace(NAME, FORGED)
            await response.write(line)
        return response


@pytest.mark.browser
@pytest.mark.parametrize("mode", ["none", "document", "envelope", "render"])
async def test_the_player_shows_only_what_verifies(aiohttp_client, aiohttp_server, tmp_path,
                                                   browser, mode):
    proxy_port = free_port()
    data = config_data(tmp_path / "data")
    data["server"]["public_url"] = f"http://127.0.0.1:{proxy_port}"
    client = await aiohttp_client(TestServer(create_app(parse_config(data))))
    proxy = TamperingProxy(str(client.make_url("")).rstrip("/"), mode)
    await aiohttp_server(proxy.app(), port=proxy_port)
    alert = await publish(client, amber_alert())

    page = await browser.new_page(viewport={"width": 960, "height": 540})
    await page.goto(f"http://127.0.0.1:{proxy_port}/v1/feeds/net-a/landscape/player"
                    f"?key={KEY_A}")
    if mode == "none":
        await page.wait_for_selector("#stage iframe[data-verified=render]", timeout=20000)
        assert await page.get_attribute("#stage", "data-alert") == alert["id"]
        assert await page.get_attribute("body", "data-refused") is None
    elif mode == "render":
        # the entry is true, its creative is not: the headline alone is shown
        await page.wait_for_selector("body[data-refused~=render]", timeout=20000)
        await page.wait_for_selector("#stage .text", timeout=20000)
        assert await page.text_content("#stage") == "AMBER Alert: Fleur Testkind (9)"
        assert await page.query_selector("#stage iframe, #stage img") is None
    else:
        await page.wait_for_selector(f"body[data-refused~={mode}]", timeout=20000)
        assert await page.get_attribute("body", "data-state") == "idle"
        assert "Testkinf" not in await page.content()
    await page.close()


@pytest.mark.browser
async def test_a_player_keeps_verifying_across_a_key_rotation(aiohttp_client, tmp_path, browser):
    """The page trusts the old key; after `keys rotate` and a restart the server signs with
    the new one, and the player learns it from the key set the old key signed."""
    port = free_port()
    data = config_data(tmp_path / "data")
    data["server"]["public_url"] = f"http://127.0.0.1:{port}"
    config = parse_config(data)
    first = await aiohttp_client(TestServer(create_app(config), port=port))
    alert = await publish(client=first, alert=amber_alert())
    old_kid = first.app[SIGNING_KEYS].current.kid
    page = await browser.new_page(viewport={"width": 960, "height": 540})
    await page.goto(f"http://127.0.0.1:{port}/v1/feeds/net-a/landscape/player?key={KEY_A}")
    await page.wait_for_selector("#stage iframe[data-verified=render]", timeout=20000)
    await first.close()

    rotated = rotate(config.data_dir / "signing", common_name(config))
    assert rotated.previous is not None and rotated.previous.kid == old_kid
    second = await aiohttp_client(TestServer(create_app(config), port=port))
    assert second.app[SIGNING_KEYS].current.kid != old_kid
    updated = await second.patch(f"/v1/alerts/{alert['id']}", json={"message": {"nl": "Tip"}},
                                 headers=auth(PUBLISHER))
    assert updated.status == 200
    new_kid = second.app[SIGNING_KEYS].current.kid
    await page.wait_for_selector(f"body[data-keys~='{new_kid}']", timeout=30000)
    await page.wait_for_selector("#stage[data-version='3'] iframe[data-verified=render]",
                                 timeout=30000)
    assert await page.get_attribute("body", "data-refused") is None
    assert await page.get_attribute("#stage", "data-alert") == alert["id"]
    await page.close()
