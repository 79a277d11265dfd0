"""Four eyes: with `alerts.four_eyes: true` a draft is published by a second publisher."""

from __future__ import annotations

import pytest
from support.alerts import amber_alert
from support.api import auth, create
from support.config import EDITOR, PUBLISHER
from support.console import SECOND_PUBLISHER, start_console


@pytest.fixture
async def four_eyes(aiohttp_client, tmp_path):
    return await start_console(aiohttp_client, tmp_path / "data")


async def test_the_author_may_not_publish_a_second_publisher_may(four_eyes):
    draft = await create(four_eyes, amber_alert(), token=PUBLISHER)
    assert draft["created_by"] == draft["edited_by"] == "pia-publisher"
    assert draft["may_not_publish"] == ["pia-publisher"]

    response = await four_eyes.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER))
    body = await response.json()
    assert response.status == 403, body
    assert body["error"]["code"] == "four_eyes"
    assert "pia-publisher" in body["error"]["message"]
    still = await (await four_eyes.get(f"/v1/alerts/{draft['id']}",
                                       headers=auth(PUBLISHER))).json()
    assert still["status"] == "draft" and still["version"] == 1

    response = await four_eyes.post(f"/v1/alerts/{draft['id']}/publish",
                                    headers=auth(SECOND_PUBLISHER))
    active = await response.json()
    assert response.status == 200, active
    assert active["status"] == "active" and active["may_not_publish"] == []

    history = (await (await four_eyes.get(f"/v1/alerts/{draft['id']}/history",
                                          headers=auth(PUBLISHER))).json())["history"]
    published = history[-1]
    assert published["action"] == "published" and published["actor"] == "quinn-publisher"
    assert published["note"]["four_eyes"] == {"created_by": "pia-publisher",
                                              "edited_by": "pia-publisher"}


async def test_the_last_editor_may_not_publish_either(four_eyes):
    draft = await create(four_eyes, amber_alert(), token=EDITOR)
    response = await four_eyes.patch(
        f"/v1/alerts/{draft['id']}", json={"message": "Bel 112"},
        headers={**auth(SECOND_PUBLISHER), "Content-Type": "application/merge-patch+json"})
    edited = await response.json()
    assert response.status == 200, edited
    assert edited["created_by"] == "eddie-editor" and edited["edited_by"] == "quinn-publisher"
    assert edited["may_not_publish"] == ["eddie-editor", "quinn-publisher"]

    response = await four_eyes.post(f"/v1/alerts/{draft['id']}/publish",
                                    headers=auth(SECOND_PUBLISHER))
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "four_eyes"
    listed = await (await four_eyes.get("/v1/alerts", params={"status": "draft"},
                                        headers=auth(PUBLISHER))).json()
    assert listed["alerts"][0]["may_not_publish"] == ["eddie-editor", "quinn-publisher"]

    response = await four_eyes.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER))
    assert response.status == 200, await response.text()


async def test_without_four_eyes_the_author_publishes(client):
    draft = await create(client, amber_alert(), token=PUBLISHER)
    assert draft["may_not_publish"] == []
    response = await client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER))
    assert response.status == 200, await response.text()
