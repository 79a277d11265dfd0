"""Privacy by default: `privacy.purge_after` after an alert left the screens, its child's data
is gone from the store, the render caches and the disk; who did what and when, and how many
screens it reached, stay. Driven by the app's clock, not by waiting a month."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from support.alerts import amber_alert, missing_child_alert
from support.api import auth, create, publish, upload_photo
from support.clock import FakeClock
from support.config import EDITOR, KEY_A, PUBLISHER, VIEWER
from support.samples import drawn_photo

from feedserver.app import create_app
from feedserver.appkeys import RECEIPTS
from feedserver.config import ConfigError

NAME = "Fleur Testkind"
REASON = "Fleur Testkind is thuis; de melding klopte niet"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(aiohttp_client, make_config, clock) -> TestClient:
    config = make_config(privacy={"purge_after": "30d"})
    return await aiohttp_client(TestServer(create_app(config, clock=clock)))


async def alert_now(client: TestClient, alert_id: str) -> dict:
    return await (await client.get(f"/v1/alerts/{alert_id}", headers=auth(VIEWER))).json()


async def until_purged(client: TestClient, alert_id: str) -> dict:
    """Nudge the clock's loop (it looks again at every change) until the purge happened."""
    async with asyncio.timeout(20):
        while True:
            alert = await alert_now(client, alert_id)
            if "purged_at" in alert:
                return alert
            await create(client, missing_child_alert(), EDITOR)
            await asyncio.sleep(0.05)


def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


async def test_a_found_childs_data_is_purged_and_leaves_no_trace(client, clock, storage,
                                                                 tmp_path):
    photo_id = await upload_photo(client, drawn_photo("orange", (160, 200)))
    stored_photo = await (await client.get(f"/v1/photos/{photo_id}", headers=auth(VIEWER))).read()
    children = [{**amber_alert()["children"][0], "photo": photo_id}]
    alert = await publish(client, amber_alert(children=children))
    for screen in ("station-1", "station-2"):
        polled = await client.get("/v1/feeds/net-a/landscape",
                                  params={"key": KEY_A, "screen": screen})
        assert polled.status == 200
    await client.app[RECEIPTS].flush()
    resolved = await client.post(f"/v1/alerts/{alert['id']}/resolve", headers=auth(PUBLISHER),
                                 json={"message": {"nl": f"{NAME} is gevonden. Dank u wel!"}})
    assert resolved.status == 200

    clock.advance(days=30)  # the found card ended 29 days and 23 hours ago: not yet
    await create(client, missing_child_alert(), EDITOR)
    await asyncio.sleep(0.2)
    assert "purged_at" not in await alert_now(client, alert["id"])
    clock.advance(hours=1, seconds=1)
    purged = await until_purged(client, alert["id"])

    assert purged["status"] == "resolved" and purged["version"] == alert["version"] + 1
    assert purged["children"] == [] and purged["suspects"] == [] and purged["vehicles"] == []
    assert purged["last_seen"] is None and purged["message"] == {}
    assert purged["resolution"]["message"] == {}
    assert purged["headline"] == {"nl": "AMBER Alert", "en": "AMBER Alert"}
    assert purged["reach"] == {"screens": 2, "networks": ["net-a"]}
    history = await (await client.get(f"/v1/alerts/{alert['id']}/history",
                                      headers=auth(VIEWER))).json()
    assert [(h["actor"], h["action"]) for h in history["history"]] == [
        ("eddie-editor", "created"), ("pia-publisher", "published"),
        ("pia-publisher", "resolved")]
    for url, params in ((f"/v1/photos/{photo_id}", {}),
                        (f"/v1/cap/{alert['id']}/photos/{photo_id}", {}),
                        (f"/v1/alerts/{alert['id']}/cap.xml", {}),
                        (f"/v1/cap/{alert['id']}.xml", {"key": KEY_A})):
        response = await client.get(url, params=params, headers=auth(VIEWER))
        assert response.status == 404, url

    if storage == "sqlite":
        for path in files_under(tmp_path / "data"):
            assert path.stat().st_mode & 0o077 == 0, path  # this user's only
        everything = b"".join(p.read_bytes() for p in files_under(tmp_path / "data"))
        assert NAME.encode() not in everything
        assert b"Testkind" not in everything
        assert stored_photo[len(stored_photo) // 2:][:256] not in everything


async def test_a_cancel_reason_naming_the_child_leaves_the_history(client, clock):
    alert = await publish(client, amber_alert())
    cancelled = await client.post(f"/v1/alerts/{alert['id']}/cancel", headers=auth(PUBLISHER),
                                  json={"reason": REASON})
    assert cancelled.status == 200
    clock.advance(days=30, seconds=1)
    purged = await until_purged(client, alert["id"])
    assert purged["cancel_reason"] is None
    history = await (await client.get(f"/v1/alerts/{alert['id']}/history",
                                      headers=auth(VIEWER))).json()
    assert history["history"][-1]["action"] == "cancelled"
    assert NAME not in str(history)


async def test_active_alerts_and_drafts_are_never_purged(client, clock):
    active = await publish(client, amber_alert(expires_at=None))
    draft = await create(client, missing_child_alert(), EDITOR)
    clock.advance(days=20)  # within the default 24 h expiry? no: it expires first
    await create(client, missing_child_alert(), EDITOR)
    await asyncio.sleep(0.2)
    assert "purged_at" not in await alert_now(client, draft["id"])
    assert (await alert_now(client, draft["id"]))["children"] != []
    assert "purged_at" not in await alert_now(client, active["id"])


def test_purge_after_is_a_duration(make_config):
    assert make_config(privacy={"purge_after": "90s"}).privacy.purge_after_seconds == 90
    assert make_config().privacy.purge_after_seconds == 30 * 86400
    with pytest.raises(ConfigError, match=r"privacy\.purge_after: '30 days' is not a duration"):
        make_config(privacy={"purge_after": "30 days"})
