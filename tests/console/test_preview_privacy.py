"""The console's preview wall keeps recent tiles in memory; a purge must not leave a found
child's face there (API.md, Privacy: "deleted from ... the render caches")."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestServer
from support.alerts import amber_alert, missing_child_alert
from support.api import auth, create, upload_photo
from support.clock import FakeClock
from support.config import EDITOR, PUBLISHER, VIEWER
from support.samples import drawn_photo

from feedserver.app import create_app


async def test_a_purge_takes_the_childs_preview_tiles_off_the_shelf(aiohttp_client, make_config):
    clock = FakeClock()
    client = await aiohttp_client(TestServer(create_app(make_config(), clock=clock)))
    photo_id = await upload_photo(client, drawn_photo("teal", (160, 200)))
    content = amber_alert(children=[{**amber_alert()["children"][0], "photo": photo_id}])
    wall = await client.post("/v1/previews", json=content, headers=auth(VIEWER))
    assert wall.status == 200, await wall.text()
    tiles = [tile["image"] for tile in (await wall.json())["tiles"]]
    for image in tiles:
        assert (await client.get(image, headers=auth(VIEWER))).status == 200

    alert = await create(client, content, EDITOR)
    for step, body in (("publish", None), ("cancel", {"reason": "test"})):
        done = await client.post(f"/v1/alerts/{alert['id']}/{step}", json=body,
                                 headers=auth(PUBLISHER))
        assert done.status == 200, await done.text()
    clock.advance(days=30, seconds=1)
    async with asyncio.timeout(20):  # the expiry clock looks again at every change
        while (await client.get(tiles[0], headers=auth(VIEWER))).status == 200:
            await create(client, missing_child_alert(), EDITOR)
            await asyncio.sleep(0.05)

    purged = await (await client.get(f"/v1/alerts/{alert['id']}", headers=auth(VIEWER))).json()
    assert "purged_at" in purged
    for image in tiles:
        assert (await client.get(image, headers=auth(VIEWER))).status == 404, image
