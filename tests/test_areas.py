"""Alert areas: checked on input (422 naming the field), carried through CAP, and a moved area
takes the alert off the screens it leaves."""

from __future__ import annotations

import re

import pytest
from support.alerts import missing_child_alert
from support.api import auth, create, feed, publish
from support.cap import CAP, assert_valid_cap, text
from support.config import EDITOR, KEY_A, PUBLISHER, VIEWER

from feedserver.interop.national import entry_fields

GRONINGEN_CIRCLE = {"lat": 53.2194, "lon": 6.5665, "radius_km": 25}
# A triangle over the city of Utrecht, as [lat, lon] points.
UTRECHT_TRIANGLE = [[52.05, 5.05], [52.15, 5.10], [52.06, 5.20]]


@pytest.mark.parametrize(("area", "field", "words"), [
    ({"circles": [{"lat": 91, "lon": 6.5, "radius_km": 5}]}, "area.circles[0].lat", "from -90"),
    ({"circles": [{"lat": 53, "lon": 181, "radius_km": 5}]}, "area.circles[0].lon", "180"),
    ({"circles": [{"lat": 53, "lon": 6, "radius_km": 0}]}, "area.circles[0].radius_km",
     "more than 0"),
    ({"circles": [{"lat": 53, "lon": 6, "radius_km": 5000}]}, "area.circles[0].radius_km",
     "300"),
    ({"circles": [{"lat": 53, "lon": 6, "radius_km": "5"}]}, "area.circles[0].radius_km",
     "number"),
    ({"circles": [{"lat": 53, "lon": 6}]}, "area.circles[0].radius_km", "number"),
    ({"polygons": [[[52.0, 5.0], [52.1, 5.1], [52.0, 5.0]]]}, "area.polygons[0]",
     "3 distinct"),
    ({"polygons": [[[52.0, 5.0], [52.1, 5.1], [52.0, 5.1], [52.1, 5.0]]]}, "area.polygons[0]",
     "cross"),
    ({"polygons": [[[52.0, 5.0], [52.1], [52.0, 5.1]]]}, "area.polygons[0][1]", "[lat, lon]"),
    ({}, "area", "at least one"),
    ({"squares": []}, "area.squares", "unknown"),
    ("Groningen", "area", "object"),
])
async def test_a_bad_area_is_a_422_naming_the_field(client, area, field, words):
    response = await client.post("/v1/alerts", json=missing_child_alert(area=area),
                                 headers=auth(EDITOR))
    assert response.status == 422
    details = (await response.json())["error"]["details"]
    assert any(d["field"] == field and words in d["message"] for d in details), details
    listed = await client.get("/v1/alerts", headers=auth(VIEWER))
    assert (await listed.json())["alerts"] == []


async def test_cap_round_trip_of_a_circle_and_a_polygon(client):
    area = {"circles": [GRONINGEN_CIRCLE], "polygons": [UTRECHT_TRIANGLE]}
    alert = await create(client, missing_child_alert(area=area, regions=["NL-GR", "NL-UT"]))
    response = await client.get(f"/v1/alerts/{alert['id']}/cap.xml", headers=auth(VIEWER))
    body = await response.read()
    info = assert_valid_cap(body).find(CAP + "info")
    assert text(info, "cap:area/cap:circle") == "53.2194,6.5665 25"
    assert text(info, "cap:area/cap:polygon") == \
        "52.05,5.05 52.15,5.1 52.06,5.2 52.05,5.05"
    assert [text(g, "cap:value") for g in info.iter(CAP + "geocode")] == ["NL-GR", "NL-UT"]

    ingested = await client.post("/v1/ingest/cap", data=body.replace(
        alert["id"].encode(), b"elsewhere-1"),
        headers={**auth(PUBLISHER), "Content-Type": "application/cap+xml"})
    assert ingested.status == 201, await ingested.text()
    copy = await ingested.json()
    assert copy["area"] == {"circles": [{**GRONINGEN_CIRCLE, "radius_km": 25.0}],
                            "polygons": [UTRECHT_TRIANGLE]}
    assert copy["regions"] == ["NL-GR", "NL-UT"]


async def test_moving_the_area_takes_the_alert_off_screens_it_leaves(client):
    alert = await publish(client, missing_child_alert(
        regions=["NL-UT"], area={"polygons": [UTRECHT_TRIANGLE]}))
    in_utrecht = {"at": "52.09,5.12"}
    assert [a["id"] for a in (await feed(client, "net-a", "utrecht", KEY_A))["alerts"]] == \
        [alert["id"]]
    assert [a["id"] for a in (await feed(client, "net-a", "landscape", KEY_A,
                                         **in_utrecht))["alerts"]] == [alert["id"]]
    response = await client.patch(f"/v1/alerts/{alert['id']}",
                                  json={"regions": ["NL-GR"],
                                        "area": {"circles": [GRONINGEN_CIRCLE],
                                                 "polygons": None}},
                                  headers=auth(PUBLISHER))
    assert response.status == 200, await response.text()
    assert (await feed(client, "net-a", "utrecht", KEY_A))["alerts"] == []
    assert (await feed(client, "net-a", "landscape", KEY_A, **in_utrecht))["alerts"] == []
    assert [a["id"] for a in (await feed(client, "net-a", "landscape", KEY_A,
                                         at="53.22,6.57"))["alerts"]] == [alert["id"]]


async def test_a_regional_alert_names_its_place_on_screen_and_in_its_headline(client):
    regional = await create(client, missing_child_alert(
        regions=["NL-GR"], area={"circles": [GRONINGEN_CIRCLE]}, languages=["nl", "en"],
        last_seen={"place": "Groningen, Grote Markt"}))
    assert regional["headline"] == {
        "nl": "Vermist Kind Alert (Groningen en omgeving): Daan Verzonnen (14)",
        "en": "Missing Child Alert (Groningen and surroundings): Daan Verzonnen (14)"}
    province = await create(client, missing_child_alert(regions=["NL-UT"]))
    assert province["headline"]["nl"] == \
        "Vermist Kind Alert (provincie Utrecht): Daan Verzonnen (14)"
    national = await create(client, missing_child_alert(regions=["NL"]))
    assert national["headline"]["nl"] == "Vermist Kind Alert: Daan Verzonnen (14)"

    async def page(alert: dict, profile: str) -> str:
        response = await client.get(
            f"/v1/alerts/{alert['id']}/preview/net-a/{profile}.html", headers=auth(VIEWER))
        assert response.status == 200, await response.text()
        # The words of the page, lines joined: a block's text wraps into one element a line.
        return " ".join(" ".join(re.findall(r">([^<>]+)<", await response.text())).split())

    landscape = await page(regional, "landscape")
    assert "Regio: Groningen en omgeving" in landscape
    assert "VERMIST KIND ALERT · Groningen" in landscape
    assert "Regio:" not in await page(national, "landscape")
    assert "VERMIST KIND ALERT ·" not in await page(national, "landscape")


@pytest.mark.parametrize(("area", "expected"), [
    ({"CircleKM": "25"}, 25.0),
    ({"CircleKM": None, "Circle": "12500"}, 12.5),  # metres
    ({"CircleKM": "0"}, None),                      # no usable circle: a national alert
    ({"CircleKM": "x"}, None),
])
def test_a_national_list_entry_becomes_a_circle_when_it_has_one(area, expected):
    fields = entry_fields({"AlertId": "9", "AlertLevel": "5", "Area": area, "Location": {
        "Description": "Groningen", "Latitude": "53.2194", "Longitude": "6.5665"}})
    if expected is None:
        assert (fields["area"], fields["regions"]) == (None, ["NL"])
    else:
        assert fields["area"]["circles"] == [{**GRONINGEN_CIRCLE, "radius_km": expected}]
        assert "NL-GR" in fields["regions"] and "NL" not in fields["regions"]


async def test_a_cap_circle_that_is_no_circle_is_refused_naming_it(client):
    response = await client.get(f"/v1/alerts/{(await create(client, missing_child_alert()))['id']}"
                                "/cap.xml", headers=auth(VIEWER))
    body = (await response.read()).replace(
        b"</areaDesc>", b"</areaDesc><circle>53.2,6.5 far</circle>")
    refused = await client.post("/v1/ingest/cap", data=body, headers={
        **auth(PUBLISHER), "Content-Type": "application/cap+xml"})
    assert refused.status == 422, await refused.text()
    details = (await refused.json())["error"]["details"]
    assert details[0]["field"] == "info.area.circle[0]"
