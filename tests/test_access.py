"""Who may do what: staff roles, network isolation, and drafts never reaching a screen."""

from __future__ import annotations

import pytest
from aiohttp import web
from support.alerts import amber_alert, missing_child_alert
from support.api import auth, create, publish
from support.config import ADMIN, EDITOR, KEY_A, KEY_B, PUBLISHER, VIEWER

from feedserver.app import create_app
from feedserver.auth import access_of

FEEDS = [("net-a", "landscape"), ("net-a", "amber-only"), ("net-a", "utrecht"),
         ("net-a", "tests"), ("net-b", "atm")]
KEYS = {"net-a": KEY_A, "net-b": KEY_B}


async def test_key_of_network_a_never_reads_network_b(client):
    await publish(client, amber_alert())
    response = await client.get("/v1/feeds/net-b/atm", params={"key": KEY_A})
    assert response.status == 403
    assert "another network" in (await response.json())["error"]["message"]
    response = await client.get("/v1/feeds/net-b/atm", headers=auth(KEY_A))
    assert response.status == 403
    response = await client.get("/v1/feeds/net-b/atm", headers=auth(KEY_B))
    assert response.status == 200


async def test_feed_needs_a_known_key(client):
    assert (await client.get("/v1/feeds/net-a/landscape")).status == 401
    assert (await client.get("/v1/feeds/net-a/landscape?key=wrong-key-123")).status == 401
    response = await client.get("/v1/feeds/net-a/landscape", headers={"Authorization": "Basic x"})
    assert response.status == 401


async def test_an_unknown_network_answers_like_a_known_one_so_ids_cannot_be_probed(client):
    for network in ("net-x", "net-b"):  # net-x does not exist; net-b is not KEY_A's
        path = f"/v1/feeds/{network}/atm"
        assert (await client.get(path)).status == 401
        assert (await client.get(path, params={"key": "guessed-key-1"})).status == 401
        assert (await client.get(path, params={"key": KEY_A})).status == 403
    # staff may read every feed, so they learn which do not exist
    assert (await client.get("/v1/feeds/net-x/atm", headers=auth(VIEWER))).status == 404
    assert (await client.get("/v1/feeds/net-a/nothing", params={"key": KEY_A})).status == 404


async def test_a_staff_token_counts_only_in_the_authorization_header(client):
    """A token in a URL lands in page source, browser history and proxy logs."""
    assert (await client.get("/v1/feeds/net-a/landscape", headers=auth(VIEWER))).status == 200
    assert (await client.get("/v1/feeds/net-a/landscape",
                             params={"key": VIEWER})).status == 401
    alert = await publish(client, amber_alert())
    assert (await client.get(f"/v1/cap/{alert['id']}.xml", params={"key": VIEWER})).status == 401
    assert (await client.get(f"/v1/cap/{alert['id']}.xml", headers=auth(VIEWER))).status == 200


async def test_network_key_is_not_a_staff_token(client):
    response = await client.get("/v1/alerts", headers=auth(KEY_A))
    assert response.status == 401


@pytest.mark.parametrize(("token", "status"), [(VIEWER, 403), (EDITOR, 403), (PUBLISHER, 200),
                                               (ADMIN, 200)])
async def test_only_publishers_publish(client, token, status):
    draft = await create(client, amber_alert())
    response = await client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(token))
    assert response.status == status
    if status == 403:
        assert "publisher" in (await response.json())["error"]["message"]


async def test_viewer_reads_but_cannot_create(client):
    response = await client.post("/v1/alerts", json=amber_alert(), headers=auth(VIEWER))
    assert response.status == 403
    assert (await client.get("/v1/alerts", headers=auth(VIEWER))).status == 200
    assert (await client.get("/v1/alerts")).status == 401


async def test_a_draft_never_appears_in_any_feed(client):
    draft = await create(client, amber_alert(test=True, regions=["NL"]))
    await create(client, missing_child_alert())
    await client.patch(f"/v1/alerts/{draft['id']}", json={"test": False}, headers=auth(EDITOR))
    for network, profile in FEEDS:
        response = await client.get(f"/v1/feeds/{network}/{profile}",
                                    params={"key": KEYS[network]})
        document = await response.json()
        assert document["state"] == "idle" and document["alerts"] == [], (network, profile)


def test_every_route_declares_its_access(make_config):
    """Access is declared in the routes table; a route without a declaration is a hole."""
    app = create_app(make_config())
    routes = [(route.method, route.resource.canonical, access_of(route.handler))
              for route in app.router.routes()]
    assert routes and [r for r in routes if r[2] is None] == []
    declared = {(method, path): access for method, path, access in routes}
    assert declared["POST", "/v1/alerts/{alert_id}/publish"] == "staff:publisher"
    assert declared["GET", "/v1/feeds/{network}/{profile}"] == "network_key"
    assert declared["GET", "/healthz"] == "public"


async def test_a_route_without_a_declared_access_is_caught(make_config):
    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    app = create_app(make_config())
    app.router.add_get("/v1/undeclared", handler)
    assert [r.resource.canonical for r in app.router.routes()
            if access_of(r.handler) is None] == ["/v1/undeclared", "/v1/undeclared"]
