"""The alert lifecycle over real HTTP: draft, publish, update, resolve, cancel, expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from support.alerts import amber_alert, missing_child_alert
from support.api import auth, create, feed, publish
from support.config import EDITOR, KEY_A, PUBLISHER, VIEWER

from feedserver.appkeys import RENDERER


async def test_draft_publish_update_resolve(client):
    draft = await create(client, amber_alert())
    assert draft["status"] == "draft" and draft["version"] == 1
    assert draft["headline"] == {"nl": "AMBER Alert: Fleur Testkind (9)",
                                 "en": "AMBER Alert: Fleur Testkind (9)"}

    response = await client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER))
    active = await response.json()
    assert response.status == 200
    assert active["status"] == "active" and active["version"] == 2
    assert active["published_at"] is not None

    response = await client.patch(
        f"/v1/alerts/{draft['id']}",
        json={"vehicles": [{"make": "Opel", "plate": "11-AB-22", "colour": "grijs"}]},
        headers={**auth(PUBLISHER), "Content-Type": "application/merge-patch+json"},
    )
    updated = await response.json()
    assert response.status == 200, updated
    assert updated["version"] == 3
    assert updated["vehicles"][0]["make"] == "Opel"
    assert updated["vehicles"][0]["colour"] == {"nl": "grijs"}
    assert updated["children"] == active["children"]

    entry = (await feed(client, "net-a", "landscape", KEY_A))["alerts"][0]
    assert entry["version"] == 3 and entry["status"] == "active"

    response = await client.post(f"/v1/alerts/{draft['id']}/resolve",
                                 json={"message": {"nl": "Fleur is terecht. Dank u wel!"}},
                                 headers=auth(PUBLISHER))
    resolved = await response.json()
    assert response.status == 200
    assert resolved["status"] == "resolved" and resolved["version"] == 4
    assert resolved["resolution"]["message"] == {"nl": "Fleur is terecht. Dank u wel!"}
    assert resolved["headline"]["nl"] == "Gevonden: Fleur Testkind (9)"

    document = await feed(client, "net-a", "landscape", KEY_A)
    assert [(a["id"], a["status"]) for a in document["alerts"]] == [(draft["id"], "resolved")]

    response = await client.get(f"/v1/alerts/{draft['id']}/history", headers=auth(VIEWER))
    history = (await response.json())["history"]
    assert [(h["version"], h["action"], h["actor"]) for h in history] == [
        (1, "created", "eddie-editor"),
        (2, "published", "pia-publisher"),
        (3, "edited", "pia-publisher"),
        (4, "resolved", "pia-publisher"),
    ]


async def test_draft_cancel_records_reason_and_never_reaches_a_screen(client):
    draft = await create(client, missing_child_alert())
    response = await client.post(f"/v1/alerts/{draft['id']}/cancel",
                                 json={"reason": "entered twice"}, headers=auth(PUBLISHER))
    cancelled = await response.json()
    assert response.status == 200
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "entered twice"
    response = await client.get(f"/v1/alerts/{draft['id']}/history", headers=auth(VIEWER))
    last = (await response.json())["history"][-1]
    assert last["action"] == "cancelled" and last["note"] == {"reason": "entered twice"}


async def test_cancel_of_active_alert_removes_it_from_every_feed(client):
    active = await publish(client, amber_alert())
    assert (await feed(client, "net-a", "landscape", KEY_A))["state"] == "alert"
    response = await client.post(f"/v1/alerts/{active['id']}/cancel",
                                 json={"reason": "wrong child"}, headers=auth(PUBLISHER))
    assert response.status == 200
    document = await feed(client, "net-a", "landscape", KEY_A)
    assert document["state"] == "idle" and document["alerts"] == []


async def test_publish_sets_default_expiry_per_kind(client):
    alert = await publish(client, missing_child_alert())
    lifetime = (datetime.fromisoformat(alert["expires_at"])
                - datetime.fromisoformat(alert["published_at"]))
    assert lifetime == timedelta(hours=72)


async def test_list_is_newest_first_and_filters_by_status(client):
    first = await create(client, amber_alert())
    second = await publish(client, missing_child_alert())
    response = await client.get("/v1/alerts", headers=auth(VIEWER))
    ids = [a["id"] for a in (await response.json())["alerts"]]
    assert ids == [second["id"], first["id"]]
    response = await client.get("/v1/alerts?status=active", headers=auth(VIEWER))
    assert [a["id"] for a in (await response.json())["alerts"]] == [second["id"]]


async def test_editor_edits_draft_but_not_active_alert(client):
    draft = await create(client, amber_alert())
    response = await client.patch(f"/v1/alerts/{draft['id']}", json={"test": True},
                                  headers=auth(EDITOR))
    assert response.status == 200 and (await response.json())["test"] is True
    await client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER))
    response = await client.patch(f"/v1/alerts/{draft['id']}", json={"test": False},
                                  headers=auth(EDITOR))
    assert response.status == 403


async def test_unchanged_patch_makes_no_new_version(client):
    draft = await create(client, amber_alert())
    response = await client.patch(f"/v1/alerts/{draft['id']}", json={"kind": "amber"},
                                  headers=auth(EDITOR))
    assert (await response.json())["version"] == 1


async def test_policy_override_is_recorded_at_publish(client):
    alert = amber_alert(circumstance="family_abduction",
                        policy_override={"reason": "father armed, threatened the child"})
    draft = await create(client, alert, token=PUBLISHER)
    response = await client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER))
    assert response.status == 200
    response = await client.get(f"/v1/alerts/{draft['id']}/history", headers=auth(VIEWER))
    published = (await response.json())["history"][1]
    assert published["action"] == "published"
    assert published["note"]["policy_override"]["reason"] == "father armed, threatened the child"


async def test_alert_warnings_say_what_the_layouts_left_out(client):
    long_text = {"nl": "Zij draagt " + "een rode jas met witte strepen, " * 12,
                 "en": "She wears " + "a red coat with white stripes, " * 12}
    alert = await publish(client, amber_alert(message=long_text))
    await client.app[RENDERER].idle()
    response = await client.get(f"/v1/alerts/{alert['id']}", headers=auth(VIEWER))
    warnings = (await response.json())["warnings"]
    layout = [w["message"] for w in warnings if w["field"] == "layout"]
    assert any(m.startswith("net-a/landscape 1920x1080") and "left out message" in m
               for m in layout), layout
