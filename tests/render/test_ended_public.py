"""Nothing of an alert is public once it has left the screens: its creatives and its CAP
photos answer 404 without credentials the moment its display ends (the found card's end, or
expiry), not at the next change to some other alert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from support import samples
from support.alerts import amber_alert
from support.api import auth, feed, publish, upload_photo
from support.clock import FakeClock
from support.config import KEY_A, PUBLISHER, config_data

from feedserver.access_log import PathOnlyAccessLogger
from feedserver.app import create_app
from feedserver.appkeys import RENDERER
from feedserver.config import parse_config
from feedserver.timeutil import format_time

FOUND_CARD_SECONDS = 3600  # resolved_display_seconds of the test config


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(aiohttp_client, tmp_path, clock) -> TestClient:
    data = config_data(tmp_path / "data")
    data["networks"][0]["profiles"] = [{"id": "landscape", "size": "960x540",
                                        "formats": ["jpg", "png"]}]
    data["networks"][1]["profiles"] = [{"id": "atm", "size": "800x600", "formats": ["jpg"]}]
    server = TestServer(create_app(parse_config(data), clock=clock))
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    return await aiohttp_client(server)


async def published_with_photo(client: TestClient, clock: FakeClock) -> tuple[dict, str]:
    photo = await upload_photo(client, samples.portrait_photo())
    alert = amber_alert(expires_at=format_time(clock() + timedelta(hours=2)))
    alert["children"][0]["photo"] = photo
    return await publish(client, alert), photo


async def public_paths(client: TestClient, alert: dict, photo: str) -> list[str]:
    """What anyone may fetch of the alert while it is on screens: its creatives, its photo."""
    await client.app[RENDERER].idle()
    [entry] = (await feed(client, "net-a", "landscape", KEY_A))["alerts"]
    assert entry["id"] == alert["id"]
    renders = [url.removeprefix("http://feeds.test") for url in entry["renders"].values()]
    return [*renders, f"/v1/cap/{alert['id']}/photos/{photo}"]


async def statuses(client: TestClient, paths: list[str]) -> list[int]:
    return [(await client.get(path)).status for path in paths]


async def test_a_found_cards_photo_and_creatives_end_with_the_card(client, clock):
    alert, photo = await published_with_photo(client, clock)
    response = await client.post(f"/v1/alerts/{alert['id']}/resolve", headers=auth(PUBLISHER),
                                  json={"message": {"nl": "Gevonden, dank u",
                                                    "en": "Found, thank you"}})
    assert response.status == 200
    paths = await public_paths(client, alert, photo)
    assert await statuses(client, paths) == [200] * 3

    clock.advance(seconds=FOUND_CARD_SECONDS - 1)
    assert await statuses(client, paths) == [200] * 3
    clock.advance(seconds=2)  # the card has ended; nothing else changed
    assert await statuses(client, paths) == [404] * 3


async def test_an_alert_past_its_expiry_is_not_public_even_before_it_is_marked_expired(
        client, clock):
    alert, photo = await published_with_photo(client, clock)
    paths = await public_paths(client, alert, photo)
    assert await statuses(client, paths) == [200] * 3
    clock.advance(hours=2, seconds=1)
    assert await statuses(client, paths) == [404] * 3
