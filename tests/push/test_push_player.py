"""The reference player in headless Chromium, against the real server."""

from __future__ import annotations

import io

import pytest
from aiohttp import web
from PIL import Image
from playwright.async_api import Page
from support.push import KEY, Staff, feed_path

from feedserver.appkeys import FEEDS, HUB, RECEIPTS, SIGNATURES
from feedserver.signing.jws import PUBLIC_READ, Signatures


async def open_player(browser, client, **query: str) -> Page:
    page = await browser.new_page(viewport={"width": 960, "height": 540})
    response = await page.goto(str(client.make_url(feed_path("hall", "/player")).with_query(
        {"key": KEY, **query})))
    assert response.status == 200
    await page.wait_for_selector("body[data-state=idle]")
    return page


@pytest.mark.browser
async def test_player_shows_an_alert_after_publish_and_blanks_after_cancel(served, browser):
    client = await served()
    staff = Staff(client)
    page = await open_player(browser, client, screen="kiosk-7")

    alert = await staff.publish_new("Testkind Speler")
    await page.wait_for_selector(f"#stage[data-alert={alert['id']}]", timeout=5000)
    creative = page.frame_locator("#stage iframe").locator("body")
    assert "speler" in (await creative.inner_text(timeout=10000)).lower()

    await staff.cancel(alert["id"])
    await page.wait_for_selector("body[data-state=idle]", timeout=5000)
    assert await page.inner_text("#stage") == ""

    await client.app[RECEIPTS].flush()
    receipts = await (await client.get(f"/v1/alerts/{alert['id']}/receipts",
                                       headers=staff.headers)).json()
    assert receipts["screens"] == 1  # kiosk-7 received the cancellation


@pytest.mark.browser
async def test_player_drops_an_alert_at_valid_until_when_the_server_is_gone(
        aiohttp_client, make_app, browser):
    client = await aiohttp_client(make_app(alerts={"offline_grace_seconds": 3,
                                                   "poll_after_seconds": 1}))
    staff = Staff(client)
    page = await open_player(browser, client)
    alert = await staff.publish_new("Testkind Offline")
    await page.wait_for_selector(f"#stage[data-alert={alert['id']}]", timeout=5000)
    first = await (await client.get(feed_path(), params={"key": KEY})).json()
    # While the server answers, polls keep renewing valid_until and the alert stays.
    await page.wait_for_function("until => Date.now() > Date.parse(until) + 1000",
                                 arg=first["alerts"][0]["valid_until"], timeout=10000)
    assert await page.get_attribute("body", "data-state") == "alert"

    await page.route("**/v1/feeds/**", lambda route: route.abort())
    client.app[HUB].close_all()
    await page.wait_for_selector("body[data-state=idle]", timeout=10000)
    feed = await (await client.get(feed_path(), params={"key": KEY})).json()
    assert [a["id"] for a in feed["alerts"]] == [alert["id"]]  # still active on the server


@pytest.mark.browser
async def test_player_rotates_between_active_alerts(aiohttp_client, make_app, browser):
    client = await aiohttp_client(make_app())
    staff = Staff(client)
    first = await staff.publish_new("Testkind Een")
    second = await staff.publish_new("Testkind Twee")
    page = await browser.new_page()
    await page.goto(str(client.make_url(feed_path("hall", "/player")).with_query(
        {"key": KEY, "rotate": "1"})))
    await page.wait_for_selector("body[data-state=alert]")
    shown = {await page.get_attribute("#stage", "data-alert")}
    await page.wait_for_function(
        "shown => !shown.includes(document.getElementById('stage').dataset.alert)",
        arg=list(shown), timeout=5000)
    shown.add(await page.get_attribute("#stage", "data-alert"))
    assert shown == {first["id"], second["id"]}


async def test_player_page_needs_a_key_and_a_sane_rotation(client):
    path = feed_path("hall", "/player")
    assert (await client.get(path)).status == 401
    response = await client.get(path, params={"key": KEY, "rotate": "0"})
    assert response.status == 400
    assert (await response.json())["error"]["details"][0]["field"] == "rotate"
    page = await client.get(path, params={"key": KEY, "screen": "kiosk-1", "region": "NL-UT",
                                          "at": "52.09,5.12"})
    assert page.status == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    text = await page.text()
    assert "screen=kiosk-1" in text and "region=NL-UT" in text and "at=52.09%2C5.12" in text
    response = await client.get(path, params={"key": KEY, "at": "52.09"})
    assert response.status == 400
    assert (await response.json())["error"]["details"][0]["field"] == "at"


@pytest.mark.browser
async def test_player_shows_the_html_render_else_an_image(aiohttp_client, aiohttp_server,
                                                          make_app, browser):
    """Renders come from the public URL (a stand-in render host here, signing as the server
    would); the player shows each once its signature verifies."""
    signing: list[Signatures] = []

    async def creative(request: web.Request) -> web.Response:
        if request.match_info["ext"] == "html":
            body, content_type = b"<body style='background:#c00'>creative</body>", "text/html"
        else:
            out = io.BytesIO()
            Image.new("RGB", (192, 108), (200, 0, 0)).save(out, "PNG")
            body, content_type = out.getvalue(), "image/png"
        signature = signing[0].header(body, request.path)
        return web.Response(body=body, content_type=content_type,
                            headers={"Feedserver-JWS": signature, **PUBLIC_READ})

    renders_app = web.Application()
    renders_app.router.add_get("/r/{digest}.{ext}", creative)
    renders = await aiohttp_server(renders_app)
    formats: dict[str, tuple[str, ...]] = {"now": ("png",)}
    client = await aiohttp_client(make_app(public_url=str(renders.make_url("/")).rstrip("/")))
    signing.append(client.app[SIGNATURES])
    client.app[FEEDS].render_urls = lambda alert, network, profile: {
        ext: str(renders.make_url(f"/r/{alert.id}-{alert.version}.{ext}"))
        for ext in formats["now"]}
    staff = Staff(client)
    page = await open_player(browser, client)

    await staff.publish_new()
    image = await page.wait_for_selector("#stage img[data-verified=render]", timeout=15000)
    assert (await image.get_attribute("src")).startswith("blob:")
    await page.wait_for_function("document.querySelector('#stage img').naturalWidth === 192")

    formats["now"] = ("png", "html")
    alert = (await staff.update((await staff.publish_new())["id"], message={"nl": "Nieuwe tip"}))
    frame = await page.wait_for_selector("#stage iframe[data-verified=render]", timeout=15000)
    assert (await frame.get_attribute("src")).startswith("blob:")
    assert alert["version"] == 3
