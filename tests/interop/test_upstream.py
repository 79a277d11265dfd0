"""The national JSON feed mirrored into alerts, against a local server serving such lists."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from support.api import auth, feed
from support.config import KEY_A, PUBLISHER, VIEWER
from support.samples import drawn_photo

from feedserver.app import create_app
from feedserver.appkeys import ALERTS, POLLERS
from feedserver.interop.national import children_from_title

CHILD = "Noor Verzonnen"


@dataclass
class NationalFeed:
    """What the national system serves; tests change `entries` or `raw` between polls."""

    entries: list[dict] = field(default_factory=list)
    raw: bytes | None = None
    status: int = 200
    requests: list[dict] = field(default_factory=list)
    photo_requests: int = 0

    async def list(self, request: web.Request) -> web.Response:
        body = self.raw if self.raw is not None else json.dumps(self.entries).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        self.requests.append(dict(request.headers))
        if self.status != 200:
            return web.Response(status=self.status)
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="application/json", headers={"ETag": etag})

    async def photo(self, request: web.Request) -> web.Response:
        self.photo_requests += 1
        return web.Response(body=drawn_photo(), content_type="application/octet-stream")


def entry(alert_id: str = "4711", message_id: str = "1", **changes) -> dict:
    data = {
        "AlertId": alert_id, "MessageId": message_id, "Sender": "Politie",
        "Sent": "1764338400", "State": "Actual", "Type": "Alert", "Scope": "Public",
        "AlertLevel": "10",
        "Location": {"Description": "Amersfoort", "Latitude": "52.15", "Longitude": "5.38"},
        "Message": {"Title": f"{CHILD} (8)", "Description": "Noor is ontvoerd bij het station.",
                    "DescriptionExt": "Ontvoerd", "Readmore_URL": "https://www.amberalert.nl/",
                    "Media_URL": None, "Media": {"Image": None, "SmallImage": None}},
        "Area": {"Description": "Nederland", "Circle": None, "CircleKM": None},
    }
    data.update(changes)
    return data


@pytest.fixture
async def national(aiohttp_server):
    source = NationalFeed()
    app = web.Application()
    app.router.add_get("/alerts.json", source.list)
    app.router.add_get("/photo/{name}", source.photo)
    server = await aiohttp_server(app)
    source.url = str(server.make_url("/alerts.json"))
    source.photo_url = str(server.make_url("/photo/noor.jpg"))
    return source


async def mirror_client(aiohttp_client, make_config, national, mode: str = "publish"):
    config = make_config(upstreams=[{"id": "national", "format": "national-json",
                                     "url": national.url, "interval_seconds": 3600,
                                     "mode": mode}])
    client = await aiohttp_client(create_app(config))
    poller = client.app[POLLERS]["national"]
    await asyncio.wait_for(poller.polled.wait(), 10)  # the poll at start-up has run
    return client, poller


async def mirrored(client) -> list[dict]:
    return [a.to_document() for a in await client.app[ALERTS].list()
            if a.origin.kind == "upstream"]


async def test_appears_changes_disappears(aiohttp_client, make_config, national):
    national.entries = [entry(Location=None,
                              Message={**entry()["Message"],
                                       "Media": {"Image": national.photo_url}})]
    client, poller = await mirror_client(aiohttp_client, make_config, national)
    (alert,) = await mirrored(client)
    assert alert["status"] == "active"  # published as it came: no suspect, vehicle or place
    assert alert["kind"] == "amber" and alert["circumstance"] == "stranger_abduction"
    assert alert["children"][0]["name"] == CHILD and alert["children"][0]["age"] == 8
    assert alert["children"][0]["photo"].startswith("p_")
    assert alert["message"] == {"nl": "Noor is ontvoerd bij het station."}
    assert alert["contact"]["url"] == "https://www.amberalert.nl/"
    assert alert["origin"] == {"kind": "upstream", "ref": "national:4711"}
    document = await feed(client, "net-a", "landscape", KEY_A)
    assert [a["id"] for a in document["alerts"]] == [alert["id"]]

    assert await poller.poll_once()
    assert national.requests[-1].get("If-None-Match")  # conditional: answered 304
    assert (await mirrored(client))[0]["version"] == alert["version"]

    national.entries = [entry(message_id="2", Message={
        **entry()["Message"], "Description": "Gezien in een rode auto.",
        "Media": {"Image": national.photo_url}})]
    assert await poller.poll_once()
    (updated,) = await mirrored(client)
    assert updated["id"] == alert["id"] and updated["version"] > alert["version"]
    assert updated["message"] == {"nl": "Gezien in een rode auto."}
    assert updated["last_seen"] == {"place": "Amersfoort", "at": None}
    assert updated["children"][0]["photo"] == alert["children"][0]["photo"]

    national.entries = []
    assert await poller.poll_once()
    (ended,) = await mirrored(client)
    assert ended["status"] == "cancelled"
    assert (await feed(client, "net-a", "landscape", KEY_A))["alerts"] == []


async def test_malformed_answer_keeps_last_good_state(aiohttp_client, make_config, national,
                                                      caplog):
    national.entries = [entry(), entry("4712", AlertLevel="5", Message={
        **entry()["Message"], "Title": "Sem Bedacht (15)", "DescriptionExt": "Vermist"})]
    client, poller = await mirror_client(aiohttp_client, make_config, national)
    before = sorted((a["id"], a["status"], a["version"]) for a in await mirrored(client))
    assert [status for _, status, _ in before] == ["active", "active"]

    caplog.set_level(logging.INFO, logger="feedserver")
    for raw in (b'{"not": "a list"}', b"[{\"AlertId\": ", b'[{"MessageId": "3"}]',
                b"[" * 100_000 + b"]" * 100_000, b'[{"AlertId": ' + b"7" * 5_000 + b"}]"):
        national.raw = raw
        caplog.clear()
        assert not await poller.poll_once()
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1 and "malformed answer" in lines[0], lines
        assert "last good state" in lines[0] and CHILD not in lines[0]
    national.raw, national.status = None, 503
    caplog.clear()
    assert not await poller.poll_once()
    assert [r.getMessage() for r in caplog.records] == [
        "upstream national: answered HTTP 503; keeping the last good state; retry 6"]
    assert poller.failures == 6 and poller.delay() == 900  # 3600 s doubled, capped at 15 min
    assert sorted((a["id"], a["status"], a["version"]) for a in await mirrored(client)) == before

    national.status = 200
    national.entries = [entry()]
    assert await poller.poll_once()
    assert poller.failures == 0 and poller.delay() == 3600
    assert sorted(a["status"] for a in await mirrored(client)) == ["active", "cancelled"]
    assert all(CHILD not in r.getMessage() for r in caplog.records)


async def test_vermist_kind_and_test_state(aiohttp_client, make_config, national):
    national.entries = [entry(AlertLevel="5", State="Test", Message={
        "Title": "Anna Fictief (5) en Bram Fictief (7)", "Description": None,
        "DescriptionExt": "Vermist", "Readmore_URL": None, "Media": None})]
    client, _ = await mirror_client(aiohttp_client, make_config, national)
    (alert,) = await mirrored(client)
    assert alert["kind"] == "missing_child" and alert["test"] is True
    assert alert["circumstance"] == "unknown"
    assert [(c["name"], c["age"]) for c in alert["children"]] == [("Anna Fictief", 5),
                                                               ("Bram Fictief", 7)]
    assert alert["message"] == {}


async def test_draft_mode_and_cancel_type(aiohttp_client, make_config, national):
    national.entries = [entry()]
    client, poller = await mirror_client(aiohttp_client, make_config, national, mode="draft")
    (alert,) = await mirrored(client)
    assert alert["status"] == "draft"
    response = await client.get(f"/v1/alerts/{alert['id']}", headers=auth(VIEWER))
    assert (await response.json())["origin"]["ref"] == "national:4711"

    national.entries = [entry(message_id="2", Type="Cancel")]
    assert await poller.poll_once()
    (cancelled,) = await mirrored(client)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "cancelled by the upstream list"


async def test_expiry_is_kept_ahead_while_listed(aiohttp_client, make_config, national):
    national.entries = [entry()]
    client, poller = await mirror_client(aiohttp_client, make_config, national)
    (alert,) = await mirrored(client)
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat(timespec="seconds")
    response = await client.patch(f"/v1/alerts/{alert['id']}", json={"expires_at": soon},
                                  headers=auth(PUBLISHER))
    assert response.status == 200
    national.entries = [entry(Scope="Public ")]  # a new ETag, the same MessageId
    assert await poller.poll_once()
    (kept,) = await mirrored(client)
    left = datetime.fromisoformat(kept["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=23) < left <= timedelta(hours=24)


@pytest.mark.parametrize(("title", "children"), [
    ("Noor Verzonnen (8)", [("Noor Verzonnen", 8)]),
    ("Noor Verzonnen (8 jaar)", [("Noor Verzonnen", 8)]),
    ("Anna Fictief (5), Bram Fictief (7) en Cas Fictief (9)",
     [("Anna Fictief", 5), ("Bram Fictief", 7), ("Cas Fictief", 9)]),
    ("Noor Verzonnen", [("Noor Verzonnen", None)]),
    (None, []),
])
def test_children_from_the_title(title, children):
    assert [(c["name"], c.get("age")) for c in children_from_title(title)] == children


async def test_unreachable_upstream_backs_off(aiohttp_client, make_config, national, caplog):
    national.url = "http://127.0.0.1:1/alerts.json"  # nothing listens on port 1
    client, poller = await mirror_client(aiohttp_client, make_config, national)
    assert poller.failures == 1 and poller.delay() == 900
    assert "unreachable (ClientConnectorError)" in caplog.records[-1].getMessage()
    assert await mirrored(client) == []


def titled(alert_id: str, title: str, **changes) -> dict:
    return entry(alert_id, **changes, Message={**entry()["Message"], "Title": title})


async def test_backtracking_text_neither_stalls_nor_breaks_the_mirror(aiohttp_client, make_config,
                                                                     national):
    """A one-letter title, thousands of spaces and a letter once held the event loop for
    seconds (2,200 spaces: 5 s; 4,000: 33 s; the time grew with the cube of the length); so
    did an unterminated URL. Before the fix this test did not finish."""
    long_url = "https://" + "a" * 200_000 + " x"
    national.entries = [
        titled("1", "a" + " " * 2_200 + "b"),
        titled("2", "a" + " " * 4_000 + "b"),
        entry("3", Message={**entry()["Message"], "Title": "a" + " " * 200_000 + "b",
                            "Readmore_URL": long_url, "Media": {"Image": long_url}}),
        titled("4", "Anna Fictief" + " " * 50 + "(5) en Bram Fictief (7)"),
    ]
    client, poller = await mirror_client(aiohttp_client, make_config, national)
    assert poller.failures == 0
    health = await client.get("/healthz")
    assert health.status == 200
    alerts = {a["origin"]["ref"]: a for a in await mirrored(client)}
    assert sorted(alerts) == [f"national:{n}" for n in "1234"]
    for ref in ("national:1", "national:2", "national:3"):
        (child,) = alerts[ref]["children"]
        assert child["name"] == "a" and child["age"] is None
    assert alerts["national:3"]["contact"]["url"] != long_url
    assert [(c["name"], c["age"]) for c in alerts["national:4"]["children"]] == [
        ("Anna Fictief", 5), ("Bram Fictief", 7)]


async def test_an_odd_value_skips_only_its_entry(aiohttp_client, make_config, national, caplog):
    national.entries = [entry(), titled("4712", "Sem Bedacht (15)", AlertLevel="5")]
    client, poller = await mirror_client(aiohttp_client, make_config, national)
    before = {a["origin"]["ref"]: a for a in await mirrored(client)}
    assert sorted(before) == ["national:4711", "national:4712"]

    caplog.set_level(logging.INFO, logger="feedserver")
    caplog.clear()
    national.entries = [entry(message_id="2", AlertLevel="²"),
                        titled("4712", "Sem Bedacht (16)", message_id="2", AlertLevel="5"),
                        titled("4713", "Ilse Verzonnen (11)", AlertLevel="5")]
    assert await poller.poll_once()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == ["upstream national: entry 4711 skipped: AlertLevel is not a number; "
                     "its alert stays as it was"], lines
    after = {a["origin"]["ref"]: a for a in await mirrored(client)}
    assert sorted(after) == ["national:4711", "national:4712", "national:4713"]
    kept = after["national:4711"]
    assert (kept["status"], kept["version"]) == ("active", before["national:4711"]["version"])
    assert after["national:4712"]["children"][0]["age"] == 16
    assert after["national:4713"]["status"] == "active"
    assert all(CHILD not in line for line in lines)
