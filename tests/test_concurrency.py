"""Concurrent ingest and concurrent edits: one alert per origin, and no silent lost update."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3

from support.alerts import amber_alert
from support.api import auth, create
from support.cap import message, with_child_and_photo
from support.config import EDITOR, PUBLISHER, VIEWER
from support.samples import drawn_photo

from feedserver.alerts.model import Origin
from feedserver.appkeys import ALERTS
from feedserver.auth import Actor
from feedserver.store.sqlite import SQLiteStore

CAP_XML = {**auth(PUBLISHER), "Content-Type": "application/cap+xml"}


async def test_the_same_origin_makes_one_alert(client):
    """The insert path itself refuses a second alert for an origin and gives the first."""
    alerts = client.app[ALERTS]
    actor = Actor("pia-publisher", "publisher")
    origin = Origin("cap", "politie.nl,NL-POL-1")
    first, made = await alerts.create_ingested(amber_alert(), actor, origin)
    again, made_again = await alerts.create_ingested(amber_alert(), actor, origin)
    assert (made, made_again) == (True, False)
    assert again.id == first.id
    assert [a.id for a in await alerts.list()] == [first.id]


async def test_identical_cap_alerts_at_once_make_one_draft(client):
    photo = base64.b64encode(drawn_photo()).decode()
    body = with_child_and_photo(f"<derefUri>{photo}</derefUri>")
    answers = await asyncio.gather(*(client.post("/v1/ingest/cap", data=body, headers=CAP_XML)
                                      for _ in range(6)))
    assert sorted(a.status for a in answers) == [200] * 5 + [201]
    ids = {(await a.json())["id"] for a in answers}
    listed = await client.get("/v1/alerts", headers=auth(VIEWER))
    assert [a["id"] for a in (await listed.json())["alerts"]] == list(ids)

    cancel = message(msg_type="Cancel", identifier="NL-POL-2", infos=(), references="NL-POL-1")
    response = await client.post("/v1/ingest/cap", data=cancel, headers=CAP_XML)
    assert response.status == 200
    listed = await client.get("/v1/alerts?status=draft,active", headers=auth(VIEWER))
    assert (await listed.json())["alerts"] == []


async def test_a_store_with_duplicates_from_before_still_opens(tmp_path):
    """Files written before the unique key may hold duplicate origins: the oldest keeps the
    origin, the others stay readable under a marked ref."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE alerts (id TEXT PRIMARY KEY, version INTEGER NOT NULL,
                status TEXT NOT NULL, origin_kind TEXT NOT NULL, origin_ref TEXT,
                created_at TEXT NOT NULL, doc TEXT NOT NULL);
            CREATE INDEX alerts_origin ON alerts (origin_kind, origin_ref);""")
        for n in (1, 2, 3):
            doc = json.dumps({"id": f"a_{n}", "origin": {"kind": "cap", "ref": "s,x"}})
            db.execute("INSERT INTO alerts VALUES (?, 1, 'draft', 'cap', 's,x', ?, ?)",
                       (f"a_{n}", f"2026-11-28T14:00:0{n}+00:00", doc))
        for n in (4, 5):  # staff alerts: no ref
            db.execute("INSERT INTO alerts VALUES (?, 1, 'draft', 'staff', NULL, ?, ?)",
                       (f"a_{n}", f"2026-11-28T14:00:0{n}+00:00", json.dumps({"id": f"a_{n}"})))
    store = SQLiteStore(path)
    await store.open()
    try:
        assert (await store.find_by_origin("cap", "s,x")).id == "a_1"
        assert len(await store.list_alerts()) == 5
    finally:
        await store.close()


async def test_alert_answers_carry_their_version_as_etag(client):
    created = await client.post("/v1/alerts", json=amber_alert(), headers=auth(EDITOR))
    draft = await created.json()
    assert created.headers["ETag"] == '"v1"'
    path = f"/v1/alerts/{draft['id']}"
    assert (await client.get(path, headers=auth(VIEWER))).headers["ETag"] == '"v1"'
    patched = await client.patch(path, json={"message": "Bel 112."}, headers=auth(EDITOR))
    assert patched.headers["ETag"] == '"v2"'
    published = await client.post(path + "/publish", headers=auth(PUBLISHER))
    assert published.headers["ETag"] == '"v3"' == f'"v{(await published.json())["version"]}"'


async def test_two_publishers_editing_at_once_do_not_overwrite_each_other(client):
    draft = await create(client, amber_alert())
    path = f"/v1/alerts/{draft['id']}"
    active = await client.post(path + "/publish", headers=auth(PUBLISHER))
    seen = active.headers["ETag"]  # both publishers read this version

    first = await client.patch(path, json={"message": "Gezien in Zeist."},
                               headers={**auth(PUBLISHER), "If-Match": seen})
    assert first.status == 200, await first.text()
    second = await client.patch(path, json={"message": "Gezien in Baarn."},
                                headers={**auth(PUBLISHER), "If-Match": seen})
    body = await second.json()
    assert second.status == 412, body
    assert body["error"]["code"] == "precondition_failed"
    assert second.headers["ETag"] == first.headers["ETag"]
    current = await (await client.get(path, headers=auth(VIEWER))).json()
    assert current["message"]["nl"] == "Gezien in Zeist."

    for action, payload in (("resolve", {"message": "Gevonden."}), ("cancel", {"reason": "x"})):
        stale = await client.post(f"{path}/{action}", json=payload,
                                  headers={**auth(PUBLISHER), "If-Match": seen})
        assert stale.status == 412, action
    weak = await client.patch(path, json={"message": "Zwak."},
                              headers={**auth(PUBLISHER), "If-Match": f"W/{first.headers['ETag']}"})
    assert weak.status == 412  # If-Match compares strongly
    unchanged = await (await client.get(path, headers=auth(VIEWER))).json()
    assert (unchanged["version"], unchanged["status"]) == (current["version"], "active")

    listed = f'"v1", {first.headers["ETag"]}'
    resolved = await client.post(path + "/resolve", json={"message": "Gevonden."},
                                 headers={**auth(PUBLISHER), "If-Match": listed})
    assert resolved.status == 200, await resolved.text()


async def test_if_match_on_publish_and_star(client):
    draft = await create(client, amber_alert())
    path = f"/v1/alerts/{draft['id']}"
    edited = await client.patch(path, json={"message": "Bel 112."}, headers=auth(EDITOR))
    stale = await client.post(path + "/publish", headers={**auth(PUBLISHER), "If-Match": '"v1"'})
    assert stale.status == 412  # the publisher had not seen the editor's change
    assert (await (await client.get(path, headers=auth(VIEWER))).json())["status"] == "draft"
    star = await client.post(path + "/publish", headers={**auth(PUBLISHER), "If-Match": "*"})
    assert star.status == 200 and edited.headers["ETag"] == '"v2"'
