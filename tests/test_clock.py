"""Time is an input: the app reads it from the clock it is given, so a test moves the clock
instead of waiting for expiry, for the end of a "found" card, or for the webhook give-up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from support.alerts import amber_alert
from support.api import auth, create, feed, publish
from support.clock import FakeClock
from support.config import EDITOR, KEY_A, PUBLISHER, VIEWER

from feedserver.app import create_app
from feedserver.appkeys import CONFIG, EVENTS, FEEDS, HUB, POOL
from feedserver.timeutil import format_time


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(aiohttp_client, make_config, clock) -> TestClient:
    return await aiohttp_client(TestServer(create_app(make_config(), clock=clock)))


async def test_an_alert_expires_when_the_clock_passes_its_expiry(client, clock):
    expires_at = clock() + timedelta(hours=2)
    events = client.app[EVENTS].subscribe()
    active = await publish(client, amber_alert(expires_at=format_time(expires_at)))
    assert (await anext(events)).type == "alert.published"

    clock.advance(hours=2, seconds=1)
    # screens stop showing it the moment the clock passes the expiry ...
    assert (await feed(client, "net-a", "landscape", KEY_A))["alerts"] == []
    # ... and the expiry clock, which looks again at every change, records it as expired
    await create(client, amber_alert(), EDITOR)
    expired = await asyncio.wait_for(anext(events), 10)
    assert expired.type == "alert.expired" and expired.alert.id == active["id"]
    alert = await (await client.get(f"/v1/alerts/{active['id']}", headers=auth(VIEWER))).json()
    assert alert["status"] == "expired" and alert["ended_at"] == format_time(expires_at)
    response = await client.get(f"/v1/alerts/{active['id']}/history", headers=auth(VIEWER))
    assert (await response.json())["history"][-1]["actor"] == "system"


async def test_the_found_card_ends_after_the_configured_display_time(client, clock):
    active = await publish(client, amber_alert())
    response = await client.post(f"/v1/alerts/{active['id']}/resolve", headers=auth(PUBLISHER))
    assert response.status == 200

    clock.advance(seconds=3599)  # resolved_display_seconds is 3600 in the test config
    shown = (await feed(client, "net-a", "landscape", KEY_A))["alerts"]
    assert [(a["id"], a["status"]) for a in shown] == [(active["id"], "resolved")]
    clock.advance(seconds=1)
    document = await feed(client, "net-a", "landscape", KEY_A)
    assert document["state"] == "idle" and document["alerts"] == []


async def test_feeds_and_push_read_the_app_clock_and_the_config_settings(
        aiohttp_client, make_config, clock):
    """Everything reads the clock it was handed; pool, push and webhook settings come from the
    config (nothing in the app state is replaced after create_app)."""
    config = make_config(render={"workers": 3}, push={"keepalive_seconds": 7},
                         webhooks={"retry_for_seconds": 600})
    client = await aiohttp_client(TestServer(create_app(config, clock=clock)))
    clock.advance(days=400)
    document = await feed(client, "net-a", "landscape", KEY_A)
    app = client.app
    # the start of the refresh period the app's clock is in (the same in every process)
    assert document["generated_at"] == format_time(app[FEEDS].period_start(clock()))
    assert clock() - timedelta(seconds=300) < app[FEEDS].period_start(clock()) <= clock()
    assert app[POOL].workers == 3
    assert app[HUB].settings.keepalive_seconds == 7.0 and app[HUB].clock is clock
    assert app[CONFIG].current.webhooks.retry_for_seconds == 600.0
