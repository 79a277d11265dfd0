"""Limits (API.md 1.1, README "Limits"): requests per address with 429 and Retry-After, who the
address is behind a reverse proxy, a NAT of screens let through by configuration, failed
console sign-ins per address. Time is the app's clock, moved by the test."""

from __future__ import annotations

import asyncio
import time

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from support.alerts import amber_alert
from support.api import auth, publish
from support.clock import FakeClock
from support.config import KEY_A, KEY_B, PUBLISHER, VIEWER
from support.openapi import SPEC_PATH, CheckedClient
from support.push import SseReader

from feedserver.app import create_app
from feedserver.appkeys import RECEIPTS
from feedserver.config import ConfigError
from feedserver.limits.allowance import Allowance
from feedserver.limits.requests import seconds_of
from feedserver.timeutil import utcnow

FEED = "/v1/feeds/net-a/landscape"
SCREEN = "203.0.113.7"  # a screen on the internet, as nginx forwards it


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def serve(aiohttp_client, make_config, clock):
    """A server on the test clock with the `limits` section given."""

    async def start(push: dict | None = None, **limits) -> TestClient:
        app = create_app(make_config(limits=limits, push=push or {}), clock=clock)
        return await aiohttp_client(TestServer(app))

    return start


async def poll(client: TestClient, address: str = SCREEN, **headers: str) -> int:
    """A screen's poll, arriving through the local reverse proxy from `address`."""
    response = await client.get(FEED, params={"key": KEY_A},
                                headers={"X-Forwarded-For": address, **headers})
    await response.read()
    return response.status


async def test_an_address_past_its_requests_a_minute_gets_429_with_retry_after(serve, clock):
    client = await serve(requests_per_minute_per_address=6)
    assert [await poll(client) for _ in range(6)] == [200] * 6

    refused = await client.get(FEED, params={"key": KEY_A}, headers={"X-Forwarded-For": SCREEN})
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "10"  # one request every 10 s is paid back
    error = (await refused.json())["error"]
    assert error["code"] == "rate_limited"
    assert "limits.requests_per_minute_per_address" in error["message"]
    assert error["details"][0]["field"] == "limits.requests_per_minute_per_address"

    assert await poll(client, "198.51.100.20") == 200  # another address has its own allowance
    clock.advance(seconds=9)
    assert await poll(client) == 429
    clock.advance(seconds=1)
    assert await poll(client) == 200


async def test_every_route_counts_and_a_refusal_comes_before_the_credentials(serve):
    client = await serve(requests_per_minute_per_address=2)
    forwarded = {"X-Forwarded-For": SCREEN}
    assert (await client.get("/healthz", headers=forwarded)).status == 200
    assert (await client.get("/v1/alerts", headers=forwarded)).status == 401
    refused = await client.get("/v1/alerts", headers={**forwarded, "Authorization":
                                                      f"Bearer {VIEWER}"})
    assert refused.status == 429 and "Retry-After" in refused.headers


async def test_x_forwarded_for_counts_from_its_right_end_what_no_trusted_proxy_wrote(serve):
    client = await serve(requests_per_minute_per_address=2)
    # a screen that writes its own X-Forwarded-For; nginx appends the address it saw
    for spoofed in ("192.0.2.1", "192.0.2.2"):
        assert await poll(client, f"{spoofed}, {SCREEN}") == 200
    assert await poll(client, f"192.0.2.3, {SCREEN}") == 429
    assert await poll(client, f"{SCREEN}, 127.0.0.1") == 429  # a chain of trusted proxies


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(serve):
    client = await serve(requests_per_minute_per_address=2, trusted_proxies=[], exempt=[])
    assert [await poll(client, f"192.0.2.{i}") for i in range(3)] == [200, 200, 429]


async def test_loopback_is_exempt_unless_configured_otherwise(serve):
    client = await serve(requests_per_minute_per_address=1)
    statuses = [(await client.get(FEED, params={"key": KEY_A})).status for _ in range(5)]
    assert statuses == [200] * 5


async def test_a_nat_of_screens_is_let_through_by_an_override(serve):
    """50,000 screens polling every 30 s behind one address: 100,000 requests a minute."""
    nat = "198.51.100.7"
    client = await serve(requests_per_minute_per_address=3, overrides=[
        {"addresses": [nat], "requests_per_minute": 0},
        {"addresses": ["192.0.2.0/24"], "requests_per_minute": 5}])
    assert [await poll(client, nat) for _ in range(20)] == [200] * 20
    assert [await poll(client, "192.0.2.9") for _ in range(6)] == [200] * 5 + [429]
    assert [await poll(client) for _ in range(4)] == [200] * 3 + [429]


async def test_ipv6_addresses_count_per_slash_64(serve):
    client = await serve(requests_per_minute_per_address=2)
    assert [await poll(client, f"2001:db8:1:2::{i}") for i in range(3)] == [200, 200, 429]
    assert await poll(client, "2001:db8:1:3::1") == 200
    # an IPv4 address as a dual-stack socket gives it is that IPv4 address
    assert [await poll(client, a) for a in (SCREEN, f"::ffff:{SCREEN}", SCREEN)] == \
        [200, 200, 429]


async def test_screens_past_the_bound_are_served_but_not_counted(serve):
    """A leaked key cannot inflate an alert's reach: past `screens_per_network` new screen ids
    still get the alert (what is on screen comes first) and the answer says the bound was hit."""
    client = await serve(screens_per_network=3)
    alert = await publish(client, amber_alert())
    for screen in ("s1", "s2", "s3", "s4", "s5", "s1"):
        polled = await client.get(FEED, params={"key": KEY_A, "screen": screen})
        assert [a["id"] for a in (await polled.json())["alerts"]] == [alert["id"]]
    other = await client.get("/v1/feeds/net-b/atm", params={"key": KEY_B, "screen": "atm-1"})
    assert other.status == 200
    await client.app[RECEIPTS].flush()

    reach = await (await client.get(f"/v1/alerts/{alert['id']}/receipts",
                                    headers=auth(VIEWER))).json()
    networks = {n["network"]: n for n in reach["networks"]}
    assert reach["screen_limit"] == 3 and reach["screens"] == 4
    assert (networks["net-a"]["screens"], networks["net-a"]["screen_limit_reached"]) == (3, True)
    assert (networks["net-b"]["screens"], networks["net-b"]["screen_limit_reached"]) == (1, False)

    # a new version is counted afresh
    patched = await client.patch(f"/v1/alerts/{alert['id']}", json={"message": {"nl": "Nieuw"}},
                                 headers=auth(PUBLISHER))
    assert patched.status == 200, await patched.text()
    for screen in ("s4", "s5"):
        await client.get(FEED, params={"key": KEY_A, "screen": screen})
    await client.app[RECEIPTS].flush()
    reach = await (await client.get(f"/v1/alerts/{alert['id']}/receipts",
                                    headers=auth(VIEWER))).json()
    assert (reach["version"], reach["screens"]) == (alert["version"] + 1, 2)


async def sign_in(client: TestClient, token: str, address: str = SCREEN) -> tuple[int, dict]:
    response = await client.post("/console/sign-in", data={"token": token},
                                 headers={"X-Forwarded-For": address}, allow_redirects=False)
    return response.status, {**response.headers, "text": await response.text()}


async def test_failed_console_sign_ins_from_an_address_pause_its_sign_ins(serve, clock):
    client = await serve(sign_in_failures_per_hour=3)
    assert [(await sign_in(client, f"guess-{i}"))[0] for i in range(3)] == [401] * 3

    status, paused = await sign_in(client, PUBLISHER)  # even the right token, while paused
    assert status == 429 and paused["Retry-After"] == "1200"
    assert "Too many failed sign-ins" in paused["text"] or "Te veel" in paused["text"]
    assert (await sign_in(client, PUBLISHER, "198.51.100.20"))[0] == 303  # another address
    clock.advance(minutes=20)  # one failure paid back
    assert (await sign_in(client, PUBLISHER))[0] == 303
    assert (await sign_in(client, "guess-4"))[0] == 401
    assert (await sign_in(client, "guess-5"))[0] == 429


async def open_stream(client: TestClient, key: str = KEY_A, tail: str = "/events",
                      **headers: str):
    return await client.get(FEED + tail, params={"key": key}, headers=headers)


async def test_a_key_past_its_open_streams_gets_429_before_the_stream_opens(serve):
    client = await serve(streams_per_key=2, push={"keepalive_seconds": 0.3})
    first, second = await open_stream(client), await open_stream(client)
    assert (first.status, second.status) == (200, 200)
    assert (await SseReader(second).next())[1] == "snapshot"

    refused = await open_stream(client)
    assert refused.status == 429 and refused.headers["Retry-After"] == "30"  # poll meanwhile
    assert refused.headers["Content-Type"].startswith("application/json")
    error = (await refused.json())["error"]
    assert error["code"] == "rate_limited" and "limits.streams_per_key" in error["message"]
    with pytest.raises(Exception, match="429"):
        await client.ws_connect(FEED + "/ws", params={"key": KEY_A})
    # another key, and staff, have their own count; plain polls are not streams
    other = await client.get("/v1/feeds/net-b/atm/events", params={"key": KEY_B})
    assert other.status == 200
    staff = await client.get(FEED + "/events", headers={"Authorization": f"Bearer {VIEWER}"})
    assert staff.status == 200
    assert (await client.get(FEED, params={"key": KEY_A})).status == 200

    first.close()  # the server notices at the next keepalive it cannot send
    async with asyncio.timeout(20):
        while (again := await open_stream(client)).status == 429:
            again.close()
            await asyncio.sleep(0.05)
    assert again.status == 200
    for response in (second, again, other, staff):
        response.close()


async def test_the_answers_of_the_limits_match_the_spec(serve):
    client = await serve(requests_per_minute_per_address=3, screens_per_network=1,
                         streams_per_key=1)
    api = CheckedClient(client, yaml.safe_load(SPEC_PATH.read_text()))
    alert = await publish(client, amber_alert())  # from loopback: exempt
    stream = await open_stream(client)
    await api.call("GET", FEED + "/events", expect=429, params={"key": KEY_A})
    stream.close()
    await api.call("GET", f"/v1/alerts/{alert['id']}/receipts", expect=200,
                   headers=auth(VIEWER))
    forwarded = {"X-Forwarded-For": SCREEN}
    for _ in range(3):
        await api.call("GET", FEED, expect=200, params={"key": KEY_A}, headers=forwarded)
    await api.call("GET", FEED, expect=429, params={"key": KEY_A}, headers=forwarded)
    await api.call("POST", "/v1/alerts", expect=429, json={}, headers=forwarded)


def test_the_allowance_table_stays_bounded_under_many_addresses():
    allowance = Allowance(count=10, period=60.0, max_keys=1000)
    for i in range(50_000):
        assert allowance.take(f"10.0.{i >> 8}.{i & 255}", now=1000.0 + i / 1000) is None
        assert len(allowance) <= 1000
    # keys whose allowance was paid back hold nothing and go first
    allowance.take("idle", now=0.0)
    assert allowance.wait("idle", now=10_000.0) is None


@pytest.mark.parametrize(("limits", "message"), [
    ({"requests_per_minute_per_address": 0},
     "limits.requests_per_minute_per_address: must be a positive number, not 0"),
    ({"streams_per_key": "many"}, "limits.streams_per_key: must be a number, not 'many'"),
    ({"trusted_proxies": ["nginx"]},
     "limits.trusted_proxies[0]: 'nginx' is not an IP address or network"),
    ({"overrides": [{"addresses": [], "requests_per_minute": 5}]},
     "limits.overrides[0].addresses: must list at least one address"),
    ({"overrides": [{"addresses": ["10.0.0.1"], "requests_per_minute": -1}]},
     "limits.overrides[0].requests_per_minute: must be 0 (no limit) or a positive number"),
    ({"header_timeout_seconds": 0}, "limits.header_timeout_seconds: must be 1 to 3600 seconds"),
    ({"per_minute": 5}, "limits.per_minute: unknown key"),
])
def test_limits_config_is_refused_with_the_place(make_config, limits, message):
    with pytest.raises(ConfigError) as refused:
        make_config(limits=limits)
    assert str(refused.value).startswith(message)


def test_the_real_clock_of_the_limits_is_not_moved_by_wall_clock_steps():
    """NTP may step the wall clock back by minutes: allowances measured on it would leave
    every screen that polled recently over its limit (429) until the clock caught up. Only
    time that passes counts: the monotonic clock."""
    assert seconds_of(utcnow) is time.monotonic
    later = FakeClock()
    assert seconds_of(later)() == later().timestamp()  # tests move their own clock
