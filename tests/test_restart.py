"""A crash loses nothing acknowledged: SIGKILL in the middle of a burst, then restart."""

from __future__ import annotations

import asyncio

import aiohttp
from support.alerts import amber_alert
from support.api import auth
from support.config import EDITOR, KEY_A, PUBLISHER, VIEWER


async def test_sigkill_during_burst_loses_no_acknowledged_change(server_process):
    async with aiohttp.ClientSession(server_process.url) as session:
        async with session.post("/v1/alerts", json=amber_alert(), headers=auth(EDITOR)) as r:
            alert_id = (await r.json())["id"]
        async with session.post(f"/v1/alerts/{alert_id}/publish", headers=auth(PUBLISHER)) as r:
            assert r.status == 200

        acknowledged_edits: dict[int, str] = {}
        acknowledged_creates: list[str] = []
        enough = asyncio.Event()

        async def edit(i: int) -> None:
            text = f"update {i}"
            async with session.patch(f"/v1/alerts/{alert_id}", json={"message": text},
                                     headers=auth(PUBLISHER)) as response:
                if response.status == 200:
                    acknowledged_edits[(await response.json())["version"]] = text

        async def create(i: int) -> None:
            alert = amber_alert(message=f"new alert {i}")
            async with session.post("/v1/alerts", json=alert, headers=auth(EDITOR)) as response:
                if response.status == 201:
                    acknowledged_creates.append((await response.json())["id"])

        async def writer(n: int) -> None:
            for i in range(n, 10_000, 4):
                try:
                    await (edit(i) if i % 2 else create(i))
                except aiohttp.ClientError:
                    return
                if len(acknowledged_edits) + len(acknowledged_creates) >= 40:
                    enough.set()

        writers = [asyncio.create_task(writer(n)) for n in range(4)]
        await asyncio.wait_for(enough.wait(), 60)
        server_process.kill()
        await asyncio.wait_for(asyncio.gather(*writers), 30)

    assert acknowledged_edits and acknowledged_creates
    await server_process.start()
    async with aiohttp.ClientSession(server_process.url) as session:
        async with session.get(f"/v1/alerts/{alert_id}/history", headers=auth(VIEWER)) as r:
            history = {h["version"]: h for h in (await r.json())["history"]}
        async with session.get(f"/v1/alerts/{alert_id}", headers=auth(VIEWER)) as r:
            alert = await r.json()
        async with session.get("/v1/alerts", headers=auth(VIEWER)) as r:
            stored_ids = {a["id"] for a in (await r.json())["alerts"]}
        async with session.get("/v1/feeds/net-a/landscape", params={"key": KEY_A}) as r:
            feed_entries = (await r.json())["alerts"]

    for version in acknowledged_edits:
        assert history[version]["action"] == "edited"
    last = max(acknowledged_edits)
    assert alert["version"] >= last and alert["status"] == "active"
    if alert["version"] == last:
        assert alert["message"] == {"nl": acknowledged_edits[last]}
    assert set(acknowledged_creates) <= stored_ids
    assert sorted(history) == list(range(1, alert["version"] + 1))
    assert [(e["id"], e["version"]) for e in feed_entries] == [(alert_id, alert["version"])]
