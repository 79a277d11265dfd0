"""A live alert always has an expiry: a patch that removes it is refused, nothing changes.

Found by the console: an update sent `expires_at: null` for an alert published without one;
the server stored a live alert without expiry and answered 500 (the render cache and the
expiry clock could no longer read it)."""

from __future__ import annotations

from support.alerts import amber_alert
from support.api import auth, publish
from support.config import KEY_A, PUBLISHER


async def test_removing_the_expiry_of_a_live_alert_is_a_422(client):
    alert = await publish(client, amber_alert(expires_at=None))
    assert alert["expires_at"] is not None  # the default lifetime, set at publishing
    response = await client.patch(f"/v1/alerts/{alert['id']}", json={"expires_at": None},
                                  headers=auth(PUBLISHER))
    body = await response.json()
    assert response.status == 422, body
    assert body["error"]["details"][0]["field"] == "expires_at"
    stored = await (await client.get(f"/v1/alerts/{alert['id']}",
                                     headers=auth(PUBLISHER))).json()
    assert stored["version"] == alert["version"] and stored["expires_at"] == alert["expires_at"]
    document = await (await client.get("/v1/feeds/net-a/landscape",
                                       params={"key": KEY_A})).json()
    assert document["alerts"][0]["expires_at"] == alert["expires_at"]
