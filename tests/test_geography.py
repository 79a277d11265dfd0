"""Reach by place: a regional alert reaches only the screens in its area (issue 11).

A mirrored national list holds a national AMBER Alert and a Vermist Kind Alert for 25 km around
Groningen; feeds, Atom/RSS, streams and webhooks must each tell a screen only what reaches it.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from support.api import auth, feed
from support.config import PUBLISHER
from support.push import SseReader
from support.webhooks import Receiver, verified

from feedserver.app import create_app
from feedserver.appkeys import ALERTS, FEEDS, POLLERS

KEY = "key-geo-network"
GRONINGEN = {"lat": 53.2194, "lon": 6.5665}
INSIDE = "53.30,6.70"       # Bedum/Winsum side of the circle, about 12 km from the centre
MAASTRICHT = "50.8514,5.6909"
PROFILES = {
    "in-groningen": {"location": GRONINGEN},
    "in-utrecht": {"location": {"lat": 52.0907, "lon": 5.1214}},
    "limburg": {"regions": ["NL-LI"]},
    "groningen": {"regions": ["NL-GR"]},
    "national": {"regions": ["NL"]},
}


def national_entry(alert_id: str, level: str, title: str, location: dict, area: dict) -> dict:
    return {"AlertId": alert_id, "MessageId": "1", "Sender": "Politie", "Sent": "1764338400",
            "State": "Actual", "Type": "Alert", "Scope": "Public", "AlertLevel": level,
            "Location": location,
            "Message": {"Title": title, "Description": "Wie heeft dit kind gezien?",
                        "DescriptionExt": "Ontvoerd" if level == "10" else "Vermist",
                        "Readmore_URL": "https://www.politie.nl/vermist", "Media": None},
            "Area": area}


NATIONAL_LIST = [
    national_entry("amber-1", "10", "Fenna Verzonnen (7)",
                   {"Description": "Amersfoort", "Latitude": "52.15", "Longitude": "5.38"},
                   {"Description": "Nederland", "Circle": None, "CircleKM": None}),
    national_entry("vka-1", "5", "Teun Bedacht (12)",
                   {"Description": "Groningen", "Latitude": "53.2194", "Longitude": "6.5665"},
                   {"Description": "Groningen en omgeving", "Circle": None, "CircleKM": "25"}),
]


@pytest.fixture
async def mirrored(aiohttp_client, aiohttp_server, make_config):
    """A server mirroring the list, with a webhook receiver; (client, receiver, alerts)."""
    async def national_list(request: web.Request) -> web.Response:
        return web.json_response(NATIONAL_LIST)

    upstream = web.Application()
    upstream.router.add_get("/alerts.json", national_list)
    upstream_server = await aiohttp_server(upstream)
    hook = Receiver()
    hooked = web.Application()
    hooked.router.add_post("/hook", hook.handle)
    hook_server = await aiohttp_server(hooked)
    config = make_config(
        networks=[{"id": "geo", "name": "Geo screens", "keys": [KEY],
                   "webhook": {"url": str(hook_server.make_url("/hook")),
                               "secret": "hook-secret-0001", "format": "json"},
                   "profiles": [{"id": name, "size": "1280x720", **facts}
                                for name, facts in PROFILES.items()]}],
        upstreams=[{"id": "national", "format": "national-json", "mode": "publish",
                    "url": str(upstream_server.make_url("/alerts.json")),
                    "interval_seconds": 3600}])
    client = await aiohttp_client(create_app(config))
    await asyncio.wait_for(client.app[POLLERS]["national"].polled.wait(), 10)
    by_kind = {a.kind: a.to_document() for a in await client.app[ALERTS].list(["active"])}
    return client, hook, by_kind["amber"], by_kind["missing_child"]


async def shown(client, profile: str, **params: str) -> set[str]:
    return {a["id"] for a in (await feed(client, "geo", profile, KEY, **params))["alerts"]}


async def test_the_regional_alert_reaches_only_screens_in_its_circle(mirrored):
    client, _, amber, vka = mirrored
    assert vka["area"] == {"circles": [{**GRONINGEN, "radius_km": 25.0}], "polygons": []}
    assert "NL-GR" in vka["regions"] and "NL" not in vka["regions"]
    assert "NL-LI" not in vka["regions"] and "NL-UT" not in vka["regions"]
    assert amber["regions"] == ["NL"] and amber["area"] is None

    both, only_amber = {amber["id"], vka["id"]}, {amber["id"]}
    assert await shown(client, "in-groningen") == both
    assert await shown(client, "in-utrecht") == only_amber
    assert await shown(client, "limburg") == only_amber
    assert await shown(client, "groningen") == both
    assert await shown(client, "national") == only_amber
    assert await shown(client, "national", at=INSIDE) == both
    assert await shown(client, "national", at=MAASTRICHT) == only_amber
    assert await shown(client, "in-utrecht", at=INSIDE) == both  # ?at= wins over location
    assert await shown(client, "groningen", at=MAASTRICHT) == only_amber


async def test_thousands_of_positions_share_a_handful_of_documents(mirrored):
    client, _, amber, vka = mirrored
    before = client.app[FEEDS].cached_documents
    etags: dict[frozenset[str], set[str]] = {}
    for i in range(30):
        for j in range(30):  # 900 positions from Drenthe to the Wadden, 53.0-53.6 N 6.2-7.1 E
            response = await client.get("/v1/feeds/geo/national", params={
                "key": KEY, "at": f"{53.0 + i * 0.02:.3f},{6.2 + j * 0.03:.3f}"})
            alerts = frozenset(a["id"] for a in (await response.json())["alerts"])
            etags.setdefault(alerts, set()).add(response.headers["ETag"])
    assert set(etags) == {frozenset({amber["id"]}), frozenset({amber["id"], vka["id"]})}
    assert all(len(tags) == 1 for tags in etags.values())
    assert client.app[FEEDS].cached_documents - before <= 2


async def test_rss_and_atom_tell_a_screen_only_what_reaches_it(mirrored):
    client, *_ = mirrored
    for kind in ("rss", "atom"):
        inside = await client.get(f"/v1/feeds/geo/national/{kind}", params={"key": KEY,
                                                                          "at": INSIDE})
        far = await client.get(f"/v1/feeds/geo/national/{kind}", params={"key": KEY,
                                                                       "at": MAASTRICHT})
        assert inside.status == far.status == 200
        inside_text, far_text = await inside.text(), await far.text()
        assert "Teun Bedacht" in inside_text and "Fenna Verzonnen" in inside_text
        assert "Teun Bedacht" not in far_text and "Fenna Verzonnen" in far_text
    bad = await client.get("/v1/feeds/geo/national", params={"key": KEY, "at": "91,5"})
    assert bad.status == 400
    assert (await bad.json())["error"]["details"][0]["field"] == "at"


async def test_streams_and_webhooks_follow_the_same_reach(mirrored):
    client, hook, amber, vka = mirrored
    await hook.wait_for(lambda: len(hook.delivered) == 7)
    heard = {(e["profile"], e["alert"]["id"]) for e in map(verified, hook.delivered)}
    assert heard == {(p, amber["id"]) for p in PROFILES} | {
        ("in-groningen", vka["id"]), ("groningen", vka["id"])}

    async def stream(at: str) -> SseReader:
        response = await client.get("/v1/feeds/geo/national/events",
                                    params={"key": KEY, "at": at, "since": "0"})
        assert response.status == 200
        return SseReader(response)

    inside, far = await stream(INSIDE), await stream(MAASTRICHT)
    assert {(await inside.next())[2]["alert"]["id"] for _ in range(2)} == {amber["id"], vka["id"]}
    assert (await far.next())[2]["alert"]["id"] == amber["id"]
    for alert in (vka, amber):
        response = await client.post(f"/v1/alerts/{alert['id']}/cancel",
                                     json={"reason": "test"}, headers=auth(PUBLISHER))
        assert response.status == 200, await response.text()
    assert [(kind, env["alert"]["id"]) for _, kind, env in
            [await inside.next(), await inside.next()]] == [
        ("alert.cancelled", vka["id"]), ("alert.cancelled", amber["id"])]
    _, kind, envelope = await far.next()
    assert (kind, envelope["alert"]["id"]) == ("alert.cancelled", amber["id"])
