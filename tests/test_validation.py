"""Bad input gets a clear 4xx naming the field and the rule, and nothing is half written."""

from __future__ import annotations

import pytest
from support.alerts import amber_alert, in_hours
from support.api import auth, create, publish
from support.config import EDITOR, PUBLISHER, VIEWER

from feedserver.alerts.model import Origin
from feedserver.appkeys import ALERTS
from feedserver.auth import Actor

PUBLISHER_JSON = {**auth(PUBLISHER), "Content-Type": "application/json"}


async def assert_refused(response, status: int, field: str | None = None, rule: str = "") -> dict:
    body = await response.json()
    assert response.status == status, body
    error = body["error"]
    assert error["code"] and error["message"]
    if field is not None:
        details = {d["field"]: d["message"] for d in error["details"]}
        assert field in details, details
        assert rule in details[field], details
    return error


RULES = [
    ({"children": []}, "children", "at least one child"),
    ({"children": [{"age": 9}]}, "children[0].name", "is required"),
    ({"children": [{"name": "Kim Test"}]}, "children[0].age", "is required"),
    ({"children": [{"name": "Kim Test", "age": 18}]}, "children[0].age", "0 to 17"),
    ({"children": [{"name": "Kim Test", "age": -1}]}, "children[0].age", "from 0"),
    ({"children": [{"name": "Kim Test", "age": "nine"}]}, "children[0].age", "whole number"),
    ({"circumstance": "family_abduction"}, "circumstance", "Vermist Kind Alert"),
    ({"circumstance": "runaway"}, "circumstance", "stranger_abduction or life_threatening"),
    ({"suspects": [], "vehicles": [], "last_seen": None}, "suspects",
     "at least one suspect, vehicle or last_seen"),
    ({"regions": ["NL-UT"]}, "regions[0]", "national"),
    ({"regions": ["Utrecht"]}, "regions[0]", "ISO 3166"),
    ({"children": [{"name": "Kim Test", "age": 9, "photo": "p_" + "0" * 24}]},
     "children[0].photo", "no photo"),
    ({"expires_at": in_hours(-1)}, "expires_at", "in the future"),
    ({"expires_at": "tomorrow"}, "expires_at", "RFC 3339"),
    ({"expires_at": "2026-11-29T14:10:00"}, "expires_at", "offset"),
    ({"contact": {"url": "javascript:alert(1)"}}, "contact.url", "http(s) URL"),
    ({"contact": {"url": "ftp://example.org"}}, "contact.url", "http(s) URL"),
    ({"kind": "lost_pet"}, "kind", "one of amber, missing_child"),
    ({"languages": ["nl", "xx"]}, "languages[1]", "one of"),
    ({"message": {"xx": "hallo"}}, "message.xx", "language"),
    ({"colour": "red"}, "colour", "unknown field"),
    ({"status": "active"}, "status", "set by the server"),
    ({"test": "yes"}, "test", "true or false"),
    ({"vehicles": [{"plate": "X" * 40}]}, "vehicles[0].plate", "at most 16"),
    ({"children": [{"name": f"Kind {i}", "age": 5} for i in range(4)]}, "children",
     "at most 3"),
    ({"policy_override": {"reason": ""}}, "policy_override.reason", "must not be empty"),
]


@pytest.mark.parametrize(("change", "field", "rule"), RULES, ids=[r[1] + ":" + r[2] for r in RULES])
async def test_every_rule_names_its_field(client, change, field, rule):
    response = await client.post("/v1/alerts", json=amber_alert(**change), headers=auth(EDITOR))
    error = await assert_refused(response, 422, field, rule)
    assert error["code"] == "validation_failed"
    listing = await client.get("/v1/alerts", headers=auth(VIEWER))
    assert (await listing.json())["alerts"] == []


async def test_control_characters_and_lone_surrogates_are_cleaned(client):
    alert = amber_alert(children=[{"name": "Kim\x00 Test\x1b", "age": 9}],
                        message={"nl": "Bel \ud800 nu\nof \u200dmorgen", "en": "Call\x0b 112"})
    created = await create(client, alert)
    assert created["children"][0]["name"] == "Kim Test"
    assert created["message"] == {"nl": "Bel \ufffd nu\nof \u200dmorgen", "en": "Call 112"}


async def test_family_abduction_with_override_is_accepted(client):
    alert = amber_alert(circumstance="family_abduction",
                        policy_override={"reason": "life in danger"})
    created = await create(client, alert, token=PUBLISHER)  # an override is a publisher's call
    assert created["policy_override"] == {"reason": "life in danger"}


async def test_missing_child_may_be_regional_without_suspect(client):
    alert = amber_alert(kind="missing_child", circumstance="family_abduction", regions=["NL-UT"],
                        suspects=[], vehicles=[], last_seen=None)
    assert (await create(client, alert))["kind"] == "missing_child"


async def test_malformed_json_is_400(client):
    response = await client.post("/v1/alerts", data=b'{"kind": "amber",',
                                 headers={**auth(EDITOR), "Content-Type": "application/json"})
    error = await assert_refused(response, 400)
    assert "not valid JSON" in error["message"]


async def test_json_that_is_not_an_object_is_400(client):
    response = await client.post("/v1/alerts", data=b"[1, 2]",
                                 headers={**auth(EDITOR), "Content-Type": "application/json"})
    await assert_refused(response, 400)


async def test_wrong_content_type_is_415(client):
    response = await client.post("/v1/alerts", data=b"kind=amber",
                                 headers={**auth(EDITOR), "Content-Type": "text/plain"})
    error = await assert_refused(response, 415)
    assert "application/json" in error["message"]


async def test_oversized_body_is_413(client):
    alert = amber_alert(message={"nl": "x" * 300_000})
    response = await client.post("/v1/alerts", json=alert, headers=auth(EDITOR))
    await assert_refused(response, 413)


async def test_patch_refuses_text_plain_and_accepts_merge_patch(client):
    draft = await create(client, amber_alert())
    response = await client.patch(f"/v1/alerts/{draft['id']}", data=b"{}",
                                  headers={**auth(EDITOR), "Content-Type": "text/plain"})
    await assert_refused(response, 415)


async def test_patch_breaking_a_rule_leaves_the_alert_unchanged(client):
    draft = await create(client, amber_alert())
    response = await client.patch(f"/v1/alerts/{draft['id']}",
                                  json={"children": [{"name": "Fleur Testkind", "age": 19}]},
                                  headers=auth(EDITOR))
    await assert_refused(response, 422, "children[0].age", "0 to 17")
    response = await client.get(f"/v1/alerts/{draft['id']}", headers=auth(VIEWER))
    assert await response.json() == draft


async def test_patch_cannot_change_server_fields(client):
    draft = await create(client, amber_alert())
    response = await client.patch(f"/v1/alerts/{draft['id']}", json={"version": 7},
                                  headers=auth(EDITOR))
    await assert_refused(response, 422, "version", "set by the server")


@pytest.mark.parametrize(("action", "body"), [
    ("publish", None), ("resolve", {"message": "found"}), ("cancel", {"reason": "twice"})])
async def test_transitions_from_the_wrong_state_are_409(client, action, body):
    alert = await publish(client, amber_alert())
    await client.post(f"/v1/alerts/{alert['id']}/cancel", json={"reason": "test"},
                      headers=auth(PUBLISHER))
    response = await client.post(f"/v1/alerts/{alert['id']}/{action}", json=body,
                                 headers=auth(PUBLISHER))
    error = await assert_refused(response, 409)
    assert "cancelled" in error["message"]


async def test_resolve_a_draft_is_409_and_patch_of_cancelled_is_409(client):
    draft = await create(client, amber_alert())
    response = await client.post(f"/v1/alerts/{draft['id']}/resolve", headers=auth(PUBLISHER))
    await assert_refused(response, 409)
    await client.post(f"/v1/alerts/{draft['id']}/cancel", json={"reason": "x"},
                      headers=auth(PUBLISHER))
    response = await client.patch(f"/v1/alerts/{draft['id']}", json={"test": True},
                                  headers=auth(PUBLISHER))
    await assert_refused(response, 409)


async def test_lenient_ingest_draft_is_checked_at_publish(client):
    """Ingest keeps what a message says; the police rules apply when staff publish it."""
    broken = amber_alert(expires_at=in_hours(-2),
                         children=[{"name": "Kim Test", "age": 19}])
    draft, _ = await client.app[ALERTS].create_ingested(
        broken, Actor("cap-ingest", "publisher"), Origin("cap", "x"))
    response = await client.post(f"/v1/alerts/{draft.id}/publish", headers=auth(PUBLISHER))
    error = await assert_refused(response, 422, "expires_at", "in the future")
    assert {d["field"] for d in error["details"]} == {"expires_at", "children[0].age"}
    response = await client.get(f"/v1/alerts/{draft.id}", headers=auth(VIEWER))
    assert (await response.json())["status"] == "draft"


async def test_cancel_needs_a_reason(client):
    draft = await create(client, amber_alert())
    response = await client.post(f"/v1/alerts/{draft['id']}/cancel", json={},
                                 headers=PUBLISHER_JSON)
    await assert_refused(response, 422, "reason", "required")


async def test_unknown_alert_is_404_and_unknown_route_is_json_404(client):
    response = await client.get("/v1/alerts/a_0000000000000000", headers=auth(VIEWER))
    await assert_refused(response, 404)
    response = await client.get("/v1/nothing-here")
    await assert_refused(response, 404)


async def test_unknown_status_filter_is_400(client):
    response = await client.get("/v1/alerts?status=active,sleeping", headers=auth(VIEWER))
    await assert_refused(response, 400)
