"""The documented deployment: deploy/nginx.conf with a real nginx in front of two instances."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import aiohttp
import pytest
from support.alerts import amber_alert
from support.cluster import publish_over
from support.config import KEY_A, config_data
from support.proxy import NGINX, nginx_in_front
from support.push import SseReader
from support.servers import ServerProcess, free_port

FEED = "/v1/feeds/net-a/landscape"

pytestmark = pytest.mark.skipif(shutil.which(NGINX) is None, reason="nginx is not installed")


async def next_of_type(stream: SseReader, event_type: str) -> dict:
    while True:
        _, kind, data = await stream.next(timeout=15)
        if kind == event_type:
            return data


async def test_two_instances_behind_the_documented_nginx(tmp_path: Path):
    nginx_port = free_port()  # the public URL the instances put in render URLs
    config = config_data(tmp_path / "data")
    config["server"]["public_url"] = f"http://127.0.0.1:{nginx_port}"
    instances = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        instances.append(ServerProcess(config, tmp_path / name))
        await instances[-1].start()
    a, b = instances
    try:
        async with nginx_in_front(tmp_path / "nginx", [a.port, b.port],
                                  port=nginx_port) as url, \
                aiohttp.ClientSession(url) as session:
            # SSE through nginx, unbuffered: the snapshot arrives, then the change
            events = await session.get(FEED + "/events", params={"key": KEY_A})
            assert events.status == 200
            stream = SseReader(events)
            _, kind, _ = await stream.next(timeout=15)
            assert kind == "snapshot"
            ws = await session.ws_connect(FEED + "/ws", params={"key": KEY_A})
            assert json.loads((await ws.receive(timeout=15)).data)["state"] == "idle"

            async with aiohttp.ClientSession(a.url) as direct:  # published on instance A only
                draft = await publish_over(direct, amber_alert())
            envelope = await next_of_type(stream, "alert.published")
            assert envelope["alert"]["id"] == draft["id"]
            pushed = json.loads((await ws.receive(timeout=15)).data)
            assert pushed["type"] == "alert.published" and pushed["alert"]["id"] == draft["id"]
            await ws.close()
            events.close()

            # the feed's strong ETag goes through, and so do 304s, whichever instance answers
            async with session.get(FEED, params={"key": KEY_A}) as response:
                document = await response.json()
                etag = response.headers["ETag"]
            assert not etag.startswith("W/")
            for _ in range(4):  # nginx takes turns between the instances
                async with session.get(FEED, params={"key": KEY_A},
                                       headers={"If-None-Match": etag}) as response:
                    assert response.status == 304 and response.headers["ETag"] == etag

            # renders: fetched from an instance once, then served by nginx for good
            render = document["alerts"][0]["renders"]["jpg"]
            assert render.startswith(url + "/v1/renders/")
            async with session.get(render) as response:
                body = await response.read()
                assert response.status == 200
                assert response.headers["X-Cache-Status"] == "MISS"
            a.kill()
            b.kill()
            async with session.get(render) as response:
                assert response.status == 200 and await response.read() == body
                assert response.headers["X-Cache-Status"] == "HIT"
                assert "immutable" in response.headers["Cache-Control"]
    finally:
        a.kill()
        b.kill()


async def test_nginx_moves_on_when_an_instance_is_killed(tmp_path: Path):
    config = config_data(tmp_path / "data")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = ServerProcess(config, tmp_path / "a"), ServerProcess(config, tmp_path / "b")
    await a.start()
    await b.start()
    try:
        async with nginx_in_front(tmp_path / "nginx", [a.port, b.port]) as url, \
                aiohttp.ClientSession(url) as session:
            a.kill()
            for _ in range(4):
                async with session.get(FEED, params={"key": KEY_A}) as response:
                    assert response.status == 200
    finally:
        a.kill()
        b.kill()
