"""The lean poll path: a screen's repeat polls are answered from what its first poll came to,
and still keep every rule of the route (access, receipts, places, ETags, headers, errors)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer
from support.alerts import amber_alert, missing_child_alert
from support.api import auth, publish
from support.config import KEY_A, KEY_B, PUBLISHER, VIEWER, config_data
from support.metrics import scrape

from feedserver.app import create_app
from feedserver.appkeys import CONFIG, POLLS, RECEIPTS
from feedserver.config import parse_config
from feedserver.serving import answer_known_polls_first

UTRECHT = "52.0907,5.1214"
NEAR_UTRECHT = {"circles": [{"lat": 52.0907, "lon": 5.1214, "radius_km": 10}]}
URL = f"/v1/feeds/net-a/landscape?key={KEY_A}&screen=lean-1&at={UTRECHT}"
FAR_URL = f"/v1/feeds/net-a/landscape?key={KEY_A}&screen=lean-2&at=53.2194,6.5665"


def assert_poll_headers(response, status: int) -> None:
    assert response.status == status
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["Vary"] == "Authorization"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"].startswith('"')
    if status == 200:
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert response.headers["Feedserver-JWS"].count(".") == 2


async def test_repeat_polls_keep_etags_headers_places_and_receipts(client):
    first = await client.get(URL)
    assert_poll_headers(first, 200)
    far = await client.get(FAR_URL)
    assert len(client.app[POLLS]) == 2  # both URLs are known from now on
    again = await client.get(URL, headers={"If-None-Match": first.headers["ETag"]})
    assert_poll_headers(again, 304)
    assert await again.read() == b""

    # A regional alert published after the URLs were remembered: the place of each poll is
    # looked up again, so it reaches the screen in its circle and not the one far away.
    regional = await publish(client, missing_child_alert(area=NEAR_UTRECHT))
    inside = await client.get(URL, headers={"If-None-Match": first.headers["ETag"]})
    assert_poll_headers(inside, 200)
    assert [a["id"] for a in (await inside.json())["alerts"]] == [regional["id"]]
    outside = await client.get(FAR_URL, headers={"If-None-Match": far.headers["ETag"]})
    assert_poll_headers(outside, 304)

    national = await publish(client, amber_alert())
    for url in (URL, URL, FAR_URL):
        assert (await client.get(url)).status == 200
    assert len(client.app[POLLS]) == 2
    await client.app[RECEIPTS].flush()
    for alert, screens in ((regional, 1), (national, 2)):
        response = await client.get(f"/v1/alerts/{alert['id']}/receipts", headers=auth(VIEWER))
        assert (await response.json())["screens"] == screens


async def test_other_credentials_on_a_known_url_are_checked_again(client):
    assert (await client.get(URL)).status == 200
    wrong = await client.get(URL, headers=auth("not-a-token"))
    assert wrong.status == 401
    assert (await wrong.json())["error"]["code"] == "unauthorized"
    other = await client.get(URL, headers=auth(KEY_B))
    assert other.status == 403
    assert (await other.json())["error"]["code"] == "forbidden"
    staff = await client.get(URL, headers=auth(PUBLISHER))
    assert_poll_headers(staff, 200)
    assert len(client.app[POLLS]) == 2  # the key's and the staff token's


async def test_refused_polls_are_never_remembered(client):
    for url in (f"/v1/feeds/net-a/landscape?key={KEY_B}",
                f"/v1/feeds/net-a/landscape?key={KEY_A}&screen=bad%20id",
                f"/v1/feeds/net-a/landscape?key={KEY_A}&at=91,5",
                f"/v1/feeds/net-a/nowhere?key={KEY_A}",
                "/v1/feeds/net-a/landscape?key=unknown"):
        statuses = {(await client.get(url)).status for _ in range(2)}
        assert len(statuses) == 1 and statuses.pop() >= 400
    assert len(client.app[POLLS]) == 0


async def test_known_polls_forget_the_oldest_when_full(client):
    known = client.app[POLLS]
    known.limit = 3
    urls = [f"/v1/feeds/net-a/landscape?key={KEY_A}&screen=screen-{i}" for i in range(5)]
    for url in urls:
        assert (await client.get(url)).status == 200
    assert len(known) == 3
    again = await client.get(urls[0])
    assert_poll_headers(again, 200)


async def test_a_reload_that_withdraws_a_key_is_not_outlived_by_a_remembered_poll(client, tmp_path):
    """The lean path remembers what a URL's credentials came to; a reload (SIGHUP) may take a
    key away, and the screen's next poll must then be refused, not answered from memory."""
    assert (await client.get(URL)).status == 200
    assert len(client.app[POLLS]) == 1
    data = config_data(tmp_path / "data")
    data["storage"] = client.app[CONFIG].current.storage
    data["networks"][0]["keys"] = ["key-network-a-renewed"]
    client.app[CONFIG].apply(parse_config(data))
    assert len(client.app[POLLS]) == 0
    assert (await client.get(URL)).status == 401
    renewed = URL.replace(KEY_A, "key-network-a-renewed")
    assert (await client.get(renewed)).status == 200


async def test_repeat_polls_are_answered_ahead_of_the_router_and_middlewares(
        make_config, aiohttp_client):
    """`feedserver serve` (and the `client` fixture) put the lean path in front of the
    application: a middleware sees a URL's first poll and no repeat, yet every answer is
    whole and counted in the metrics like one of the route's."""
    routed: list[str] = []

    @web.middleware
    async def seen_by_the_router(request, handler):
        routed.append(request.path_qs)
        return await handler(request)

    app = create_app(make_config())
    app.middlewares.append(seen_by_the_router)
    server = TestServer(app)
    await server.start_server()
    answer_known_polls_first(server.runner)
    client = await aiohttp_client(server)
    first = await client.get(URL)
    assert_poll_headers(first, 200)
    for _ in range(3):
        again = await client.get(URL, headers={"If-None-Match": first.headers["ETag"]})
        assert_poll_headers(again, 304)
    assert_poll_headers(await client.get(URL), 200)
    assert routed == [URL]
    page = await scrape(client)
    for status, count in (("200", 2), ("304", 3)):
        assert page.value("feedserver_http_requests_total", route="/v1/feeds/{network}/{profile}",
                          status=status) == count
    assert page.value("feedserver_polls_total", network="net-a", profile="landscape") == 5
