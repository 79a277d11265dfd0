"""The typed alert: the stored document in and out unchanged to the byte (so answers, ETags,
feeds, CAP and signatures stay what they were), picklable for the render workers, and the
questions every part asks of an alert answered in one place."""

from __future__ import annotations

import pickle

from support.alerts import amber_alert
from support.api import auth, publish
from support.config import PUBLISHER, VIEWER

from feedserver.alerts.model import Alert, Place, Shown
from feedserver.formats import compact_json

# The order of a stored alert's keys since documents were first written: answers keep it.
DOCUMENT_KEYS = [
    "id", "status", "version", "headline", "kind", "circumstance", "test", "regions", "area",
    "languages", "children", "suspects", "vehicles", "last_seen", "message", "contact",
    "expires_at", "policy_override", "created_at", "updated_at", "published_at", "ended_at",
    "resolution", "cancel_reason", "origin", "warnings", "created_by", "edited_by",
]
CHILD = {"name": "Invented Testchild", "age": 9, "sex": "female", "height_cm": 134,
         "description": {"nl": "Blond haar"}, "clothing": {}, "photo": "p_" + "1" * 24}
STORED = {
    "id": "a_0123456789abcdef", "status": "resolved", "version": 4,
    "headline": {"nl": "Gevonden: Invented Testchild (9)"}, "kind": "amber",
    "circumstance": "stranger_abduction", "test": False, "regions": ["NL"], "area": None,
    "languages": ["nl"], "children": [CHILD],
    "suspects": [{"name": None, "description": {"nl": "Man"}, "photo": "p_" + "0" * 24}],
    "vehicles": [{"make": "Volkswagen", "model": "Golf", "colour": {"nl": "blauw"},
                  "plate": "12-ABC-3", "country": "NL"}],
    "last_seen": {"place": "Utrecht", "at": "2026-11-28T13:10:00+00:00"},
    "message": {"nl": "Bel 112"}, "contact": {"phone": "0800-6070", "url": "https://x.test"},
    "expires_at": "2026-11-29T13:10:00+00:00", "policy_override": None,
    "created_at": "2026-11-28T13:00:00+00:00", "updated_at": "2026-11-28T15:00:00+00:00",
    "published_at": "2026-11-28T13:20:00+00:00", "ended_at": "2026-11-28T15:00:00+00:00",
    "resolution": {"message": {"nl": "Gevonden"}, "at": "2026-11-28T15:00:00+00:00"},
    "cancel_reason": None, "origin": {"kind": "cap", "ref": "politie.nl,NL-1"},
    "warnings": [{"field": "message.en", "message": "missing translation"}],
    "created_by": "eva-editor", "edited_by": "pia-publisher",
}


def same_bytes(doc: dict) -> bool:
    return compact_json(Alert.from_document(doc).to_document()) == compact_json(doc)


def test_a_stored_document_comes_back_byte_for_byte():
    assert list(STORED) == DOCUMENT_KEYS
    assert same_bytes(STORED)


def test_documents_from_before_authors_and_after_a_purge_come_back_as_they_were():
    legacy = {k: v for k, v in STORED.items() if k not in ("created_by", "edited_by")}
    assert same_bytes(legacy)
    purged = {**STORED, "children": [], "suspects": [], "vehicles": [], "last_seen": None,
              "resolution": {"message": {}, "at": STORED["ended_at"]},
              "reach": {"screens": 12, "networks": ["net-a"]},
              "purged_at": "2026-12-28T15:00:00+00:00"}
    assert same_bytes(purged)
    assert Alert.from_document(purged).is_purged and not Alert.from_document(STORED).is_purged


async def test_answers_keep_the_stored_order_of_keys(client):
    published = await publish(client, amber_alert())
    resolved = await client.post(f"/v1/alerts/{published['id']}/resolve",
                                 headers=auth(PUBLISHER), json={"message": "Gevonden"})
    assert resolved.status == 200
    answer = await (await client.get(f"/v1/alerts/{published['id']}",
                                     headers=auth(VIEWER))).json()
    assert list(answer) == [*DOCUMENT_KEYS, "may_not_publish"]
    assert list(answer["resolution"]) == ["message", "at"]
    assert list(answer["children"][0]) == list(CHILD)


def test_photo_ids_are_the_childrens_and_suspects_sorted_once_each():
    alert = Alert.from_document({**STORED, "children": [CHILD, CHILD]})
    assert alert.photo_ids() == ["p_" + "0" * 24, "p_" + "1" * 24]


def test_models_pickle_for_the_render_workers():
    alert = Alert.from_document(STORED)
    shown = alert.shown(Place("Utrecht", {"nl": "Utrecht en omgeving"}))
    assert pickle.loads(pickle.dumps(alert)) == alert
    assert pickle.loads(pickle.dumps(shown)) == shown


def test_a_creative_shows_a_found_card_as_found_and_nothing_of_the_rest():
    shown = Alert.from_document(STORED).shown(None)
    assert shown.is_found and shown.place is None
    assert set(shown.to_document()) == {
        "kind", "test", "status", "languages", "headline", "children", "suspects", "vehicles",
        "last_seen", "message", "contact", "resolution", "place"}
    cancelled = Alert.from_document({**STORED, "status": "cancelled"}).shown(None)
    assert cancelled.status == "active"  # a creative knows only shown or found
    assert Shown.from_document({"kind": "amber", "languages": ["nl"]}).children == ()
