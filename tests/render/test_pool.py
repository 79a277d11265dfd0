"""The worker pool under faults, with real processes: a worker killed with SIGKILL is
replaced and what it lost runs again; /healthz names the pool while it cannot render; a
photo too big for a worker's memory limit fails alone while live renders complete."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image, ImageDraw
from support import samples
from support.alerts import amber_alert, missing_child_alert
from support.api import auth, create, publish
from support.config import EDITOR, KEY_A, KEY_B, PUBLISHER, VIEWER, config_data

from feedserver.access_log import PathOnlyAccessLogger
from feedserver.app import create_app
from feedserver.appkeys import POOL, RENDERER
from feedserver.config import parse_config
from feedserver.render.pool import WorkerPool


@pytest.fixture
async def client(aiohttp_client, tmp_path) -> TestClient:
    data = config_data(tmp_path / "data")
    data["networks"][0]["profiles"] = [
        {"id": "landscape", "size": "1920x1080", "languages": ["nl", "en"]},
        {"id": "banner", "size": "1400x400", "formats": ["png", "webp"]},
    ]
    data["networks"][1]["profiles"] = [{"id": "atm", "size": "800x600", "formats": ["jpg"]}]
    server = TestServer(create_app(parse_config(data)))
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    return await aiohttp_client(server)


async def upload(client: TestClient, body: bytes, content_type: str = "image/jpeg"):
    return await client.post("/v1/photos", data=body,
                             headers={**auth(EDITOR), "Content-Type": content_type})


def worker_pids() -> list[int]:
    """The pool's workers, as the OS sees them: children of our fork server (our child)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    ours = {pid for pid, parent in parents.items() if parent == os.getpid()}
    return sorted(pid for pid, parent in parents.items() if parent in ours)


def kill_a_worker() -> int:
    pid = worker_pids()[0]
    os.kill(pid, signal.SIGKILL)
    return pid


async def health_until(client: TestClient, wanted: int) -> dict:
    """/healthz polled until it answers `wanted` (the pool's state changes in other
    processes and threads; the loop only waits for it, bounded)."""
    for _ in range(400):
        response = await client.get("/healthz")
        if response.status == wanted:
            return await response.json()
        await asyncio.sleep(0.025)
    raise AssertionError(f"/healthz never answered {wanted}")


async def assert_served(client: TestClient, network: str, profile: str, key: str,
                        alert_id: str) -> None:
    """Every creative the feed names for the alert is there."""
    document = await (await client.get(f"/v1/feeds/{network}/{profile}",
                                       params={"key": key})).json()
    [entry] = [entry for entry in document["alerts"] if entry["id"] == alert_id]
    assert entry["renders"]
    for url in entry["renders"].values():
        response = await client.get(url.removeprefix("http://feeds.test"))
        assert response.status == 200, url


async def current_jpg(client: TestClient, profile: str = "landscape"):
    return await client.get(f"/v1/feeds/net-a/{profile}/current.jpg", params={"key": KEY_A})


# evaluated in a worker: how many word widths it has measured (a CacheInfo does not pickle)
MEASURED_WORDS = ("__import__('feedserver.render.fonts').render.fonts"
                  "._unit_width.cache_info().currsize")


async def test_workers_start_warm_also_after_one_died(client):
    """A worker has measured text before its first job (fonts open, layouts read), so the first
    alert after a start costs no more than the next; so has the replacement of a dead one."""
    pool = client.app[POOL]
    assert await pool.run(eval, MEASURED_WORDS) > 0
    kill_a_worker()
    await health_until(client, 503)
    await health_until(client, 200)
    assert await pool.run(eval, MEASURED_WORDS) > 0


async def test_renders_lost_with_a_killed_worker_run_again_and_the_pool_goes_on(client):
    photo = (await (await upload(client, samples.portrait_photo())).json())["id"]
    alert = amber_alert()
    alert["children"][0]["photo"] = photo
    published = await publish(client, alert)  # its creatives are rendering now
    kill_a_worker()
    await client.app[RENDERER].idle()

    await assert_served(client, "net-a", "banner", KEY_A, published["id"])
    await assert_served(client, "net-a", "landscape", KEY_A, published["id"])

    # and everything after the kill works: uploads, previews, a new alert's creatives
    response = await upload(client, samples.portrait_photo(seed=1))
    assert response.status == 201, await response.text()
    preview = await client.get(f"/v1/alerts/{published['id']}/preview/net-b/atm.jpg",
                               headers=auth(VIEWER))
    assert preview.status == 200
    Image.open(io.BytesIO(await preview.read())).verify()
    kill_a_worker()
    second = await publish(client, missing_child_alert(regions=["NL"]))  # atm is national
    await client.app[RENDERER].idle()
    await assert_served(client, "net-b", "atm", KEY_B, second["id"])


async def test_healthz_names_the_pool_while_a_dead_worker_is_replaced(client):
    assert (await client.get("/healthz")).status == 200
    kill_a_worker()  # the pool is idle: nothing else notices
    body = await health_until(client, 503)
    assert body["status"] == "unavailable"
    assert any("worker pool" in problem for problem in body["problems"])
    assert (await health_until(client, 200))["status"] == "ok"
    assert (await upload(client, samples.portrait_photo())).status == 201


def huge_png() -> bytes:
    """6000x6600 RGBA: small on the wire (flat areas), about 500 MB to decode and convert."""
    image = Image.new("RGBA", (6000, 6600), (200, 180, 160, 255))
    draw = ImageDraw.Draw(image)
    for i in range(0, 6000, 300):
        draw.ellipse((i, i, i + 800, i + 900), fill=(i % 255, 40, 90, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_a_photo_past_the_worker_memory_limit_fails_alone(client):
    body = huge_png()
    draft = await create(client, amber_alert())
    refused, published = await asyncio.gather(
        upload(client, body, "image/png"),
        client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER)),
    )
    assert refused.status == 422
    error = (await refused.json())["error"]
    assert error["code"] == "invalid_image"
    assert "memory" in error["message"] and "worker_memory_mb" in error["message"]
    assert published.status == 200
    await client.app[RENDERER].idle()
    assert (await current_jpg(client)).status == 200
    assert (await current_jpg(client, "banner")).status == 404  # banner has no jpg format
    assert (await client.get("/v1/feeds/net-a/banner/current.png",
                             params={"key": KEY_A})).status == 200
    assert (await client.get("/healthz")).status == 200
    assert (await upload(client, samples.portrait_photo(seed=2))).status == 201


async def test_a_preview_past_the_worker_memory_limit_is_503_and_the_pool_goes_on(
        aiohttp_client, tmp_path):
    data = config_data(tmp_path / "data")
    data["render"] = {"worker_memory_mb": 160}
    data["networks"][0]["profiles"] = [{"id": "8k", "size": "7680x4320", "formats": ["png"]}]
    client = await aiohttp_client(TestServer(create_app(parse_config(data))))
    draft = await create(client, amber_alert())
    response = await client.get(f"/v1/alerts/{draft['id']}/preview/net-a/8k.png",
                                headers=auth(VIEWER))
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "render_unavailable"
    assert "worker_memory_mb" in (await response.json())["error"]["message"]
    assert (await client.get("/healthz")).status == 200
    assert (await upload(client, samples.portrait_photo())).status == 201


def die_once_told(path: str) -> None:
    """In a worker: wait (bounded) until `path` exists, then die as an OOM kill would."""
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGKILL)


async def test_a_worker_dying_as_the_pool_shuts_down_fails_its_job_instead_of_hanging(tmp_path):
    """Seen as a bench run that never ended: the job was submitted again, forever, to the
    broken process pool that a closed pool no longer replaces."""
    pool = WorkerPool(1, None)
    await pool.start()
    told = tmp_path / "die"
    job = asyncio.wrap_future(pool.submit(die_once_told, str(told)))
    pool.shutdown(wait=False)
    told.touch()
    with pytest.raises(BrokenProcessPool):
        async with asyncio.timeout(30):
            await job
    with pytest.raises(BrokenProcessPool):
        pool.submit(os.getpid)


OWNER_SCRIPT = """
import os, signal
from feedserver.render.pool import WorkerPool

if __name__ == "__main__":
    pool = WorkerPool(2, None)
    workers = set()
    while len(workers) < 2:  # each worker answers with its pid
        workers |= {future.result() for future in [pool.submit(os.getpid) for _ in range(8)]}
    print(*sorted(workers), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would end a server
"""


async def test_render_workers_end_when_their_server_is_killed(tmp_path):
    """A SIGKILLed server's render workers must not live on: they hold memory and the photos
    of the children they drew, and a supervisor restarting an OOM-killed worker would pile
    them up. (They did live on: each holds its own call queue and the fork server's
    lifeline, so nothing ever told them.)"""
    script = tmp_path / "owner.py"
    script.write_text(OWNER_SCRIPT)
    printed = tmp_path / "workers.txt"
    with printed.open("wb") as out:  # a file: the workers share it and may outlive the owner
        owner = await asyncio.create_subprocess_exec(sys.executable, str(script), stdout=out)
        assert await owner.wait() == -signal.SIGKILL
    workers = [int(pid) for pid in printed.read_text().split()]
    assert len(workers) == 2
    async with asyncio.timeout(30):
        while any(Path(f"/proc/{pid}").exists() for pid in workers):
            await asyncio.sleep(0.05)
