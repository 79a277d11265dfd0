"""The HTTP API as staff and players call it, asserting each call succeeded."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from support.config import EDITOR, PUBLISHER
from support.samples import drawn_photo


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create(client: TestClient, alert: dict[str, Any], token: str = EDITOR) -> dict:
    response = await client.post("/v1/alerts", json=alert, headers=auth(token))
    assert response.status == 201, await response.text()
    return await response.json()


async def publish(client: TestClient, alert: dict[str, Any]) -> dict:
    created = await create(client, alert)
    response = await client.post(f"/v1/alerts/{created['id']}/publish", headers=auth(PUBLISHER))
    assert response.status == 200, await response.text()
    return await response.json()


async def feed(client: TestClient, network: str, profile: str, key: str, **params: str) -> dict:
    response = await client.get(f"/v1/feeds/{network}/{profile}", params={"key": key, **params})
    assert response.status == 200, await response.text()
    return await response.json()


async def upload_photo(client: TestClient, data: bytes | None = None, token: str = EDITOR) -> str:
    """Uploads a JPEG (a drawn one unless given) and returns its photo id."""
    response = await client.post("/v1/photos", data=data or drawn_photo(),
                                 headers={**auth(token), "Content-Type": "image/jpeg"})
    assert response.status == 201, await response.text()
    return (await response.json())["id"]
