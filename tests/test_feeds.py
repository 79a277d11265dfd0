"""Poll feeds: filters, order, validity, ETags and receipts."""

from __future__ import annotations

from datetime import datetime, timedelta

from support.alerts import amber_alert, missing_child_alert
from support.api import auth, feed, publish
from support.config import ADMIN, KEY_A, KEY_B, PUBLISHER, VIEWER

from feedserver.appkeys import RECEIPTS


async def test_unchanged_feed_answers_304_and_every_change_a_new_etag(client):
    url = f"/v1/feeds/net-a/landscape?key={KEY_A}&screen=s-1"
    alert = {}

    async def publish_one():
        alert.update(await publish(client, amber_alert()))

    async def update():
        await client.patch(f"/v1/alerts/{alert['id']}", json={"message": "Nieuwe informatie"},
                           headers=auth(PUBLISHER))

    async def resolve():
        await client.post(f"/v1/alerts/{alert['id']}/resolve", headers=auth(PUBLISHER))

    first = await client.get(url)
    seen = [first.headers["ETag"]]
    assert first.status == 200 and seen[0].startswith('"') and seen[0].endswith('"')
    for change in (publish_one, update, resolve):
        unchanged = await client.get(url, headers={"If-None-Match": seen[-1]})
        assert unchanged.status == 304 and unchanged.headers["ETag"] == seen[-1]
        assert await unchanged.read() == b""
        await change()
        changed = await client.get(url, headers={"If-None-Match": seen[-1]})
        assert changed.status == 200
        assert changed.headers["ETag"] not in seen
        seen.append(changed.headers["ETag"])
    assert len(seen) == 4


async def test_feed_document_shape_and_validity(client):
    alert = await publish(client, amber_alert())
    document = await feed(client, "net-a", "landscape", KEY_A)
    assert document["network"] == "net-a" and document["profile"] == "landscape"
    assert document["size"] == "1920x1080" and document["state"] == "alert"
    assert 24 <= document["poll_after_seconds"] <= 36
    (entry,) = document["alerts"]
    assert entry["id"] == alert["id"] and entry["version"] == alert["version"]
    assert entry["headline"] == {"nl": "AMBER Alert: Fleur Testkind (9)",
                                 "en": "AMBER Alert: Fleur Testkind (9)"}
    valid_until = datetime.fromisoformat(entry["valid_until"])
    generated = datetime.fromisoformat(document["generated_at"])
    assert generated + timedelta(seconds=900) <= valid_until
    assert valid_until <= generated + timedelta(seconds=900 + 300)
    assert valid_until <= datetime.fromisoformat(entry["expires_at"])


async def test_headline_only_in_the_profile_languages(client):
    await publish(client, amber_alert())
    document = await feed(client, "net-b", "atm", KEY_B)
    assert document["alerts"][0]["headline"] == {"en": "AMBER Alert: Fleur Testkind (9)"}


async def test_order_amber_then_missing_child_then_found_newest_first(client):
    old_amber = await publish(client, amber_alert())
    found = await publish(client, missing_child_alert(regions=["NL"]))
    await client.post(f"/v1/alerts/{found['id']}/resolve", headers=auth(PUBLISHER))
    missing = await publish(client, missing_child_alert(regions=["NL"]))
    new_amber = await publish(client, amber_alert())
    document = await feed(client, "net-a", "landscape", KEY_A)
    assert [(a["id"], a["status"]) for a in document["alerts"]] == [
        (new_amber["id"], "active"), (old_amber["id"], "active"),
        (missing["id"], "active"), (found["id"], "resolved")]


async def test_kind_region_and_test_filters(client):
    regional = await publish(client, missing_child_alert(regions=["NL-UT"]))
    test_alert = await publish(client, amber_alert(test=True))
    assert test_alert["headline"]["nl"].startswith("TEST ")

    amber_only = await feed(client, "net-a", "amber-only", KEY_A)
    assert amber_only["alerts"] == []
    utrecht = await feed(client, "net-a", "utrecht", KEY_A)
    assert [a["id"] for a in utrecht["alerts"]] == [regional["id"]]
    tests = await feed(client, "net-a", "tests", KEY_A)
    # A regional alert is never shown nationwide: "tests" is listed only as NL.
    assert {a["id"] for a in tests["alerts"]} == {test_alert["id"]}
    assert next(a for a in tests["alerts"] if a["id"] == test_alert["id"])["test"] is True

    in_utrecht = await feed(client, "net-a", "landscape", KEY_A, region="NL-UT")
    assert [a["id"] for a in in_utrecht["alerts"]] == [regional["id"]]
    in_groningen = await feed(client, "net-a", "landscape", KEY_A, region="NL-GR")
    assert in_groningen["alerts"] == []


async def test_bad_screen_or_region_is_400(client):
    response = await client.get("/v1/feeds/net-a/landscape",
                                params={"key": KEY_A, "region": "utrecht"})
    assert response.status == 400
    assert (await response.json())["error"]["details"][0]["field"] == "region"
    response = await client.get("/v1/feeds/net-a/landscape",
                                params={"key": KEY_A, "screen": "a b"})
    assert response.status == 400


async def test_screens_have_their_own_poll_interval(client):
    intervals = set()
    for i in range(40):
        document = await feed(client, "net-a", "landscape", KEY_A, screen=f"screen-{i}")
        intervals.add(document["poll_after_seconds"])
        again = await feed(client, "net-a", "landscape", KEY_A, screen=f"screen-{i}")
        assert again["poll_after_seconds"] == document["poll_after_seconds"]
    assert len(intervals) >= 4


async def test_receipts_count_each_screen_once_per_profile(client):
    alert = await publish(client, amber_alert())
    for screen in ("s-1", "s-2", "s-1", "s-1"):
        await feed(client, "net-a", "landscape", KEY_A, screen=screen)
    await feed(client, "net-b", "atm", KEY_B, screen="atm-7")
    await feed(client, "net-b", "atm", KEY_B)
    await client.app[RECEIPTS].flush()
    response = await client.get(f"/v1/alerts/{alert['id']}/receipts", headers=auth(VIEWER))
    reach = await response.json()
    assert reach["version"] == alert["version"] and reach["screens"] == 3
    by_network = {n["network"]: n for n in reach["networks"]}
    assert by_network["net-a"]["profiles"][0]["profile"] == "landscape"
    assert by_network["net-a"]["profiles"][0]["screens"] == 2
    assert by_network["net-b"]["screens"] == 1

    await client.patch(f"/v1/alerts/{alert['id']}", json={"test": False, "message": "Nieuw"},
                       headers=auth(ADMIN))
    response = await client.get(f"/v1/alerts/{alert['id']}/receipts", headers=auth(VIEWER))
    assert (await response.json())["screens"] == 0
