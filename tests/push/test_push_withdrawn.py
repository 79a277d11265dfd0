"""Narrowing a live alert takes it off the screens it no longer reaches (`alert.withdrawn`).

A PATCH that moves an alert to other regions, another kind or `test: true` must tell every
profile (stream, webhook, feed) that had the previous version and lacks the new one.
"""

from __future__ import annotations

from support.push import KEY, NETWORK, Staff, feed_path, open_sse
from support.webhooks import verified


def assert_withdrawn(kind: str, envelope: dict, alert_id: str) -> None:
    assert kind == "alert.withdrawn"
    entry = envelope["alert"]
    assert entry["id"] == alert_id and entry["renders"] == {}
    assert entry["valid_until"] <= envelope["at"]


async def test_narrowing_withdraws_from_streams_feeds_and_webhooks(aiohttp_client, make_app,
                                                                   receiver):
    hook, url = receiver
    client = await aiohttp_client(make_app(webhook_url=url))
    staff = Staff(client)
    hall = await open_sse(client, "hall")
    utrecht = await open_sse(client, "utrecht")
    for stream in (hall, utrecht):
        assert (await stream.next())[1] == "snapshot"

    alert = await staff.publish_new("Testkind Smal")  # national: hall and utrecht have it
    published_seq, kind, _ = await hall.next()
    assert kind == "alert.published"
    assert (await utrecht.next())[1] == "alert.published"
    # Each change is let through to the receiver before the next: an end would supersede what
    # is still pending about the alert.
    await hook.wait_for(lambda: len(hook.delivered) == 2)

    await staff.update(alert["id"], regions=["NL-UT"])
    seq, kind, envelope = await hall.next()
    assert_withdrawn(kind, envelope, alert["id"])
    assert (await utrecht.next())[1] == "alert.updated"
    response = await client.get(feed_path("hall"), params={"key": KEY})
    assert (await response.json())["alerts"] == []

    # A screen that was away hears the withdrawal when it catches up.
    missed = await open_sse(client, "hall", since=str(published_seq))
    assert (await missed.next())[:2] == (seq, "alert.withdrawn")
    await hook.wait_for(lambda: len(hook.delivered) == 4)

    await staff.update(alert["id"], test=True)
    _, kind, envelope = await utrecht.next()
    assert_withdrawn(kind, envelope, alert["id"])
    response = await client.get(feed_path("utrecht"), params={"key": KEY})
    assert (await response.json())["alerts"] == []

    await hook.wait_for(lambda: len(hook.delivered) == 5)
    heard = [verified(r) for r in hook.delivered]
    by_profile: dict[str, list[str]] = {}
    for envelope in heard:  # in order per receiver (network and profile)
        assert envelope["network"] == NETWORK
        by_profile.setdefault(envelope["profile"], []).append(envelope["type"])
    assert by_profile == {
        "hall": ["alert.published", "alert.withdrawn"],
        "utrecht": ["alert.published", "alert.updated", "alert.withdrawn"],
    }
    assert all(e["alert"]["renders"] == {} for e in heard if e["type"] == "alert.withdrawn")


async def test_a_kind_change_withdraws_from_profiles_of_the_old_kind_only(client, staff):
    amber_only = await open_sse(client, "amber-only")
    hall = await open_sse(client, "hall")
    for stream in (amber_only, hall):
        assert (await stream.next())[1] == "snapshot"
    alert = await staff.publish_new("Testkind Soort", kind="amber",
                                    circumstance="stranger_abduction")
    assert (await amber_only.next())[1] == "alert.published"
    assert (await hall.next())[1] == "alert.published"

    await staff.update(alert["id"], kind="missing_child", circumstance="unknown")
    _, kind, envelope = await amber_only.next()
    assert_withdrawn(kind, envelope, alert["id"])
    assert (await hall.next())[1] == "alert.updated"
