"""Two real server processes on one PostgreSQL database, acting as one server.

LISTEN/NOTIFY wakes the other instance and the event log is the truth; the leader (an advisory
lock) runs the upstream poller, and the other takes over when it is SIGKILLed; each webhook
delivery is sent once in total.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from support.alerts import amber_alert
from support.api import auth
from support.cluster import NationalList, national_entry, publish_over
from support.config import ADMIN, KEY_A, PUBLISHER, config_data
from support.push import SseReader
from support.servers import ServerProcess
from support.webhooks import DeliveryIds

FEED = "/v1/feeds/net-a/landscape"

pytestmark = pytest.mark.postgres


@pytest.fixture
async def outside(aiohttp_server) -> tuple[NationalList, DeliveryIds]:
    upstream, hook = NationalList(), DeliveryIds()
    app = web.Application()
    app.router.add_get("/alerts.json", upstream.handle)
    app.router.add_post("/hook", hook.handle)
    server = await aiohttp_server(app)
    upstream.port = server.port
    upstream.url = str(server.make_url("/alerts.json"))
    hook.url = str(server.make_url("/hook"))
    return upstream, hook


def instance_config(data_dir: Path, database_url: str, upstream: NationalList,
                    hook: DeliveryIds) -> dict:
    config = config_data(data_dir)
    config["storage"] = database_url
    config["upstreams"] = [{"id": "national", "format": "national-json", "url": upstream.url,
                            "interval_seconds": 1, "mode": "publish"}]
    config["networks"][0]["webhook"] = {"url": hook.url, "secret": "hook-secret-0001",
                                        "format": "json"}
    return config


async def feed_ids(session: aiohttp.ClientSession) -> list[str]:
    async with session.get(FEED, params={"key": KEY_A}) as response:
        assert response.status == 200
        return [a["id"] for a in (await response.json())["alerts"]]


async def eventually(condition, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.1)  # not there yet; look again


async def next_of_type(stream: SseReader, event_type: str) -> dict:
    while True:
        _, kind, data = await stream.next(timeout=15)
        if kind == event_type:
            return data


async def test_two_instances_on_postgresql_act_as_one(tmp_path, postgres_url, outside):
    upstream, hook = outside
    config = instance_config(tmp_path / "data", postgres_url, upstream, hook)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = ServerProcess(config, tmp_path / "a"), ServerProcess(config, tmp_path / "b")
    await a.start()  # A starts first and leads
    await b.start()
    try:
        async with aiohttp.ClientSession(a.url) as on_a, aiohttp.ClientSession(b.url) as on_b:
            events = await on_b.get(FEED + "/events", params={"key": KEY_A})
            stream = SseReader(events)
            assert (await stream.next(timeout=15))[1] == "snapshot"

            # publish on A: the SSE client on B gets it
            draft = await publish_over(on_a, amber_alert())
            envelope = await next_of_type(stream, "alert.published")
            assert envelope["alert"]["id"] == draft["id"]

            # the upstream is polled by the leader only
            upstream.entries = [national_entry("4711", "Noor Verzonnen")]
            await eventually(lambda: _has(on_b, 2))
            polled = len(upstream.pollers)
            await eventually(lambda: _more(upstream, polled + 2))
            assert set(upstream.pollers) == {a.process.pid}

            # (a delivery A has posted but not yet marked when killed would go out again from B:
            # at least once is what a crash allows, so receivers dedupe by Feedserver-Delivery)
            await eventually(lambda: _all_delivered(on_a))

            # SIGKILL A: B serves feeds and push, and takes over the poller
            a.kill()
            killed_at = len(upstream.pollers)
            assert len(await feed_ids(on_b)) == 2
            async with on_b.post(f"/v1/alerts/{draft['id']}/resolve", headers=auth(PUBLISHER),
                                 json={"message": {"nl": "Gevonden", "en": "Found"}}) as response:
                assert response.status == 200
            assert (await next_of_type(stream, "alert.resolved"))["alert"]["id"] == draft["id"]
            upstream.entries.append(national_entry("4712", "Sem Bedacht"))
            await eventually(lambda: _has(on_b, 3))
            assert set(upstream.pollers[killed_at:]) == {b.process.pid}
            events.close()

            # every webhook delivery went out exactly once in total
            await eventually(lambda: _all_delivered(on_b))
            outbox = await _outbox(on_b)
        delivered = [d["id"] for d in outbox if d["state"] == "delivered"]
        assert len(delivered) >= 5
        assert sorted(hook.ids) == sorted(delivered)  # each once, none twice
    finally:
        a.kill()
        b.kill()


async def _outbox(session: aiohttp.ClientSession) -> list[dict]:
    async with session.get("/v1/networks/net-a/deliveries", params={"limit": "1000"},
                           headers=auth(ADMIN)) as response:
        assert response.status == 200
        return (await response.json())["deliveries"]


async def _all_delivered(session: aiohttp.ClientSession) -> bool:
    """Nothing pending any more (a superseded delivery is failed, never sent)."""
    outbox = await _outbox(session)
    return bool(outbox) and all(d["state"] != "pending" for d in outbox)


async def _has(session: aiohttp.ClientSession, count: int) -> bool:
    return len(await feed_ids(session)) >= count


async def _more(upstream: NationalList, count: int) -> bool:
    return len(upstream.pollers) >= count
