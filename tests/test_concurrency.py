"""Concurrent ingest and concurrent edits: one alert per origin, and no silent lost update."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3

from support.alerts import amber_alert
from support.api import auth
from support.cap import message, with_child_and_photo
from support.config import PUBLISHER, VIEWER
from support.samples import drawn_photo

from feedserver.appkeys import ALERTS
from feedserver.auth import Actor
from feedserver.store.sqlite import SQLiteStore

CAP_XML = {**auth(PUBLISHER), "Content-Type": "application/cap+xml"}


async def test_the_same_origin_makes_one_alert(client):
    """The insert path itself refuses a second alert for an origin and gives the first."""
    alerts = client.app[ALERTS]
    actor = Actor("pia-publisher", "publisher")
    origin = {"kind": "cap", "ref": "politie.nl,NL-POL-1"}
    first, made = await alerts.create_ingested(amber_alert(), actor, origin)
    again, made_again = await alerts.create_ingested(amber_alert(), actor, origin)
    assert (made, made_again) == (True, False)
    assert again["id"] == first["id"]
    assert [a["id"] for a in await alerts.list()] == [first["id"]]


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
        assert (await store.find_by_origin("cap", "s,x"))["id"] == "a_1"
        assert len(await store.list_alerts()) == 5
    finally:
        await store.close()
