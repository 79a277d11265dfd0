"""What must run once runs once: one leader among the processes, and another when it dies."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import aiohttp
import pytest
from aiohttp import web
from support.alerts import amber_alert
from support.api import auth
from support.cluster import (
    NationalList,
    national_entry,
    sessions_on_two_workers,
    wait_for_listeners,
)
from support.config import KEY_A, config_data
from support.push import ADMIN, NETWORK, PUBLISHER, push_config_data
from support.servers import ServerProcess
from support.webhooks import DeliveryIds

from feedserver.cluster.leader import LEAD_NAME, LeaderLock, Leadership
from feedserver.store import make_store


async def test_one_process_leads_and_another_takes_over(tmp_path, storage):
    """Two processes' stores on one database: one leads, the other once the first is gone."""
    stores = {name: make_store(storage, tmp_path / "feedserver.db") for name in ("a", "b")}
    runs: dict[str, asyncio.Event] = {name: asyncio.Event() for name in stores}
    leaderships = {name: Leadership(LeaderLock(store.leadership(LEAD_NAME), renew_seconds=0.05))
                   for name, store in stores.items()}

    async def duty(name: str) -> None:
        runs[name].set()
        await asyncio.Future()

    async with AsyncExitStack() as stack:
        for name, store in stores.items():
            await store.open()
            stack.push_async_callback(store.close)
            await stack.enter_async_context(
                leaderships[name].duty("work", lambda n=name: duty(n)))
        a = asyncio.create_task(leaderships["a"].run())
        await asyncio.wait_for(runs["a"].wait(), 10)
        b = asyncio.create_task(leaderships["b"].run())
        # b keeps asking: give it a chance to be wrong (several renewals)
        for _ in range(5):
            await asyncio.sleep(0.05)
        assert not runs["b"].is_set() and not leaderships["b"].leading
        a.cancel()  # the leader goes away, and gives up its lead as it goes
        await asyncio.gather(a, return_exceptions=True)
        await asyncio.wait_for(runs["b"].wait(), 10)
        assert leaderships["b"].leading and not leaderships["a"].leading
        b.cancel()
        await asyncio.gather(b, return_exceptions=True)


async def test_each_webhook_delivery_is_sent_once_by_two_workers(tmp_path, aiohttp_server,
                                                                  storage):
    hook = DeliveryIds()
    receiver = web.Application()
    receiver.router.add_post("/hook", hook.handle)
    server = await aiohttp_server(receiver)
    config = push_config_data(tmp_path, str(server.make_url("/hook")))
    config["server"]["workers"] = 2
    config["storage"] = storage
    process = ServerProcess(config, tmp_path)
    await process.start()
    try:
        await wait_for_listeners(process.port, 2)
        async with AsyncExitStack() as stack:
            pinned = await sessions_on_two_workers(stack, process.url, process.port)
            for n in range(6):  # alternately through each worker: published, then cancelled
                session = pinned[n % 2].session
                headers = auth(PUBLISHER)
                async with session.post("/v1/alerts", json=_metro_alert(n),
                                        headers=headers) as response:
                    assert response.status == 201, await response.text()
                    alert_id = (await response.json())["id"]
                for action, body in (("publish", None), ("cancel", {"reason": "test over"})):
                    async with session.post(f"/v1/alerts/{alert_id}/{action}", json=body,
                                            headers=headers) as response:
                        assert response.status == 200, await response.text()
            admin = {"Authorization": f"Bearer {ADMIN}"}
            async with asyncio.timeout(60):
                while True:
                    async with pinned[0].session.get(f"/v1/networks/{NETWORK}/deliveries",
                                                     params={"limit": "1000"},
                                                     headers=admin) as response:
                        outbox = (await response.json())["deliveries"]
                    if outbox and all(d["state"] != "pending" for d in outbox):
                        break
                    await asyncio.sleep(0.1)  # still sending; look again
        # (a publish whose cancel came before it was sent is superseded: failed, never sent)
        delivered = [d["id"] for d in outbox if d["state"] == "delivered"]
        assert len(delivered) >= 12  # the cancels, at least
        assert sorted(hook.ids) == sorted(delivered)  # each once, none twice
    finally:
        process.kill()


def _metro_alert(n: int) -> dict:
    return amber_alert(regions=["NL"], message={"nl": f"Bericht {n}", "en": f"Message {n}"})


async def feed_ids(url: str) -> list[str]:
    async with aiohttp.ClientSession(url) as session, \
            session.get("/v1/feeds/net-a/landscape", params={"key": KEY_A}) as response:
        return [a["id"] for a in (await response.json())["alerts"]]


async def eventually_feed_has(url: str, count: int) -> list[str]:
    async with asyncio.timeout(60):
        while len(ids := await feed_ids(url)) < count:
            await asyncio.sleep(0.1)  # the poller has not mirrored it yet; look again
    return ids


@pytest.fixture
async def national(aiohttp_server) -> NationalList:
    source = NationalList()
    app = web.Application()
    app.router.add_get("/alerts.json", source.handle)
    server = await aiohttp_server(app)
    source.port = server.port
    source.url = str(server.make_url("/alerts.json"))
    return source


async def test_the_upstream_poller_runs_in_one_process_and_fails_over(tmp_path, national,
                                                                      storage):
    """B takes over at once: the lead dies with A (a file lock on SQLite, an advisory lock
    on PostgreSQL)."""
    config = config_data(tmp_path / "data")
    config["storage"] = storage
    config["upstreams"] = [{"id": "national", "format": "national-json", "url": national.url,
                            "interval_seconds": 1, "mode": "publish"}]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = ServerProcess(config, tmp_path / "a"), ServerProcess(config, tmp_path / "b")
    national.entries = [national_entry("4711", "Noor Verzonnen")]
    await a.start()
    await b.start()
    try:
        await eventually_feed_has(b.url, 1)  # mirrored by A, seen by B through the log
        polled_before = len(national.pollers)
        async with asyncio.timeout(60):  # a few more polls while both live
            while len(national.pollers) < polled_before + 3:
                await asyncio.sleep(0.2)
        assert set(national.pollers) == {a.process.pid}  # only the leader polls

        a.kill()
        killed_at = len(national.pollers)
        national.entries.append(national_entry("4712", "Sem Bedacht"))
        await eventually_feed_has(b.url, 2)  # only B is left to have mirrored it
        assert set(national.pollers[killed_at:]) == {b.process.pid}
    finally:
        a.kill()
        b.kill()
