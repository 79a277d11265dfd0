"""CAP 1.2 in: round trips, the OASIS samples, and what real feeds send."""

from __future__ import annotations

import base64
import io

from PIL import Image
from support.alerts import amber_alert
from support.api import auth, create, publish, upload_photo
from support.cap import fixture, ingest, message, with_child_and_photo
from support.config import EDITOR, PUBLISHER, VIEWER
from support.samples import drawn_photo

from feedserver.alerts.fields import INPUT_FIELDS

CAP_XML = {"Content-Type": "application/cap+xml"}


async def cap_xml(client, alert_id: str) -> bytes:
    response = await client.get(f"/v1/alerts/{alert_id}/cap.xml", headers=auth(VIEWER))
    assert response.status == 200
    return await response.read()


def content(alert: dict) -> dict:
    return {key: alert[key] for key in INPUT_FIELDS}


async def test_round_trip_alert_update_resolve(client):
    photo = await upload_photo(client)
    source = amber_alert()
    source["children"][0]["photo"] = photo
    source["suspects"][0]["name"] = "Verzonnen Verdachte"
    original = await publish(client, source)

    mirror = await ingest(client, await cap_xml(client, original["id"]), 201)
    assert mirror["status"] == "draft"
    assert mirror["origin"] == {"kind": "cap",
                                "ref": f"feeds.test,feedserver-{original['id']}-v2"}
    assert content(mirror) == content(original)
    assert mirror["children"][0]["photo"] == photo

    again = await ingest(client, await cap_xml(client, original["id"]), 200)
    assert again["id"] == mirror["id"] and again["version"] == mirror["version"]

    response = await client.post(f"/v1/alerts/{mirror['id']}/publish", headers=auth(PUBLISHER))
    assert response.status == 200
    response = await client.patch(f"/v1/alerts/{original['id']}", json={
        "vehicles": [{"make": "Opel", "model": "Astra", "colour": {"nl": "grijs", "en": "grey"},
                      "plate": "11-AB-22", "country": "DE"}],
        "children": [{**original["children"][0], "clothing": {"nl": "Groene jas",
                                                              "en": "Green coat"}}],
    }, headers=auth(PUBLISHER))
    updated = await response.json()
    assert response.status == 200, updated
    mirrored = await ingest(client, await cap_xml(client, original["id"]), 200)
    assert mirrored["id"] == mirror["id"] and mirrored["status"] == "active"
    assert content(mirrored) == content(updated)

    response = await client.post(f"/v1/alerts/{original['id']}/resolve", json={
        "message": {"nl": "Fleur is terecht.", "en": "Fleur has been found."}},
        headers=auth(PUBLISHER))
    assert response.status == 200
    found = await ingest(client, await cap_xml(client, original["id"]), 200)
    assert found["id"] == mirror["id"] and found["status"] == "resolved"
    assert found["resolution"]["message"] == {"nl": "Fleur is terecht.",
                                              "en": "Fleur has been found."}


async def test_round_trip_cancel(client):
    original = await publish(client, amber_alert(kind="missing_child", circumstance="runaway",
                                                 regions=["NL-UT"], test=True))
    mirror = await ingest(client, await cap_xml(client, original["id"]), 201)
    assert content(mirror) == content(original)
    response = await client.post(f"/v1/alerts/{original['id']}/cancel",
                                 json={"reason": "Dubbele melding"}, headers=auth(PUBLISHER))
    assert response.status == 200
    cancelled = await ingest(client, await cap_xml(client, original["id"]), 200)
    assert cancelled["id"] == mirror["id"]
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "Dubbele melding"


async def test_an_update_that_removes_things_removes_them(client):
    original = await publish(client, amber_alert())
    mirror = await ingest(client, await cap_xml(client, original["id"]), 201)
    response = await client.patch(f"/v1/alerts/{original['id']}", json={
        "vehicles": [], "suspects": [{"description": "Vrouw met rode jas"}], "last_seen": None},
        headers=auth(PUBLISHER))
    updated = await response.json()
    assert response.status == 200, updated
    assert updated["vehicles"] == [] and updated["last_seen"] is None
    mirrored = await ingest(client, await cap_xml(client, original["id"]), 200)
    assert mirrored["id"] == mirror["id"] and content(mirrored) == content(updated)


async def test_draft_round_trip(client):
    draft = await create(client, amber_alert(regions=["NL"], languages=["en", "nl"], test=True))
    body = await cap_xml(client, draft["id"])
    assert b"<status>Draft</status>" in body
    mirror = await ingest(client, body, 201)
    assert content(mirror) == content(draft)


async def test_oasis_amber_sample_becomes_a_draft(client):
    draft = await ingest(client, fixture("oasis-appendix-a4-amber.xml"), 201)
    assert draft["status"] == "draft" and draft["kind"] == "amber"
    assert draft["languages"] == ["en"]  # the es-US block is in a language screens do not get
    assert draft["children"] == []
    assert draft["message"]["en"].startswith("Amber Alert in Los Angeles County\n\nDATE/TIME")
    assert "213 485-2389" in draft["message"]["en"]
    assert draft["origin"]["ref"] == "KARO@CLETS.DOJ.CA.GOV,KAR0-0306112239-SW"
    response = await client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER))
    assert response.status == 422
    assert (await response.json())["error"]["details"][0]["field"] == "children"


async def test_oasis_earthquake_update_is_refused_saying_why(client):
    error = (await ingest(client, fixture("oasis-appendix-a3-update.xml"), 422))["error"]
    assert error["code"] == "invalid_cap"
    assert "'Earthquake'" in error["message"]
    assert "not about a missing or abducted child" in error["message"]
    assert error["details"][0]["field"] == "info[0].event"


async def test_real_feed_habits(client):
    """Z and +00:00 times, several info blocks, bare-identifier references."""
    draft = await ingest(client, message(infos=("nl", "en-GB", "es", "nl")), 201)
    assert draft["kind"] == "missing_child" and draft["regions"] == ["NL-UT"]
    assert draft["languages"] == ["nl", "en"]
    assert draft["message"] == {"nl": "Kop nl\n\nTekst nl", "en": "Kop en-GB\n\nTekst en-GB"}
    assert draft["expires_at"] == "2026-11-29T14:00:00+00:00"

    updated = await ingest(client, message(msg_type="Update", identifier="NL-POL-2",
                                           sent="2026-11-28T15:00:00.250+00:00",
                                           references="NL-POL-1",
                                           expires="2026-11-30T10:00:00Z"), 200)
    assert updated["id"] == draft["id"] and updated["languages"] == ["nl"]
    assert updated["expires_at"] == "2026-11-30T10:00:00+00:00"

    cancelled = await ingest(client, message(
        msg_type="Cancel", identifier="NL-POL-3", infos=(),
        references="politie.nl,NL-POL-1,2026-11-28T14:00:00-00:00 NL-POL-2"), 200)
    assert cancelled["id"] == draft["id"] and cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "cancelled by CAP message NL-POL-3"


async def test_cap_inside_an_atom_entry(client):
    entry = b"""<?xml version="1.0" encoding="UTF-8"?>
    <entry xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>Alert</title>
      <updated>2026-11-28T14:00:00Z</updated>
      <content type="application/cap+xml">""" + message().split(b"?>", 1)[1] + \
        b"</content></entry>"
    draft = await ingest(client, entry, 201, "application/atom+xml")
    assert draft["origin"]["ref"] == "politie.nl,NL-POL-1"


async def test_update_of_an_unknown_alert_becomes_a_draft_and_cancel_is_404(client):
    draft = await ingest(client, message(msg_type="Update", identifier="X-2",
                                         references="politie.nl,X-1,2026-11-28T14:00:00Z"), 201)
    assert draft["status"] == "draft" and draft["origin"]["ref"] == "politie.nl,X-2"
    error = (await ingest(client, message(msg_type="Cancel", identifier="Y-2", infos=(),
                                          references="Y-1"), 404))["error"]
    assert error["details"][0]["field"] == "references"


async def test_bad_messages_get_clear_errors(client):
    error = (await ingest(client, b"<alert", 400))["error"]
    assert error["code"] == "malformed_cap" and "well-formed" in error["message"]

    invalid = message().replace(b"<urgency>Immediate</urgency>", b"<urgency>Soon</urgency>")
    error = (await ingest(client, invalid, 422))["error"]
    assert "not a valid CAP 1.2 message" in error["message"]
    assert error["details"][0]["field"] == "alert/info[0]/urgency"

    error = (await ingest(client, message(status="System"), 422))["error"]
    assert error["details"][0]["field"] == "status"

    error = (await ingest(client, message(infos=("es",)), 422))["error"]
    assert error["details"][0]["field"] == "info" and "es" in error["message"]

    other_root = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'
    error = (await ingest(client, other_root, 422))["error"]
    assert "holds 0 CAP messages" in error["message"]

    response = await client.post("/v1/ingest/cap", data=message(),
                                 headers={**auth(PUBLISHER), "Content-Type": "text/plain"})
    assert response.status == 415
    response = await client.post("/v1/ingest/cap", data=message(),
                                 headers={**auth(EDITOR), **CAP_XML})
    assert response.status == 403
    response = await client.post("/v1/ingest/cap", data=message(), headers=CAP_XML)
    assert response.status == 401


async def test_photo_from_deref_uri(client):
    """Photos by URL: test_fetching."""
    photo = drawn_photo()
    draft = await ingest(client, with_child_and_photo(
        f"<derefUri>{base64.b64encode(photo).decode()}</derefUri>"), 201)
    assert draft["children"][0]["name"] == "Lotte Bedacht"
    photo_id = draft["children"][0]["photo"]
    response = await client.get(f"/v1/photos/{photo_id}", headers=auth(VIEWER))
    stored = Image.open(io.BytesIO(await response.read()))
    assert stored.format == "JPEG" and stored.size == (120, 160)


async def test_odd_numbers_in_parameters_are_422_naming_the_field(client):
    for age in ("²", "٣", "9" * 5_000, "-1"):
        body = with_child_and_photo("<derefUri>bm90IGFuIGltYWdl</derefUri>").replace(
            b"<value>6</value>", f"<value>{age}</value>".encode())
        error = (await ingest(client, body, 422))["error"]
        assert error["details"][0]["field"] == "children[0].age", error
        assert "whole number" in error["details"][0]["message"]
    listed = await client.get("/v1/alerts", headers=auth(VIEWER))
    assert (await listed.json())["alerts"] == []
