"""SIGTERM: a graceful stop of a real `feedserver serve` (one process, and two workers).

Screens polling, SSE and WebSocket clients and a writer are connected when the signal comes:
the process exits 0, SSE clients are told `retry:` and their stream ends cleanly, WebSocket
clients get a close frame 1012; after a restart on the same data directory the screens catch up
with Last-Event-ID (including the event published just before the signal), no client ever
saw a 5xx and every acknowledged change is there. A webhook attempt under way finishes and is
recorded; one that hangs does not hold the stop beyond the grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType, web
from support.alerts import amber_alert
from support.api import auth
from support.cluster import publish_over, wait_for_listeners
from support.config import ADMIN, EDITOR, KEY_A, VIEWER, config_data
from support.push import HOOK_SECRET
from support.servers import ServerProcess

FEED = "/v1/feeds/net-a/landscape"
GRACE = 5
SPREAD = 3
STOP_WAIT = 60  # how long the test waits for an exit; the bound itself is tested below


def shutdown_config(data_dir: Path, storage: str, workers: int = 1, **server) -> dict:
    config = config_data(data_dir)
    config["storage"] = storage
    config["server"].update(workers=workers, shutdown_grace_seconds=GRACE, **server)
    config["push"] = {"reconnect_spread_seconds": SPREAD}
    return config


class Traffic:
    """Screens polling through the restart, and an editor creating alerts until the stop;
    every answer kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: list[int] = []
        self.created: list[str] = []
        self.stop = asyncio.Event()

    async def poll(self) -> None:
        async with aiohttp.ClientSession(self.url) as session:
            etag = ""
            while not self.stop.is_set():
                try:
                    async with session.get(FEED, params={"key": KEY_A},
                                           headers={"If-None-Match": etag}) as response:
                        await response.read()
                        self.statuses.append(response.status)
                        etag = response.headers.get("ETag", etag)
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)  # the server is away: try again, as screens do

    async def create(self) -> None:
        """Until the server stops answering: the changes it acknowledged must all be there
        after the restart. (Writes while two fresh workers start on one SQLite file can meet
        its busy timeout, a 503 with Retry-After; that is the store's, not the stop's.)"""
        async with aiohttp.ClientSession(self.url) as session:
            while not self.stop.is_set():
                try:
                    async with session.post("/v1/alerts", json=amber_alert(),
                                            headers=auth(EDITOR)) as response:
                        self.statuses.append(response.status)
                        if response.status == 201:
                            self.created.append((await response.json())["id"])
                except aiohttp.ClientConnectionError:
                    return

    async def until(self, polls: int, creates: int) -> None:
        async with asyncio.timeout(60):
            while len(self.statuses) < polls or len(self.created) < creates:
                await asyncio.sleep(0.05)


Message = tuple[int, str, str | None]  # event id, type, the alert's id


def _message(fields: dict[str, str]) -> Message:
    alert = json.loads(fields["data"]).get("alert") or {}
    return int(fields["id"]), fields["event"], alert.get("id")


async def sse_to_the_end(response: aiohttp.ClientResponse) -> tuple[list[Message], list[int]]:
    """Every message and every `retry:` until the stream ends; a stream cut off instead of
    ended raises ClientPayloadError."""
    messages, retries, fields = [], [], {}
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("retry:"):
            retries.append(int(line.partition(":")[2]))
        elif line and not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.strip()
        elif not line and "data" in fields:
            messages.append(_message(fields))
            fields = {}
    return messages, retries


async def next_message(response: aiohttp.ClientResponse) -> Message:
    fields: dict[str, str] = {}
    async with asyncio.timeout(30):
        while True:
            line = (await response.content.readline()).decode().rstrip("\r\n")
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.strip()
            elif not line and "data" in fields:
                return _message(fields)


async def websocket_close(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str]:
    """Read until the server closes; its close code and reason."""
    async with asyncio.timeout(STOP_WAIT):
        while True:
            message = await ws.receive()
            if message.type == WSMsgType.CLOSE:
                return message.data, message.extra or ""
            if message.type in (WSMsgType.CLOSED, WSMsgType.ERROR):
                return ws.close_code, ""


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_ends_streams_gracefully_and_a_restart_loses_nothing(tmp_path, storage,
                                                                           workers):
    server = ServerProcess(shutdown_config(tmp_path / "data", storage, workers), tmp_path)
    await server.start(timeout=120)  # two workers start slowly on a loaded machine
    await wait_for_listeners(server.port, workers)
    traffic = Traffic(server.url)
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession(server.url))
        streams = [await session.get(FEED + "/events", params={"key": KEY_A})
                   for _ in range(4)]  # several, so that with two workers both have some
        sockets = [await session.ws_connect(FEED + "/ws", params={"key": KEY_A})
                   for _ in range(4)]
        for ws in sockets:
            assert "state" in json.loads((await ws.receive(timeout=10)).data)  # the snapshot
        tasks = [asyncio.create_task(traffic.poll()) for _ in range(2)]
        tasks.append(asyncio.create_task(traffic.create()))
        await traffic.until(polls=10, creates=3)

        last = await publish_over(session, amber_alert(message={"nl": "Vlak voor de stop"}))
        server.signal(signal.SIGTERM)

        ended = [await sse_to_the_end(response) for response in streams]
        closes = [await websocket_close(ws) for ws in sockets]
        assert await server.exit_code(STOP_WAIT) == 0
        for events, retries in ended:
            assert len(retries) == 1 and 1000 <= retries[0] <= SPREAD * 1000
            assert events[0][1] == "snapshot"
        for code, reason in closes:
            assert code == WSCloseCode.SERVICE_RESTART
            assert reason.startswith("service restart; reconnect in ")

        await server.start(timeout=120)
        published = ("alert.published", last["id"])
        for messages, _ in ended:
            # each screen reconnects where it left off and hears what it had not heard yet
            last_id = messages[-1][0]
            async with session.get(FEED + "/events", params={"key": KEY_A},
                                   headers={"Last-Event-ID": str(last_id)}) as response:
                assert response.status == 200
                heard = {(kind, alert_id) for _, kind, alert_id in messages}
                while published not in heard:
                    seq, kind, alert_id = await next_message(response)
                    assert seq > last_id and kind != "snapshot"
                    heard.add((kind, alert_id))
        traffic.stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)

        async with session.get("/v1/alerts", headers=auth(VIEWER)) as response:
            stored = {a["id"] for a in (await response.json())["alerts"]}
    assert set(traffic.created) <= stored and last["id"] in stored
    assert traffic.statuses and all(status < 500 for status in traffic.statuses)
    assert set(traffic.statuses) <= {200, 201, 304}
    server.kill()


class HeldReceiver:
    """A webhook receiver that holds its first answer until released (or for ever)."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()
        self.deliveries: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.deliveries.append(request.headers["Feedserver-Delivery"])
        self.arrived.set()
        await self.release.wait()
        return web.Response(status=204)


async def held_webhook(aiohttp_server, tmp_path: Path, storage: str,
                       **webhooks) -> tuple[HeldReceiver, ServerProcess]:
    receiver = HeldReceiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    hook = await aiohttp_server(app)
    config = shutdown_config(tmp_path / "data", storage)
    config["networks"][1]["webhook"] = {"url": str(hook.make_url("/hook")),
                                        "secret": HOOK_SECRET}
    config["webhooks"] = webhooks
    server = ServerProcess(config, tmp_path)
    await server.start()
    return receiver, server


async def refused(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(url + "/healthz"):
            return False
    except aiohttp.ClientConnectionError:
        return True


async def test_a_webhook_attempt_under_way_at_sigterm_is_finished_and_recorded(
        aiohttp_server, tmp_path, storage):
    receiver, server = await held_webhook(aiohttp_server, tmp_path, storage)
    async with aiohttp.ClientSession(server.url) as session:
        await publish_over(session, amber_alert())
        await asyncio.wait_for(receiver.arrived.wait(), 30)
        server.signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            while not await refused(server.url):  # stopping: it no longer listens
                await asyncio.sleep(0.05)
        receiver.release.set()
        assert await server.exit_code(STOP_WAIT) == 0

    await server.start()
    async with aiohttp.ClientSession(server.url) as session, \
            session.get("/v1/networks/net-b/deliveries", headers=auth(ADMIN)) as response:
        deliveries = (await response.json())["deliveries"]
    server.kill()
    assert [(d["state"], d["attempts"]) for d in deliveries] == [("delivered", 1)]
    assert receiver.deliveries == [deliveries[0]["id"]]


async def test_a_hanging_webhook_receiver_does_not_hold_the_stop_beyond_the_grace(
        aiohttp_server, tmp_path, storage):
    """The receiver never answers and the webhook timeout is far longer than the grace: the
    process still exits 0 (the wait below is shorter than that timeout), and the delivery is
    sent again after the restart."""
    receiver, server = await held_webhook(aiohttp_server, tmp_path, storage,
                                          timeout_seconds=300)
    async with aiohttp.ClientSession(server.url) as session:
        await publish_over(session, amber_alert())
        await asyncio.wait_for(receiver.arrived.wait(), 30)
        server.signal(signal.SIGTERM)
        assert await server.exit_code(GRACE + 60) == 0
    receiver.release.set()
    await server.start()
    async with asyncio.timeout(60):
        while len(receiver.deliveries) < 2:
            await asyncio.sleep(0.05)
    server.kill()
    assert receiver.deliveries[1] == receiver.deliveries[0]  # the same delivery, retried
