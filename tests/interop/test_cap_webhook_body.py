"""The body a `format: cap` webhook delivers for each event: a schema-valid CAP message."""

from __future__ import annotations

from conftest import PUBLISHER, amber_alert, auth, publish
from interop_support import CAP, assert_valid_cap, text

from feedserver.appkeys import CONFIG, STORE
from feedserver.interop.capservice import AppSources, cap_delivery_body


async def test_publish_update_resolve_cancel_bodies(client):
    resolved = await publish(client, amber_alert())
    response = await client.patch(f"/v1/alerts/{resolved['id']}", json={"message": "Update."},
                                  headers=auth(PUBLISHER))
    assert response.status == 200
    response = await client.post(f"/v1/alerts/{resolved['id']}/resolve",
                                 json={"message": "Gevonden."}, headers=auth(PUBLISHER))
    assert response.status == 200
    cancelled = await publish(client, amber_alert())
    response = await client.post(f"/v1/alerts/{cancelled['id']}/cancel",
                                 json={"reason": "Vergissing"}, headers=auth(PUBLISHER))
    assert response.status == 200

    sources = AppSources(client.app[CONFIG], client.app[STORE])
    network = client.app[CONFIG].network("net-a")
    seen = []
    for event in await client.app[STORE].events_since(0):
        body = await cap_delivery_body(sources, event, network, None)
        assert body == await cap_delivery_body(sources, event, network, None)  # retries agree
        root = assert_valid_cap(body)
        assert text(root, "cap:identifier") == \
            f"feedserver-{event.alert['id']}-v{event.alert['version']}"
        response_types = {e.text for e in root.iter(CAP + "responseType")}
        refs = len((text(root, "cap:references") or "").split())
        seen.append((event.type, text(root, "cap:msgType"), sorted(response_types), refs))
    assert seen == [
        ("alert.published", "Alert", ["Monitor"], 0),
        ("alert.updated", "Update", ["Monitor"], 1),
        ("alert.resolved", "Update", ["AllClear"], 2),
        ("alert.published", "Alert", ["Monitor"], 0),
        ("alert.cancelled", "Cancel", [], 1),
    ]
