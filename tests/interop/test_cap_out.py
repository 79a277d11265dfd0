"""CAP 1.2 out: every message the server emits is schema-valid and says the right thing."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

from support.alerts import amber_alert
from support.api import auth, create, publish, upload_photo
from support.cap import CAP, assert_valid_cap, text
from support.config import KEY_A, KEY_B, PUBLISHER, VIEWER
from support.samples import drawn_photo

from feedserver.appkeys import EVENTS


async def cap_of(client, alert_id: str, token: str = VIEWER):
    response = await client.get(f"/v1/alerts/{alert_id}/cap.xml", headers=auth(token))
    assert response.status == 200, await response.text()
    assert response.content_type == "application/cap+xml"
    return assert_valid_cap(await response.read())


def references(root) -> list[str]:
    return (text(root, "cap:references") or "").split()


async def test_lifecycle_messages_reference_every_earlier_one(client):
    photo = await upload_photo(client)
    source = amber_alert()
    source["children"][0]["photo"] = photo
    draft = await create(client, source)
    root = await cap_of(client, draft["id"])
    assert text(root, "cap:status") == "Draft" and text(root, "cap:msgType") == "Alert"

    response = await client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER))
    assert response.status == 200
    first = await cap_of(client, draft["id"])
    assert text(first, "cap:status") == "Actual" and text(first, "cap:msgType") == "Alert"
    assert text(first, "cap:identifier") == f"feedserver-{draft['id']}-v2"
    assert references(first) == []
    sender, sent = text(first, "cap:sender"), text(first, "cap:sent")
    assert sender == "feeds.test"

    response = await client.patch(f"/v1/alerts/{draft['id']}", json={"message": {
        "nl": "Nieuwe informatie.", "en": "New information."}}, headers=auth(PUBLISHER))
    assert response.status == 200
    update = await cap_of(client, draft["id"])
    assert text(update, "cap:msgType") == "Update"
    assert references(update) == [f"{sender},feedserver-{draft['id']}-v2,{sent}"]
    assert [i.text for i in update.iter(CAP + "description")] == ["Nieuwe informatie.",
                                                                  "New information."]

    response = await client.post(f"/v1/alerts/{draft['id']}/resolve",
                                 json={"message": {"nl": "Gevonden, dank u!", "en": "Found!"}},
                                 headers=auth(PUBLISHER))
    resolved = await cap_of(client, draft["id"])
    assert text(resolved, "cap:msgType") == "Update"
    assert len(references(resolved)) == 2
    assert {e.text for e in resolved.iter(CAP + "responseType")} == {"AllClear"}
    assert {e.text for e in resolved.iter(CAP + "urgency")} == {"Past"}
    assert [i.text for i in resolved.iter(CAP + "description")] == ["Gevonden, dank u!",
                                                                    "Found!"]
    # the "found" card's end: signage systems end the takeover there by themselves
    assert text(resolved, "cap:info/cap:expires") > text(update, "cap:sent")


async def test_alert_content_per_language(client):
    photo = await upload_photo(client)
    source = amber_alert(regions=["NL"])
    source["children"][0]["photo"] = photo
    alert = await publish(client, source)
    root = await cap_of(client, alert["id"])
    infos = root.findall(CAP + "info")
    assert [text(i, "cap:language") for i in infos] == ["nl", "en"]
    for info in infos:
        assert text(info, "cap:category") == "Rescue"
        assert text(info, "cap:event") == "AMBER Alert"
        codes = {(text(c, "cap:valueName"), text(c, "cap:value"))
                 for c in info.findall(CAP + "eventCode")}
        assert ("SAME", "CAE") in codes and ("feedserver", "amber") in codes
        assert (text(info, "cap:urgency"), text(info, "cap:severity"),
                text(info, "cap:certainty")) == ("Immediate", "Extreme", "Likely")
        assert text(info, "cap:web") == "https://www.politie.nl/amberalert"
        assert text(info, "cap:contact") == "0800-6070"
        assert text(info, "cap:expires") is not None
        resources = info.findall(CAP + "resource")
        assert len(resources) == 1
        assert text(resources[0], "cap:resourceDesc") == "children[0].photo"
        assert text(resources[0], "cap:uri") == \
            f"http://feeds.test/v1/cap/{alert['id']}/photos/{photo}"
        assert text(resources[0], "cap:mimeType") == "image/jpeg"
        geocodes = [(text(g, "cap:valueName"), text(g, "cap:value"))
                    for g in info.iter(CAP + "geocode")]
        assert geocodes == [("ISO3166", "NL")]
    params = {text(p, "cap:valueName"): text(p, "cap:value")
              for p in infos[1].findall(CAP + "parameter")}
    assert params["children[0].name"] == "Fleur Testkind"
    assert params["children[0].clothing"] == "Red coat"
    assert params["vehicles[0].plate"] == "99-XYZ-9"


async def test_missing_child_test_alert_and_regions(client):
    alert = await publish(client, amber_alert(
        kind="missing_child", circumstance="runaway", test=True, regions=["NL-UT", "NL-NH"],
        languages=["nl"], suspects=[], vehicles=[]))
    root = await cap_of(client, alert["id"])
    assert text(root, "cap:status") == "Test"
    (info,) = root.findall(CAP + "info")
    assert text(info, "cap:event") == "Vermist Kind Alert"
    assert [text(c, "cap:value") for c in info.findall(CAP + "eventCode")] == ["missing_child"]
    assert text(info, "cap:severity") == "Severe"
    assert [text(g, "cap:value") for g in info.iter(CAP + "geocode")] == ["NL-UT", "NL-NH"]
    assert text(info, "cap:area/cap:areaDesc") == "Utrecht, Noord-Holland"


async def test_cancel_and_expiry_are_cancel_messages(client):
    cancelled = await publish(client, amber_alert())
    response = await client.post(f"/v1/alerts/{cancelled['id']}/cancel",
                                 json={"reason": "Melding bleek onjuist"}, headers=auth(PUBLISHER))
    assert response.status == 200
    root = await cap_of(client, cancelled["id"])
    assert text(root, "cap:msgType") == "Cancel" and text(root, "cap:note") == \
        "Melding bleek onjuist"
    assert root.find(CAP + "info") is None
    assert references(root)[0].split(",")[1] == f"feedserver-{cancelled['id']}-v2"

    events = client.app[EVENTS].subscribe()
    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    expiring = await publish(client, amber_alert(expires_at=soon))
    while (event := await asyncio.wait_for(anext(events), 10)).type != "alert.expired":
        pass
    assert event.alert.id == expiring["id"]
    root = await cap_of(client, expiring["id"])
    assert text(root, "cap:msgType") == "Cancel" and text(root, "cap:note") == "expired"


async def test_screen_cap_needs_a_key_and_hides_drafts(client):
    alert = await publish(client, amber_alert())
    draft = await create(client, amber_alert())
    for key in (KEY_A, KEY_B):
        response = await client.get(f"/v1/cap/{alert['id']}.xml", params={"key": key})
        assert response.status == 200
        assert_valid_cap(await response.read())
    response = await client.get(f"/v1/cap/{alert['id']}.xml", headers=auth(VIEWER))
    assert response.status == 200
    response = await client.get(f"/v1/cap/{draft['id']}.xml", params={"key": KEY_A})
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"
    response = await client.get(f"/v1/cap/{alert['id']}.xml")
    assert response.status == 401
    response = await client.get(f"/v1/cap/{alert['id']}.xml", params={"key": "nope"})
    assert response.status == 401
    response = await client.get("/v1/cap/a_0000000000000000.xml", params={"key": KEY_A})
    assert response.status == 404
    response = await client.get(f"/v1/alerts/{alert['id']}/cap.xml", params={"key": KEY_A})
    assert response.status == 401


async def test_cap_etag_changes_with_the_alert(client):
    alert = await publish(client, amber_alert())
    url = f"/v1/cap/{alert['id']}.xml"
    etag = (await client.get(url, params={"key": KEY_A})).headers["ETag"]
    response = await client.get(url, params={"key": KEY_A}, headers={"If-None-Match": etag})
    assert response.status == 304
    response = await client.patch(f"/v1/alerts/{alert['id']}", json={"message": "Nieuw"},
                                  headers=auth(PUBLISHER))
    assert response.status == 200
    response = await client.get(url, params={"key": KEY_A}, headers={"If-None-Match": etag})
    assert response.status == 200 and response.headers["ETag"] != etag
    assert text(assert_valid_cap(await response.read()), "cap:msgType") == "Update"


async def test_resource_photos_are_public_only_while_the_alert_is_shown(client):
    photo = await upload_photo(client)
    source = amber_alert()
    source["children"][0]["photo"] = photo
    draft = await create(client, source)
    url = f"/v1/cap/{draft['id']}/photos/{photo}"
    draft_cap = await cap_of(client, draft["id"])
    assert text(draft_cap, "cap:info/cap:resource/cap:uri") == f"http://feeds.test/v1/photos/{photo}"
    assert (await client.get(url)).status == 404

    response = await client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER))
    assert response.status == 200
    response = await client.get(url)  # what a signage CMS does with the resource: no key
    assert response.status == 200 and response.content_type == "image/jpeg"
    assert hashlib.sha1(await response.read()).hexdigest() == \
        text(await cap_of(client, draft["id"]), "cap:info/cap:resource/cap:digest")
    other = await upload_photo(client, drawn_photo("green"))
    assert (await client.get(f"/v1/cap/{draft['id']}/photos/{other}")).status == 404

    response = await client.post(f"/v1/alerts/{draft['id']}/cancel", json={"reason": "test"},
                                 headers=auth(PUBLISHER))
    assert response.status == 200
    assert (await client.get(url)).status == 404
