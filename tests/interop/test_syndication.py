"""Atom and Media RSS per profile, read by feedparser as players and readers would."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import capvalidator
import feedparser
from lxml import etree
from PIL import Image
from support.alerts import amber_alert, missing_child_alert
from support.api import auth, feed, publish
from support.cap import CAP, assert_valid_cap
from support.config import KEY_A, KEY_B, PUBLISHER, VIEWER

from feedserver.appkeys import RECEIPTS

ATOM = "{http://www.w3.org/2005/Atom}"


async def document_renders(client, profile: str) -> list[dict[str, str]]:
    """The creative URLs of the render service, as the JSON feed document gives them."""
    return [entry["renders"] for entry in (await feed(client, "net-a", profile, KEY_A))["alerts"]]


async def get_feed(client, path: str, key: str = KEY_A, status: int = 200, **headers: str):
    response = await client.get(f"/v1/feeds/net-a/{path}", params={"key": key},
                                headers=headers)
    assert response.status == status, await response.text()
    return response


async def test_media_rss_items_carry_each_image_format(client):
    missing = await publish(client, missing_child_alert(regions=["NL"]))
    amber = await publish(client, amber_alert())
    response = await get_feed(client, "landscape/rss")
    assert response.content_type == "application/rss+xml"
    parsed = feedparser.parse(await response.read())
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.language == "nl"
    assert [e.id for e in parsed.entries] == [f"{amber['id']}:v2", f"{missing['id']}:v2"]
    first = parsed.entries[0]
    assert first.title == "AMBER Alert: Fleur Testkind (9)"
    assert first.summary == "Bel 112 als u haar ziet."
    renders = (await document_renders(client, "landscape"))[0]
    assert first.link == renders["html"]
    media = [(m["type"], m["width"], m["height"], m["url"]) for m in first.media_content]
    assert media == [(f"image/{kind}", "1920", "1080", renders[fmt])
                     for fmt, kind in (("jpg", "jpeg"), ("png", "png"), ("webp", "webp"))]
    for content_type, width, height, url in media:  # what a player then fetches, no key
        response = await client.get(urlsplit(url).path)
        assert response.status == 200 and response.content_type == content_type
        image = Image.open(io.BytesIO(await response.read()))
        assert image.size == (int(width), int(height))

    only_amber = feedparser.parse(await (await get_feed(client, "amber-only/rss")).read())
    assert [e.id for e in only_amber.entries] == [f"{amber['id']}:v2"]
    renders = (await document_renders(client, "amber-only"))[0]
    assert [(m["width"], m["height"], m["url"]) for m in only_amber.entries[0].media_content] \
        == [("1400", "400", renders[fmt]) for fmt in ("jpg", "png", "webp")]


async def test_atom_entries_embed_and_link_their_cap_message(client):
    amber = await publish(client, amber_alert())
    response = await get_feed(client, "landscape/atom")
    assert response.content_type == "application/atom+xml"
    body = await response.read()
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    (entry,) = parsed.entries
    assert entry.id == f"urn:feedserver:alert:{amber['id']}"
    assert entry.title == "AMBER Alert: Fleur Testkind (9)"
    cap_links = [link.href for link in entry.links if link.type == "application/cap+xml"]
    assert cap_links == [f"http://feeds.test/v1/cap/{amber['id']}.xml"]
    renders = (await document_renders(client, "landscape"))[0]
    assert [(e.type, e.href) for e in entry.enclosures] == [
        (f"image/{kind}", renders[fmt])
        for fmt, kind in (("jpg", "jpeg"), ("png", "png"), ("webp", "webp"))]

    embedded = etree.fromstring(body).find(f"{ATOM}entry/{ATOM}content/{CAP}alert")
    cap = assert_valid_cap(etree.tostring(embedded))
    assert cap.findtext(CAP + "identifier") == f"feedserver-{amber['id']}-v2"
    fetched = await client.get(f"/v1/cap/{amber['id']}.xml", params={"key": KEY_A})
    assert etree.tostring(etree.fromstring(await fetched.read())) == \
        etree.tostring(embedded, with_tail=False)
    standalone = etree.tostring(embedded, with_tail=False)  # still verifies on its own
    assert capvalidator.validate_cap_message(standalone, strict=True).passed


async def test_conditional_get_and_changes(client):
    amber = await publish(client, amber_alert())
    for kind in ("rss", "atom"):
        first = await get_feed(client, f"landscape/{kind}")
        etag = first.headers["ETag"]
        assert etag.startswith('"') and first.headers["Cache-Control"] == "private, no-cache"
        same = await get_feed(client, f"landscape/{kind}")
        assert same.headers["ETag"] == etag and await same.read() == await first.read()
        await get_feed(client, f"landscape/{kind}", status=304, **{"If-None-Match": etag})
    etags = {kind: (await get_feed(client, f"landscape/{kind}")).headers["ETag"]
             for kind in ("rss", "atom")}

    response = await client.patch(f"/v1/alerts/{amber['id']}", json={"message": {
        "nl": "Nieuw bericht."}}, headers=auth(PUBLISHER))
    assert response.status == 200
    for kind in ("rss", "atom"):
        changed = await get_feed(client, f"landscape/{kind}", **{"If-None-Match": etags[kind]})
        parsed = feedparser.parse(await changed.read())
        assert parsed.entries[0].summary == "Nieuw bericht."

    response = await client.post(f"/v1/alerts/{amber['id']}/cancel", json={"reason": "test"},
                                 headers=auth(PUBLISHER))
    assert response.status == 200
    for kind in ("rss", "atom"):
        parsed = feedparser.parse(await (await get_feed(client, f"landscape/{kind}")).read())
        assert not parsed.bozo and parsed.entries == []


async def test_idle_feeds_and_access(client):
    for kind in ("rss", "atom"):
        parsed = feedparser.parse(await (await get_feed(client, f"landscape/{kind}")).read())
        assert not parsed.bozo and parsed.entries == []
        await get_feed(client, f"landscape/{kind}", key=KEY_B, status=403)
        await get_feed(client, f"nope/{kind}", status=404)
        response = await client.get(f"/v1/feeds/net-a/landscape/{kind}")
        assert response.status == 401


async def test_text_xml_cannot_carry_is_dropped_not_a_500(client):
    alert = await publish(client, amber_alert(
        children=[{"name": "Fleur\x1b Testkind\x00", "age": 9}], message="Bel\x0b 112"))
    for kind in ("rss", "atom"):
        parsed = feedparser.parse(await (await get_feed(client, f"landscape/{kind}")).read())
        assert not parsed.bozo and parsed.entries[0].title == "AMBER Alert: Fleur Testkind (9)"
    response = await client.get(f"/v1/cap/{alert['id']}.xml", params={"key": KEY_A})
    assert response.status == 200
    assert_valid_cap(await response.read())


async def test_rss_and_atom_polls_record_receipts(client):
    alert = await publish(client, amber_alert())
    for kind, screen in (("rss", "player-1"), ("atom", "player-2"), ("rss", "player-1")):
        response = await client.get(f"/v1/feeds/net-a/landscape/{kind}",
                                    params={"key": KEY_A, "screen": screen})
        assert response.status == 200
    await client.app[RECEIPTS].flush()
    response = await client.get(f"/v1/alerts/{alert['id']}/receipts", headers=auth(VIEWER))
    assert (await response.json())["screens"] == 2
