"""Config reload of a real `feedserver serve`: SIGHUP, `feedserver reload`, and with workers.

A new profile appears (its feed and its creatives) while an open SSE connection stays and
still receives the next event; a broken file or a change that needs a restart is refused with
the message `serve` would give, and the old config keeps serving; keys and staff tokens swap.
"""

from __future__ import annotations

import asyncio
import copy
import signal
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import yaml
from support.alerts import amber_alert
from support.api import auth
from support.cluster import publish_over, sessions_on_two_workers, wait_for_listeners
from support.config import KEY_A, KEY_B, VIEWER, config_data
from support.push import SseReader
from support.servers import ServerProcess, feedserver_command

KIOSK = "/v1/feeds/net-a/kiosk"


def with_kiosk(data: dict) -> dict:
    changed = copy.deepcopy(data)
    changed["networks"][0]["profiles"].append({"id": "kiosk", "size": "1024x768"})
    return changed


def rewrite(server: ServerProcess, data: dict) -> None:
    server.config_path.write_text(yaml.safe_dump(data))


async def logged(server: ServerProcess, text: str) -> None:
    async with asyncio.timeout(30):
        while text not in server.log_path.read_text():
            await asyncio.sleep(0.05)


async def status(session: aiohttp.ClientSession, path: str, **headers: str) -> int:
    async with session.get(path, headers=headers) as response:
        await response.read()
        return response.status


async def until_status(session: aiohttp.ClientSession, path: str, wanted: int,
                       **headers: str) -> None:
    async with asyncio.timeout(30):
        while await status(session, path, **headers) != wanted:
            await asyncio.sleep(0.05)


async def test_sighup_adds_a_profile_without_dropping_an_open_stream(tmp_path: Path, storage):
    data = {**config_data(tmp_path / "data"), "storage": storage}
    server = ServerProcess(data, tmp_path)
    await server.start()
    async with aiohttp.ClientSession(server.url) as session:
        shown = await publish_over(session, amber_alert())
        stream = SseReader(await session.get("/v1/feeds/net-a/landscape/events",
                                             params={"key": KEY_A}))
        assert (await stream.next(10))[1] == "snapshot"
        assert await status(session, KIOSK, Authorization=f"Bearer {VIEWER}") == 404

        rewrite(server, with_kiosk(data))
        server.signal(signal.SIGHUP)
        await logged(server, "config reloaded: networks changed: net-a")
        async with session.get(KIOSK, params={"key": KEY_A}) as response:
            assert response.status == 200
            feed = await response.json()
        assert [a["id"] for a in feed["alerts"]] == [shown["id"]]
        render = urlsplit(feed["alerts"][0]["renders"]["png"]).path
        async with session.get(render) as response:
            assert response.status == 200 and response.content_type == "image/png"

        # the connection opened before the reload hears the next event
        later = await publish_over(session, amber_alert(message={"nl": "Na de herlading"}))
        while True:
            _, kind, envelope = await stream.next(30)
            if kind == "alert.published" and envelope["alert"]["id"] == later["id"]:
                break
    server.kill()


async def test_a_broken_config_on_sighup_leaves_the_old_one_serving(tmp_path: Path, storage):
    data = {**config_data(tmp_path / "data"), "storage": storage}
    server = ServerProcess(data, tmp_path)
    await server.start()
    broken = with_kiosk(data)
    broken["networks"][0]["profiles"][-1]["size"] = "1920x"
    rewrite(server, broken)
    server.signal(signal.SIGHUP)
    await logged(server, "config reload refused, the running config stays in force: "
                         f"{server.config_path}: networks[0].profiles[4].size: '1920x' is not"
                         " WIDTHxHEIGHT")

    needs_restart = with_kiosk(data)
    needs_restart["server"]["shutdown_grace_seconds"] = 3
    needs_restart["alerts"]["poll_after_seconds"] = 10
    rewrite(server, needs_restart)
    server.signal(signal.SIGHUP)
    await logged(server, "server.shutdown_grace_seconds, alerts.poll_after_seconds can only "
                         "change with a restart")

    async with aiohttp.ClientSession(server.url) as session:
        assert await status(session, f"/v1/feeds/net-a/landscape?key={KEY_A}") == 200
        assert await status(session, f"{KIOSK}?key={KEY_A}") == 404
    server.kill()


async def test_feedserver_reload_swaps_keys_and_staff_tokens(tmp_path: Path, storage):
    data = {**config_data(tmp_path / "data"), "storage": storage}
    server = ServerProcess(data, tmp_path)
    await server.start()
    changed = copy.deepcopy(data)
    changed["networks"][1]["keys"] = ["key-network-b-new"]
    changed["staff"][0]["token"] = "t-viewer-new"
    rewrite(server, changed)
    async with aiohttp.ClientSession(server.url) as session:
        stream = SseReader(await session.get("/v1/feeds/net-b/atm/events",
                                             params={"key": KEY_B}))
        assert (await stream.next(10))[1] == "snapshot"

        done = await asyncio.to_thread(feedserver_command, "reload", "--config",
                                       str(server.config_path))
        assert done.returncode == 0, done.stderr
        await logged(server, "config reloaded: networks changed: net-b; staff: 4 members")
        assert await status(session, "/v1/alerts", **auth("t-viewer-new")) == 200
        assert await status(session, "/v1/alerts", **auth(VIEWER)) == 401
        assert await status(session, f"/v1/feeds/net-b/atm?key={KEY_B}") == 401
        assert await status(session, "/v1/feeds/net-b/atm?key=key-network-b-new") == 200
        try:  # the stream opened with the withdrawn key is closed
            while True:
                await stream.next(30)
        except (ConnectionError, aiohttp.ClientPayloadError):
            pass

    broken = copy.deepcopy(changed)
    broken["staff"][1]["role"] = "boss"
    rewrite(server, broken)
    refused = await asyncio.to_thread(feedserver_command, "reload", "--config",
                                      str(server.config_path))
    assert refused.returncode == 2
    assert "staff[1].role: 'boss' is not one of viewer, editor, publisher, admin" \
        in refused.stderr
    server.kill()  # SIGKILL: the pid file stays behind, naming a process that is gone
    rewrite(server, changed)
    gone = await asyncio.to_thread(feedserver_command, "reload", "--config",
                                   str(server.config_path))
    assert gone.returncode == 1 and "no running server found" in gone.stderr


async def test_sighup_to_the_supervisor_reloads_every_worker(tmp_path: Path):
    data = config_data(tmp_path / "data")
    data["server"]["workers"] = 2
    server = ServerProcess(data, tmp_path)
    await server.start(timeout=120)  # two workers start slowly on a loaded machine
    await wait_for_listeners(server.port, 2)
    rewrite(server, with_kiosk(data))
    server.signal(signal.SIGHUP)
    async with AsyncExitStack() as stack:
        pinned = await sessions_on_two_workers(stack, server.url, server.port)
        for one in pinned:
            await until_status(one.session, f"{KIOSK}?key={KEY_A}", 200)
            one.check()
    server.kill()
