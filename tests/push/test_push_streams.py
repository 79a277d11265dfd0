"""SSE and WebSocket streams over real sockets: snapshot, live events, catch-up, filters."""

from __future__ import annotations

import asyncio
import json

from aiohttp import WSMsgType
from support.push import KEY, NETWORK, OTHER_KEY, SseReader, Staff, feed_path, open_sse, soon

from feedserver.appkeys import RECEIPTS


async def test_sse_and_websocket_get_a_publish_within_a_second(client, staff):
    sse = await open_sse(client, screen="hall-sse-1")
    ws = await client.ws_connect(feed_path("hall", "/ws"), params={"key": KEY})
    snap_id, kind, snapshot = await sse.next()
    assert (kind, snapshot["state"], snapshot["alerts"]) == ("snapshot", "idle", [])
    ws_snapshot = json.loads((await ws.receive(timeout=5)).data)
    assert ws_snapshot["state"] == "idle" and ws_snapshot["network"] == NETWORK

    async with asyncio.timeout(1.0):
        alert = await staff.publish_new("Testkind Snel")
        seq, kind, envelope = await sse.next()
        ws_envelope = json.loads((await ws.receive()).data)

    assert kind == "alert.published" and seq == envelope["id"] and seq > snap_id
    assert ws_envelope == envelope
    assert envelope["network"] == NETWORK and envelope["profile"] == "hall"
    entry = envelope["alert"]
    assert (entry["id"], entry["version"], entry["status"]) == (alert["id"], 2, "active")
    assert entry["headline"] == alert["headline"]
    feed = await (await client.get(feed_path(), params={"key": KEY})).json()
    assert feed["alerts"][0]["id"] == alert["id"]
    assert {k: v for k, v in feed["alerts"][0].items() if k != "valid_until"} == \
        {k: v for k, v in entry.items() if k != "valid_until"}

    await client.app[RECEIPTS].flush()
    receipts = await (await client.get(f"/v1/alerts/{alert['id']}/receipts",
                                       headers=staff.headers)).json()
    assert receipts["screens"] == 1
    await ws.close()


async def _missed_three(client, staff, open_again):
    """Reconnecting after three missed events gives exactly those three, in order."""
    first = await staff.publish_new("Testkind Een")
    sse = await open_sse(client)
    seen, _, _ = await sse.next()
    sse.response.close()

    second = await staff.publish_new("Testkind Twee")
    await staff.update(first["id"], message={"nl": "Nieuwe tip", "en": "New tip"})
    await staff.cancel(second["id"])

    again = await open_again(seen)
    got = [await again.next() for _ in range(3)]
    assert [(kind, env["alert"]["id"]) for _, kind, env in got] == [
        ("alert.published", second["id"]),
        ("alert.updated", first["id"]),
        ("alert.cancelled", second["id"]),
    ]
    assert [seq for seq, _, _ in got] == [seen + 1, seen + 2, seen + 3]
    third = await staff.publish_new("Testkind Drie")
    seq, kind, env = await again.next()
    assert (seq, kind, env["alert"]["id"]) == (seen + 4, "alert.published", third["id"])


async def test_reconnect_with_last_event_id_replays_exactly_what_was_missed(client, staff):
    await _missed_three(client, staff, lambda seen: open_sse(
        client, headers={"Last-Event-ID": str(seen)}))


async def test_since_parameter_replays_like_last_event_id(client, staff):
    await _missed_three(client, staff, lambda seen: open_sse(client, since=str(seen)))


async def test_websocket_replays_with_since(client, staff):
    alert = await staff.publish_new()
    before = (await client.app[RECEIPTS].store.last_seq())
    await staff.cancel(alert["id"])
    ws = await client.ws_connect(feed_path("hall", "/ws"),
                                 params={"key": KEY, "since": str(before)})
    envelope = json.loads((await ws.receive(timeout=5)).data)
    assert (envelope["id"], envelope["type"]) == (before + 1, "alert.cancelled")
    await ws.close()


async def test_a_gap_longer_than_the_replay_limit_gets_a_fresh_snapshot(aiohttp_client,
                                                                       make_app):
    client = await aiohttp_client(make_app(replay_limit=2))
    staff = Staff(client)
    alerts = [await staff.publish_new(f"Testkind {i}") for i in range(3)]
    sse = await open_sse(client, since="0")
    seq, kind, snapshot = await sse.next()
    assert kind == "snapshot" and seq == 3
    assert {a["id"] for a in snapshot["alerts"]} == {a["id"] for a in alerts}


async def test_profile_filters_apply_and_a_cancel_reaches_those_that_had_the_alert(client,
                                                                                  staff):
    amber = await open_sse(client, "amber-only")
    utrecht = await open_sse(client, "utrecht")
    noord = await open_sse(client, "hall", region="NL-NH")
    for stream in (amber, utrecht, noord):
        assert (await stream.next())[1] == "snapshot"

    regional = await staff.publish_new("Testkind Regio", regions=["NL-UT"])
    national_amber = await staff.publish_new(
        "Testkind Amber", kind="amber", circumstance="stranger_abduction")
    await staff.cancel(regional["id"])
    await staff.cancel(national_amber["id"])

    async def heard(stream: SseReader, count: int) -> list[tuple[str, str]]:
        return [(kind, env["alert"]["id"]) for _, kind, env in
                [await stream.next() for _ in range(count)]]

    assert await heard(amber, 2) == [("alert.published", national_amber["id"]),
                                     ("alert.cancelled", national_amber["id"])]
    assert await heard(utrecht, 4) == [
        ("alert.published", regional["id"]), ("alert.published", national_amber["id"]),
        ("alert.cancelled", regional["id"]), ("alert.cancelled", national_amber["id"])]
    assert await heard(noord, 2) == [("alert.published", national_amber["id"]),
                                     ("alert.cancelled", national_amber["id"])]


async def test_a_cancelled_alert_goes_out_with_no_renders_and_validity_ended(client, staff):
    alert = await staff.publish_new()
    sse = await open_sse(client)
    await sse.next()
    await staff.cancel(alert["id"])
    _, kind, envelope = await sse.next()
    assert kind == "alert.cancelled"
    entry = envelope["alert"]
    assert entry["status"] == "cancelled" and entry["renders"] == {}
    assert entry["valid_until"] <= envelope["at"]


async def test_expiry_goes_out_as_an_event_at_once(client, staff):
    alert = await staff.publish_new(expires_at=soon(2))
    sse = await open_sse(client)
    await sse.next()
    _, kind, envelope = await sse.next(timeout=10)
    assert (kind, envelope["alert"]["id"], envelope["alert"]["status"]) == \
        ("alert.expired", alert["id"], "expired")


async def test_resolve_is_sent_with_the_found_card(client, staff):
    alert = await staff.publish_new()
    ws = await client.ws_connect(feed_path("hall", "/ws"), params={"key": KEY})
    await ws.receive(timeout=5)
    await staff.resolve(alert["id"])
    envelope = json.loads((await ws.receive(timeout=5)).data)
    assert envelope["type"] == "alert.resolved"
    assert envelope["alert"]["status"] == "resolved"
    assert envelope["alert"]["valid_until"] > envelope["at"]
    await ws.close()


async def test_refusals_are_json_errors_before_any_upgrade(client):
    cases = [
        ({}, "hall", 401),
        ({"key": OTHER_KEY}, "hall", 403),
        ({"key": KEY}, "nowhere", 404),
        ({"key": KEY, "since": "yesterday"}, "hall", 400),
        ({"key": KEY, "screen": "bad screen id"}, "hall", 400),
    ]
    for tail in ("/events", "/ws"):
        for query, profile, status in cases:
            response = await client.get(feed_path(profile, tail), params=query)
            assert response.status == status, (tail, query)
            assert "code" in (await response.json())["error"]


async def test_keepalive_comments_keep_an_idle_stream_open(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(keepalive_seconds=0.05))
    sse = await open_sse(client)
    await sse.next()
    async with asyncio.timeout(5):
        line = b""
        while not line.startswith(b":"):
            line = await sse.response.content.readline()
    assert line == b": keepalive\n"


async def test_websocket_keepalive_is_a_ping(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(keepalive_seconds=0.05))
    ws = await client.ws_connect(feed_path("hall", "/ws"), params={"key": KEY}, autoping=False)
    assert json.loads((await ws.receive(timeout=5)).data)["state"] == "idle"
    assert (await ws.receive(timeout=5)).type == WSMsgType.PING
    await ws.close()


async def test_an_http_1_0_proxy_gets_the_stream_unchunked(client, staff):
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"GET {feed_path('hall', '/events')}?key={KEY} HTTP/1.0\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert b"chunked" not in head.lower()
    assert (await asyncio.wait_for(reader.readuntil(b"\n\n"), 5)).startswith(b"id: ")
    alert = await staff.publish_new()
    message = (await asyncio.wait_for(reader.readuntil(b"\n\n"), 5)).decode()
    assert "event: alert.published\n" in message and alert["id"] in message
    writer.close()
