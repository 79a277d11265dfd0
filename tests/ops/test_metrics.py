"""Prometheus metrics at /metrics: admin only (or a loopback listener without a token), moving
as traffic flows, with labels that stay bounded however many screens and alerts there are.
Real servers over real sockets; every wait is for an outcome, none measures time."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from contextlib import AsyncExitStack

import aiohttp
import pytest
from aiohttp import web
from support.alerts import amber_alert
from support.api import auth, create, publish
from support.cluster import open_stream, sessions_on_two_workers, wait_for_listeners
from support.config import ADMIN, KEY_A, PUBLISHER, VIEWER, config_data
from support.metrics import scrape, scrape_until
from support.push import ADMIN as PUSH_ADMIN
from support.push import KEY, NETWORK, Staff, push_config_data
from support.servers import ServerProcess, free_port
from support.webhooks import Receiver, serve_receiver

from feedserver.app import create_app
from feedserver.appkeys import POLLERS
from feedserver.config import ConfigError, parse_config
from feedserver.formats import FORMATS

FEED = "/v1/feeds/{network}/{profile}"
POLL = "/v1/feeds/net-a/landscape"


async def test_metrics_are_for_admins_only(client):
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers=auth(VIEWER))).status == 403
    assert (await client.get("/metrics", headers=auth(PUBLISHER))).status == 403
    assert (await client.get("/metrics", params={"key": ADMIN})).status == 401  # not in a URL
    page = await scrape(client)
    assert "feedserver_http_requests_total" in page.text


async def test_polls_count_by_route_status_network_and_profile_and_give_the_304_ratio(client):
    before = await scrape(client)
    etags = {}
    for screen in ("lobby-1", "lobby-2", "lobby-3"):
        response = await client.get(POLL, params={"key": KEY_A, "screen": screen})
        assert response.status == 200
        etags[screen] = response.headers["ETag"]
    for screen, etag in etags.items():
        for _ in range(3):
            response = await client.get(POLL, params={"key": KEY_A, "screen": screen},
                                        headers={"If-None-Match": etag})
            assert response.status == 304
    await client.get("/v1/feeds/net-b/atm", params={"key": KEY_A})  # 403: another network's key
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    feed = {"route": FEED, "method": "GET"}
    assert grew("feedserver_http_requests_total", **feed, status="200") == 3
    assert grew("feedserver_http_requests_total", **feed, status="304") == 9
    assert grew("feedserver_http_requests_total", **feed, status="403") == 1
    answered = grew("feedserver_http_requests_total", **feed, status="200") + \
        grew("feedserver_http_requests_total", **feed, status="304")
    assert grew("feedserver_http_requests_total", **feed, status="304") / answered == 0.75
    assert grew("feedserver_polls_total", network="net-a", profile="landscape") == 12
    assert after.value("feedserver_polls_total", network="net-b", profile="atm") == 0
    assert after.value("feedserver_screens", network="net-a", profile="landscape") == 3
    assert after.value("feedserver_screens", network="net-b", profile="atm") == 0


async def test_stores_calls_are_timed_and_published_events_counted(client):
    before = await scrape(client)
    await publish(client, amber_alert())
    after = await scrape(client)
    assert after.value("feedserver_events_total", type="alert.published") == \
        before.value("feedserver_events_total", type="alert.published") + 1
    assert after.value("feedserver_store_seconds_count", operation="save") >= \
        before.value("feedserver_store_seconds_count", operation="save") + 2  # create, publish
    assert after.value("feedserver_store_seconds_count") > \
        before.value("feedserver_store_seconds_count")
    assert after.value("feedserver_render_pool_healthy") == 1


async def test_push_connections_fan_out_and_renders_show(tmp_path, aiohttp_client):
    client = await aiohttp_client(create_app(parse_config(push_config_data(tmp_path))))
    admin = PUSH_ADMIN
    idle = await scrape(client, token=admin)
    assert idle.value("feedserver_push_connections") == 0
    sse = await client.get(f"/v1/feeds/{NETWORK}/hall/events",
                           params={"key": KEY, "screen": "hall-sse-1"})
    assert sse.status == 200
    ws = await client.ws_connect(f"/v1/feeds/{NETWORK}/hall/ws",
                                 params={"key": KEY, "screen": "hall-ws-1"})
    await ws.receive_json()  # the snapshot: it has joined
    both = await scrape_until(client, lambda s: s.value("feedserver_push_connections") == 2,
                              token=admin)
    hall = {"network": NETWORK, "profile": "hall"}
    assert both.value("feedserver_push_connections", **hall, transport="sse") == 1
    assert both.value("feedserver_push_connections", **hall, transport="websocket") == 1
    assert both.value("feedserver_screens", **hall) == 2  # connected screens are seen screens
    assert both.value("feedserver_http_requests_total", route=FEED + "/ws", status="101") == 1

    await Staff(client).publish_new()
    await ws.receive_json()  # the event reached the stream: it was fanned out
    done = await scrape_until(client, lambda s: s.value("feedserver_render_seconds_count") > 0,
                              token=admin)
    assert done.value("feedserver_fanout_seconds_count") >= 1
    assert done.value("feedserver_events_total", type="alert.published") == 1
    rendered = {s.labels["format"] for s in done.samples
                if s.name == "feedserver_render_seconds_count" and s.value}
    assert rendered and rendered <= set(FORMATS)
    assert done.value("feedserver_render_queue") >= 0

    await ws.close()
    sse.close()
    await scrape_until(client, lambda s: s.value("feedserver_push_connections") == 0,
                       token=admin)


async def test_a_failing_webhook_counts_failures_and_its_backlog(tmp_path, aiohttp_client,
                                                                 aiohttp_server):
    receiver, url = await serve_receiver(aiohttp_server, Receiver(failures=1000))
    config = push_config_data(tmp_path, webhook_url=url)
    config["webhooks"] = {"backoff_seconds": 0.05, "backoff_max_seconds": 0.1}
    client = await aiohttp_client(create_app(parse_config(config)))
    await Staff(client).publish_new()
    failing = await scrape_until(
        client, lambda s: s.value("feedserver_webhook_failures_total", network=NETWORK) >= 2,
        token=PUSH_ADMIN)
    assert failing.value("feedserver_webhook_backlog", network=NETWORK) >= 1
    assert failing.value("feedserver_webhook_failures_total", network="other") == 0
    assert len(receiver.requests) >= 2


async def test_upstream_polls_count_by_result(make_config, aiohttp_client, aiohttp_server):
    answer = {"body": b"[]"}

    async def national(request: web.Request) -> web.Response:
        return web.Response(body=answer["body"], content_type="application/json")

    upstream_app = web.Application()
    upstream_app.router.add_get("/alerts.json", national)
    upstream = await aiohttp_server(upstream_app)
    config = make_config(upstreams=[{"id": "national", "format": "national-json",
                                     "url": str(upstream.make_url("/alerts.json")),
                                     "interval_seconds": 3600}])
    client = await aiohttp_client(create_app(config))
    poller = client.app[POLLERS]["national"]
    await asyncio.wait_for(poller.polled.wait(), 10)  # the poll at start-up
    answer["body"] = b"{not json"
    assert not await poller.poll_once()
    await upstream.close()
    assert not await poller.poll_once()
    page = await scrape(client)
    assert page.value("feedserver_upstream_polls_total", upstream="national", result="ok") == 1
    assert page.value("feedserver_upstream_polls_total", upstream="national",
                      result="malformed") == 1
    assert page.value("feedserver_upstream_polls_total", upstream="national",
                      result="unreachable") == 1


async def test_no_label_is_a_screen_an_alert_or_a_raw_path(client):
    """Whatever the traffic, labels come from the routes table and the config."""
    screens = [f"screen-{n}-zq" for n in range(20)]
    alert = await publish(client, amber_alert())
    draft = await create(client, amber_alert())
    for screen in screens:
        await client.get(POLL, params={"key": KEY_A, "screen": screen})
        await client.get(POLL + "/atom", params={"key": KEY_A, "screen": screen})
    for alert_id in (alert["id"], draft["id"], "no-such-alert-zq"):
        await client.get(f"/v1/alerts/{alert_id}", headers=auth(VIEWER))
        await client.get(f"/v1/cap/{alert_id}.xml", params={"key": KEY_A})
    for n in range(20):
        await client.get(f"/made-up/path-{n}-zq")
        await client.request("PROPFIND", f"/v1/alerts/x{n}-zq")
    page = await scrape(client)
    labels = page.label_values()
    ids = {*screens, alert["id"], draft["id"]}
    assert not labels & ids
    assert not [value for value in labels if "zq" in value or value.startswith("/made-up")]
    assert page.value("feedserver_http_requests_total", route="unmatched", status="404") == 20
    routes = {s.labels["route"] for s in page.samples if "route" in s.labels}
    declared = {route.resource.canonical for route in client.app.router.routes()}
    assert routes <= declared | {"unmatched"}


async def test_a_separate_listener_serves_metrics_without_a_token(tmp_path, aiohttp_client):
    port = free_port()
    data = {**config_data(tmp_path / "data"), "metrics": {"listen": f"127.0.0.1:{port}"}}
    client = await aiohttp_client(create_app(parse_config(data)))
    await client.get(POLL, params={"key": KEY_A})
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        page = await scrape(session, token="")
        assert page.value("feedserver_polls_total", network="net-a", profile="landscape") == 1
        async with session.get("/v1/alerts") as other:
            assert other.status == 404  # the listener serves /metrics and nothing else
    assert (await client.get("/metrics")).status == 401  # the main port still asks


@pytest.mark.parametrize("listen", ["0.0.0.0:9464", "192.0.2.7:9464", "[::]:9464",
                                    "metrics.example:9464"])
def test_a_metrics_listener_beyond_loopback_is_refused_unless_allowed(tmp_path, listen):
    data = {**config_data(tmp_path), "metrics": {"listen": listen}}
    with pytest.raises(ConfigError, match=r"^metrics\.listen: .* not a loopback address"):
        parse_config(data)
    data["metrics"]["allow_remote"] = True
    assert parse_config(data).metrics.listen == listen


@pytest.mark.parametrize("metrics, message", [
    ({"listen": "9464"}, r"^metrics\.listen: '9464' is not HOST:PORT"),
    ({"listen": "127.0.0.1:9464", "port": 1}, r"^metrics\.port: unknown key"),
    ({"allow_remote": "yes"}, r"^metrics\.allow_remote: must be"),
])
def test_bad_metrics_settings_are_named(tmp_path, metrics, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({**config_data(tmp_path), "metrics": metrics})


def test_loopback_listeners_are_accepted(tmp_path):
    for listen in ("127.0.0.1:9464", "[::1]:9464", "localhost:9464"):
        config = parse_config({**config_data(tmp_path), "metrics": {"listen": listen}})
        assert config.metrics.listen == listen
    assert json.dumps(parse_config(config_data(tmp_path)).metrics.listen) == "null"


@pytest.fixture
async def two_workers(tmp_path):
    """`feedserver serve` with server.workers: 2, both listening."""
    config = config_data(tmp_path / "data")
    config["server"]["workers"] = 2
    process = ServerProcess(config, tmp_path)
    await process.start()
    await wait_for_listeners(process.port, 2)
    yield process
    process.kill()


async def test_two_workers_add_up_whichever_answers_the_scrape(two_workers):
    """Polls spread over both workers: either one's scrape counts them all, a screen seen by
    both is one screen, and a dead worker's connections leave the gauge (its counts stay)."""
    async with AsyncExitStack() as stack:
        one, other = await sessions_on_two_workers(stack, two_workers.url, two_workers.port)
        assert one.pid != other.pid
        for pinned, polls, screens in ((one, 5, ["both-1"]), (other, 7, ["both-1", "only-2"])):
            for n in range(polls):
                async with pinned.session.get(POLL, params={
                        "key": KEY_A, "screen": screens[n % len(screens)]}) as response:
                    assert response.status == 200
            pinned.check()
        landscape = {"network": "net-a", "profile": "landscape"}
        for pinned in (one, other):
            # what the other worker counted reaches the scraped one within FLUSH_SECONDS
            await scrape_until(pinned.session, lambda s: (
                s.value("feedserver_polls_total", **landscape) == 12
                and s.value("feedserver_http_requests_total", route=FEED, status="200") == 12))
            pinned.check()
            # and what it has seen within 5 s (the samples)
            await scrape_until(pinned.session,
                               lambda s: s.value("feedserver_screens", **landscape) == 2)
            pinned.check()

        stream = await open_stream(other, "/v1/feeds/net-a/landscape/events", KEY_A)
        await stream.next()  # the snapshot: it has joined on the other worker
        await scrape_until(one.session, lambda s: s.value("feedserver_push_connections") == 1)
        one.check()
        os.kill(other.pid, signal.SIGKILL)
        after = await scrape_until(one.session,
                                   lambda s: s.value("feedserver_push_connections") == 0)
        one.check()
        assert after.value("feedserver_polls_total", **landscape) == 12
