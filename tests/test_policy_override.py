"""Only a publisher's own action may override a policy rule, and the history names who did."""

from __future__ import annotations

from support.alerts import amber_alert
from support.api import auth, create
from support.config import ADMIN, EDITOR, PUBLISHER, VIEWER

from feedserver.alerts.model import Origin
from feedserver.appkeys import ALERTS
from feedserver.auth import Actor

OVERRIDE = {"reason": "father armed, threatened the child"}
FAMILY = amber_alert(circumstance="family_abduction", policy_override=OVERRIDE)


async def history(client, alert_id: str) -> list[dict]:
    response = await client.get(f"/v1/alerts/{alert_id}/history", headers=auth(VIEWER))
    return (await response.json())["history"]


async def test_an_editor_cannot_give_an_override(client):
    response = await client.post("/v1/alerts", json=FAMILY, headers=auth(EDITOR))
    body = await response.json()
    assert response.status == 403, body
    assert body["error"]["details"][0]["field"] == "policy_override"
    listed = await client.get("/v1/alerts", headers=auth(VIEWER))
    assert (await listed.json())["alerts"] == []

    draft = await create(client, amber_alert())
    response = await client.patch(f"/v1/alerts/{draft['id']}", headers=auth(EDITOR),
                                  json={"policy_override": OVERRIDE})
    assert response.status == 403
    current = await client.get(f"/v1/alerts/{draft['id']}", headers=auth(VIEWER))
    assert (await current.json())["version"] == 1


async def test_the_history_names_the_publisher_who_gave_it(client):
    draft = await create(client, amber_alert(), token=PUBLISHER)  # pia-publisher drafts
    response = await client.patch(f"/v1/alerts/{draft['id']}", headers=auth(PUBLISHER),
                                  json={"circumstance": "family_abduction",
                                        "policy_override": OVERRIDE})
    assert response.status == 200, await response.text()
    response = await client.patch(f"/v1/alerts/{draft['id']}", headers=auth(EDITOR),
                                  json={"message": {"nl": "Bel 112.", "en": "Call 112."}})
    assert response.status == 200, await response.text()  # an editor may still edit the rest
    response = await client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(ADMIN))
    assert response.status == 200, await response.text()
    entries = await history(client, draft["id"])
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("created", "pia-publisher"), ("edited", "pia-publisher"), ("edited", "eddie-editor"),
        ("published", "ada-admin")]
    assert entries[1]["note"] == {"policy_override": OVERRIDE, "given_by": "pia-publisher"}
    assert entries[3]["note"] == {"policy_override": OVERRIDE, "given_by": "pia-publisher"}


async def test_an_override_in_the_publish_call(client):
    """An ingested draft may break a rule; the publisher overrides it when publishing."""
    draft, _ = await client.app[ALERTS].create_ingested(
        amber_alert(circumstance="family_abduction"), Actor("cap-ingest", "publisher"),
        Origin("cap", "politie.nl,NL-1"))
    path = f"/v1/alerts/{draft.id}/publish"
    refused = await client.post(path, headers=auth(PUBLISHER))
    assert refused.status == 422
    bad = await client.post(path, headers=auth(PUBLISHER), json={"policy_override": {}})
    assert bad.status == 422
    assert (await bad.json())["error"]["details"][0]["field"] == "policy_override.reason"
    published = await client.post(path, headers=auth(PUBLISHER),
                                  json={"policy_override": OVERRIDE})
    assert published.status == 200, await published.text()
    assert (await published.json())["policy_override"] == OVERRIDE
    (entry,) = [e for e in await history(client, draft.id) if e["action"] == "published"]
    assert entry["actor"] == "pia-publisher"
    assert entry["note"] == {"policy_override": OVERRIDE, "given_by": "pia-publisher"}


async def test_an_override_nobody_gave_is_not_honoured(client):
    """A draft holding an override no publisher's action gave (an editor's, from before this
    rule) is published only if it passes the rules without it."""
    draft, _ = await client.app[ALERTS].create_ingested(
        FAMILY, Actor("cap-ingest", "publisher"), Origin("cap", "politie.nl,NL-2"))
    response = await client.post(f"/v1/alerts/{draft.id}/publish", headers=auth(PUBLISHER))
    body = await response.json()
    assert response.status == 422, body
    assert body["error"]["details"][0]["field"] == "circumstance"
