"""Several real server processes on one SQLite store, acting as one server.

Two kinds: `serve --workers 2` (two processes on one port), and two separate `serve`
processes on two ports sharing the data directory. Every assertion waits on an outcome with a
generous timeout; none measures time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from support.alerts import amber_alert
from support.api import auth
from support.cluster import (
    Pinned,
    listeners,
    open_stream,
    publish_over,
    sessions_on_two_workers,
    wait_for_listeners,
)
from support.config import KEY_A, PUBLISHER, VIEWER, config_data
from support.servers import ServerProcess

FEED = "/v1/feeds/net-a/landscape"


def cluster_config(data_dir: Path, storage: str, **server) -> dict:
    config = config_data(data_dir)
    config["storage"] = storage
    config["server"].update(server)
    return config


@pytest.fixture
async def workers(tmp_path, storage):
    """`feedserver serve` with server.workers: 2, both workers listening (on either store)."""
    process = ServerProcess(cluster_config(tmp_path / "data", storage, workers=2), tmp_path)
    await process.start()
    await wait_for_listeners(process.port, 2)
    yield process
    process.kill()


async def call(pinned: Pinned, method: str, path: str, **kwargs) -> dict:
    """A staff call through the pinned worker (checked), answering its JSON."""
    async with pinned.session.request(method, path, **kwargs) as response:
        assert response.status in (200, 201), await response.text()
        answer = await response.json()
    pinned.check()
    return answer


async def publish_via(pinned: Pinned, **fields) -> dict:
    draft = await call(pinned, "POST", "/v1/alerts", json=amber_alert(**fields),
                       headers=auth(PUBLISHER))
    return await call(pinned, "POST", f"/v1/alerts/{draft['id']}/publish",
                      headers=auth(PUBLISHER))


async def next_of_type(stream, event_type: str, timeout: float = 10) -> tuple[int, dict]:
    while True:
        seq, kind, data = await stream.next(timeout)
        if kind == event_type:
            return seq, data


async def test_publish_through_one_worker_reaches_a_stream_on_the_other(workers):
    async with AsyncExitStack() as stack:
        publisher, listener = await sessions_on_two_workers(stack, workers.url, workers.port)
        stream = await open_stream(listener, FEED + "/events", KEY_A)
        _, kind, snapshot = await stream.next()
        assert kind == "snapshot" and snapshot["alerts"] == []

        alert = await publish_via(publisher)

        seq, envelope = await next_of_type(stream, "alert.published")
        assert envelope["alert"]["id"] == alert["id"]
        assert envelope["alert"]["version"] == alert["version"]

        resolved = await call(publisher, "POST",
                              f"/v1/alerts/{alert['id']}/resolve", headers=auth(PUBLISHER),
                              json={"message": {"nl": "Gevonden", "en": "Found"}})
        later, envelope = await next_of_type(stream, "alert.resolved")
        assert later > seq and envelope["alert"]["version"] == resolved["version"]


async def test_feed_etag_is_the_same_on_every_worker_and_304_stays_304(workers):
    async with AsyncExitStack() as stack:
        one, other = await sessions_on_two_workers(stack, workers.url, workers.port)
        await publish_via(one)
        async with one.session.get(FEED, params={"key": KEY_A, "screen": "s1"}) as response:
            body, etag = await response.read(), response.headers["ETag"]
        # the other worker follows the log: it answers 304 to the first worker's ETag
        async with asyncio.timeout(10):
            while True:
                async with other.session.get(FEED, params={"key": KEY_A, "screen": "s1"},
                                             headers={"If-None-Match": etag}) as response:
                    other.check()
                    if response.status == 304:
                        assert response.headers["ETag"] == etag
                        break
                    assert response.status == 200
                    await asyncio.sleep(0.05)  # not caught up yet; ask again
        async with other.session.get(FEED, params={"key": KEY_A, "screen": "s1"}) as response:
            assert await response.read() == body

        # a creative: rendered into the shared directory once, the same bytes from each worker
        path = urlsplit(json.loads(body)["alerts"][0]["renders"]["jpg"]).path
        creatives = []
        for pinned in (one, other):
            async with pinned.session.get(path) as response:
                assert response.status == 200
                creatives.append(await response.read())
            pinned.check()
        assert creatives[0] == creatives[1]
        digest = path.rsplit("/", 1)[1].removesuffix(".jpg")
        shared = workers.config_path.parent / "data" / "renders" / f"{digest}.creative"
        assert shared.read_bytes().endswith(creatives[0])


async def test_the_alert_answer_is_read_back_from_the_worker_that_made_it(workers):
    """A worker that made a change shows it at once, even after the other worker's changes."""
    async with AsyncExitStack() as stack:
        one, other = await sessions_on_two_workers(stack, workers.url, workers.port)
        for n in range(3):
            for pinned in (one, other):
                alert = await publish_via(pinned, message={"nl": f"Ronde {n}"})
                async with pinned.session.get(FEED, params={"key": KEY_A}) as response:
                    ids = [a["id"] for a in (await response.json())["alerts"]]
                assert alert["id"] in ids


async def test_a_dead_worker_is_replaced_and_workers_end_with_their_supervisor(workers):
    async with AsyncExitStack() as stack:
        one, _ = await sessions_on_two_workers(stack, workers.url, workers.port)
        os.kill(one.pid, signal.SIGKILL)
        async with asyncio.timeout(60):  # until the supervisor has started another
            while one.pid in (pids := worker_pids(workers.process.pid)) or len(pids) < 2:
                await asyncio.sleep(0.1)
        await wait_for_listeners(workers.port, 2)
    async with aiohttp.ClientSession(workers.url) as session, \
            session.get(FEED, params={"key": KEY_A}) as response:
        assert response.status == 200
    survivors = worker_pids(workers.process.pid)
    os.kill(workers.process.pid, signal.SIGKILL)  # the supervisor alone, not its group
    workers.process.wait()
    async with asyncio.timeout(30):
        while any(os.path.exists(f"/proc/{pid}") and not _zombie(pid) for pid in survivors):
            await asyncio.sleep(0.1)  # still shutting down; look again
    assert listeners(workers.port) == 0


def worker_pids(supervisor: int) -> set[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return {int(pid) for pid in children}


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def test_two_server_processes_on_one_store_answer_the_same_documents(tmp_path, storage):
    """Item 1: the same store state gives the same bytes, ETag and render URLs everywhere."""
    data = tmp_path / "data"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = ServerProcess(cluster_config(data, storage), tmp_path / "a")
    b = ServerProcess(cluster_config(data, storage), tmp_path / "b")
    await a.start()
    try:
        async with aiohttp.ClientSession(a.url) as session:
            await publish_over(session, amber_alert())
        await b.start()  # B starts after the change: it knows it only from the store
        answers = {}
        for server in (a, b):
            async with aiohttp.ClientSession(server.url) as session:
                async with session.get(FEED, params={"key": KEY_A}) as response:
                    answers[server.port] = (await response.read(), response.headers["ETag"])
                async with session.get("/v1/alerts", headers=auth(VIEWER)) as response:
                    assert response.status == 200
        (body_a, etag_a), (body_b, etag_b) = answers[a.port], answers[b.port]
        assert etag_a == etag_b and body_a == body_b
        async with aiohttp.ClientSession(b.url) as session, \
                session.get(FEED, params={"key": KEY_A},
                            headers={"If-None-Match": etag_a}) as response:
            assert response.status == 304 and response.headers["ETag"] == etag_a
    finally:
        a.kill()
        b.kill()
