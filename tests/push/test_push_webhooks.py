"""Signed webhooks from the durable outbox: retries, order, and delivery across a SIGKILL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import aiohttp
from support.clock import FakeClock
from support.push import ADMIN, NETWORK, PUBLISHER, Staff, alert_body, push_config_data
from support.servers import ServerProcess
from support.webhooks import verified

from feedserver.push.webhooks import WebhookSettings, backoff, signature


async def deliveries(client, **query) -> list[dict]:
    response = await client.get(f"/v1/networks/{NETWORK}/deliveries", params=query,
                                headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status == 200, await response.text()
    return (await response.json())["deliveries"]


async def test_a_receiver_failing_five_times_gets_the_event_once_signed(
        aiohttp_client, make_app, receiver):
    hook, url = receiver
    hook.failures = 5
    client = await aiohttp_client(make_app(webhook_url=url))
    alert = await Staff(client).publish_new(kind="amber", circumstance="stranger_abduction")
    # A national amber alert reaches all three of the network's profiles.
    await hook.wait_for(lambda: len(hook.delivered) == 3)

    # the three deliveries (one per profile) were each retried under their own id
    assert len({r["headers"]["Feedserver-Delivery"] for r in hook.requests}) == 3
    envelopes = [verified(r) for r in hook.delivered]
    assert sorted((e["type"], e["profile"], e["alert"]["id"]) for e in envelopes) == [
        ("alert.published", profile, alert["id"]) for profile in ("amber-only", "hall", "utrecht")]
    assert len({r["headers"]["Feedserver-Delivery"] for r in hook.delivered}) == 3

    states = await settled(client, 3)
    assert {d["state"] for d in states} == {"delivered"}
    assert {d["last_status"] for d in states} == {204}
    assert sum(d["attempts"] for d in states) == 8
    for state in states:
        tries = [r for r in hook.requests if r["headers"]["Feedserver-Delivery"] == state["id"]]
        assert len(tries) == state["attempts"] and tries[-1]["ok"]


async def test_an_odd_retry_after_is_ignored(aiohttp_client, make_app, receiver):
    """`Retry-After: ²` passed str.isdigit and then broke float(): the attempt was never
    recorded and the delivery waited for the next idle check (60 s), again and again."""
    hook, url = receiver
    hook.failures, hook.retry_after = 3, "²"
    client = await aiohttp_client(make_app(webhook_url=url))
    await Staff(client).publish_new(kind="amber", circumstance="stranger_abduction")
    await hook.wait_for(lambda: len(hook.delivered) == 3)
    states = await settled(client, 3)
    assert {d["state"] for d in states} == {"delivered"}
    assert sum(d["attempts"] for d in states) == 6


async def test_a_receiver_that_was_down_gets_everything_in_order(aiohttp_client, make_app,
                                                                 receiver):
    """Each alert's events in order; the first alert's publication, still pending when it was
    cancelled, is superseded by the cancel (never arriving after it)."""
    hook, url = receiver
    hook.failures = 10**6
    client = await aiohttp_client(make_app(webhook_url=url))
    staff = Staff(client)
    first = await staff.publish_new("Testkind Een")
    second = await staff.publish_new("Testkind Twee")
    await staff.update(second["id"], message={"nl": "Nieuwe tekst", "en": "New text"})
    await staff.cancel(first["id"])
    hook.failures = 0
    # National Vermist Kind Alerts reach hall and utrecht (amber-only takes only AMBER).
    wanted = {(seq, profile) for seq in (2, 3, 4) for profile in ("hall", "utrecht")}
    await hook.wait_for(lambda: wanted <= {(verified(r)["id"], verified(r)["profile"])
                                           for r in hook.delivered})
    got = [verified(r) for r in hook.delivered]
    for profile in ("hall", "utrecht"):
        heard = [(e["id"], e["type"], e["alert"]["id"]) for e in got if e["profile"] == profile]
        assert [h for h in heard if h[2] == second["id"]] == [
            (2, "alert.published", second["id"]), (3, "alert.updated", second["id"])]
        # a try already under way when the cancel came may still arrive, but before it
        assert [h for h in heard if h[2] == first["id"]][-1] == (4, "alert.cancelled",
                                                                  first["id"])
    states = {(d["event"], d["profile"]): d for d in await settled(client, 8)}
    for profile in ("hall", "utrecht"):
        assert states[(1, profile)]["state"] == "delivered" or states[(1, profile)][
            "last_error"] == "superseded by event 4 (alert.cancelled)"
    assert all(states[(seq, p)]["state"] == "delivered" for seq in (2, 3, 4)
               for p in ("hall", "utrecht"))


async def test_a_delivery_is_given_up_after_26_hours_and_the_next_one_goes(
        aiohttp_client, make_app, receiver):
    hook, url = receiver
    hook.failures = 10**6
    clock = FakeClock()
    client = await aiohttp_client(make_app(webhook_url=url, clock=clock))
    staff = Staff(client)
    first = await staff.publish_new("Testkind Een")
    await attempted(client, 1)
    # the clock stands still, so the retry (due in under a second) waits for it to move
    clock.advance(hours=25, minutes=59)
    states = await attempted(client, 2)
    assert [d["state"] for d in states] == ["pending"] * 2
    clock.advance(minutes=1)  # 26 h (the default retry period) after the event
    states = await settled(client, 2)
    assert [(d["state"], d["last_status"]) for d in states] == [("failed", 503)] * 2
    assert states[-1]["attempts"] > 1  # the first was retried until the period ran out
    assert all(d["next_attempt_at"] is None for d in states)

    hook.failures = 0
    await staff.cancel(first["id"])
    await hook.wait_for(lambda: len(hook.delivered) == 2)
    assert [verified(r)["type"] for r in hook.delivered] == ["alert.cancelled"] * 2


def test_backoff_doubles_with_jitter_up_to_its_cap_and_honours_retry_after():
    settings = WebhookSettings(backoff_seconds=2.0, backoff_max_seconds=60.0)
    for attempts, full in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (40, 60.0)]:
        delays = {backoff(attempts, settings, None) for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays) and len(delays) > 1
    assert backoff(1, settings, 30.0) == 30.0
    assert backoff(1, settings, 10**6) == 60.0


def test_signature_is_hmac_sha256_of_timestamp_and_body():
    body = b'{"id":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", 1700000000, body) == f"t=1700000000,v1={expected}"


async def test_deliveries_need_an_admin_and_check_their_query(aiohttp_client, make_app):
    client = await aiohttp_client(make_app())
    path = f"/v1/networks/{NETWORK}/deliveries"
    assert (await client.get(path)).status == 401
    publisher = {"Authorization": f"Bearer {PUBLISHER}"}
    assert (await client.get(path, headers=publisher)).status == 403
    admin = {"Authorization": f"Bearer {ADMIN}"}
    assert (await client.get("/v1/networks/nowhere/deliveries", headers=admin)).status == 404
    for query in ({"state": "lost"}, {"limit": "0"}, {"limit": "many"}):
        response = await client.get(path, params=query, headers=admin)
        assert response.status == 400
        assert (await response.json())["error"]["details"]
    assert await deliveries(client, state="pending") == []


async def attempted(client, attempts: int) -> list[dict]:
    """The deliveries once the one being tried has been tried `attempts` times."""
    async with asyncio.timeout(10):
        while True:
            states = await deliveries(client)
            if max(d["attempts"] for d in states) >= attempts:
                return states
            await asyncio.sleep(0.02)


async def settled(client, count: int) -> list[dict]:
    """The deliveries once `count` of them are no longer pending (the receiver answered)."""
    async with asyncio.timeout(10):
        while True:
            states = await deliveries(client)
            if sum(d["state"] != "pending" for d in states) == count:
                return states
            await asyncio.sleep(0.02)


async def test_deliveries_pending_at_a_sigkill_go_out_after_restart(tmp_path, receiver,
                                                                    storage):
    """The real `feedserver serve`, with its default backoff, killed while the hook is down."""
    hook, url = receiver
    hook.failures = 10**6
    server = ServerProcess({**push_config_data(tmp_path, url), "storage": storage}, tmp_path)
    await server.start()
    try:
        async with aiohttp.ClientSession(server.url, headers={
                "Authorization": f"Bearer {PUBLISHER}"}) as session:
            async with session.post("/v1/alerts", json=alert_body()) as response:
                alert = await response.json()
            async with session.post(f"/v1/alerts/{alert['id']}/publish") as response:
                assert response.status == 200
        await hook.wait_for(lambda: len(hook.requests) >= 1)
    finally:
        server.kill()

    hook.failures = len(hook.requests)
    await server.start()
    try:
        await hook.wait_for(lambda: len(hook.delivered) == 2, timeout=30)
        envelopes = [verified(r) for r in hook.delivered]
        # in any order: one profile's delivery may still be leased to the killed process
        # while the other's goes (order holds per profile and alert)
        assert sorted((e["type"], e["profile"], e["alert"]["id"]) for e in envelopes) == [
            ("alert.published", "hall", alert["id"]),
            ("alert.published", "utrecht", alert["id"])]
        async with aiohttp.ClientSession(server.url) as session:
            assert [d["state"] for d in await settled(session, 2)] == ["delivered"] * 2
    finally:
        server.kill()


async def test_a_refused_delivery_fails_after_a_few_tries_and_holds_back_nothing(
        aiohttp_client, make_app, receiver):
    """The receiver rejects one alert's publication for good (422). Before, the outbox waited
    26 h on it and everything after it waited too, its cancel included."""
    hook, url = receiver
    client = await aiohttp_client(make_app(webhook_url=url))
    staff = Staff(client)
    hook.refuse = lambda envelope: 422 if envelope["id"] == 1 else None
    first = await staff.publish_new("Testkind Een")
    second = await staff.publish_new("Testkind Twee")
    await staff.cancel(first["id"])
    arrived = lambda: {(e["alert"]["id"], e["type"], e["profile"])  # noqa: E731
                       for e in map(verified, hook.delivered)}
    wanted = {(second["id"], "alert.published", p) for p in ("hall", "utrecht")} | \
        {(first["id"], "alert.cancelled", p) for p in ("hall", "utrecht")}
    await hook.wait_for(lambda: arrived() >= wanted)
    assert not any(verified(r)["id"] == 1 for r in hook.delivered)

    states = {(d["event"], d["profile"]): d for d in await deliveries(client)}
    refused = states[(1, "hall")]
    assert refused["state"] == "failed" and refused["last_status"] == 422
    assert refused["next_attempt_at"] is None
    assert 1 <= refused["attempts"] <= 3


async def test_a_permanent_refusal_is_given_up_after_three_tries(aiohttp_client, make_app,
                                                                 receiver):
    hook, url = receiver
    hook.refuse = lambda envelope: 410
    client = await aiohttp_client(make_app(webhook_url=url))
    await Staff(client).publish_new("Testkind Een")
    states = await settled(client, 2)
    assert [(d["state"], d["attempts"], d["last_status"]) for d in states] == \
        [("failed", 3, 410)] * 2
    assert len(hook.requests) == 6


async def test_an_end_overtakes_a_delivery_that_keeps_failing(aiohttp_client, make_app,
                                                              receiver):
    """A receiver that errs (503) on one alert's publication keeps getting it retried; its
    cancel goes at once and the publication is given up, never sent after the cancel."""
    hook, url = receiver
    client = await aiohttp_client(make_app(webhook_url=url))
    staff = Staff(client)
    hook.refuse = lambda envelope: 503 if envelope["id"] == 1 else None
    alert = await staff.publish_new("Testkind Een")
    await hook.wait_for(lambda: len(hook.requests) >= 3)
    await staff.cancel(alert["id"])
    await hook.wait_for(lambda: len(hook.delivered) == 2)
    assert {(verified(r)["type"], verified(r)["profile"]) for r in hook.delivered} == {
        ("alert.cancelled", "hall"), ("alert.cancelled", "utrecht")}
    states = {(d["event"], d["profile"]): d for d in await settled(client, 4)}
    for profile in ("hall", "utrecht"):
        superseded = states[(1, profile)]
        assert superseded["state"] == "failed", superseded
        assert superseded["next_attempt_at"] is None
        assert superseded["last_error"] == "superseded by event 2 (alert.cancelled)"
        assert states[(2, profile)]["state"] == "delivered"
    hook.refuse = lambda envelope: None
    count = len(hook.requests)
    await staff.publish_new("Testkind Twee")  # the sender goes on
    await hook.wait_for(lambda: len(hook.delivered) == 4)
    assert all(verified(r)["id"] != 1 for r in hook.requests[count:])


async def test_retries_of_a_json_delivery_send_the_same_body(aiohttp_client, make_app,
                                                             receiver):
    """Before, `valid_until` was rebuilt from the clock (to the millisecond) on every try."""
    hook, url = receiver
    hook.failures = 4
    client = await aiohttp_client(make_app(webhook_url=url))
    await Staff(client).publish_new("Testkind Een")
    await hook.wait_for(lambda: len(hook.delivered) == 2)
    tries: dict[str, set[bytes]] = {}
    for request in hook.requests:
        tries.setdefault(request["headers"]["Feedserver-Delivery"], set()).add(request["body"])
    assert len(tries) == 2 and len(hook.requests) == 6
    assert all(len(bodies) == 1 for bodies in tries.values())
