"""openapi.yaml describes the running server: every route, and the real answers' shapes."""

from __future__ import annotations

import io
import json

import pytest
import yaml
from openapi_spec_validator import validate
from PIL import Image
from support.alerts import amber_alert
from support.api import auth
from support.config import EDITOR, KEY_A, KEY_B, PUBLISHER, VIEWER
from support.openapi import SPEC_PATH, CheckedClient


@pytest.fixture(scope="module")
def spec() -> dict:
    document = yaml.safe_load(SPEC_PATH.read_text())
    validate(document)
    return document


def test_every_route_is_documented_and_every_documented_path_is_routed(spec):
    from feedserver.routes import ROUTES

    routed = {(r.method.lower(), r.path) for r in ROUTES}
    documented = {(method, path) for path, item in spec["paths"].items()
                  for method in item if method in ("get", "post", "patch", "put", "delete")}
    assert routed - documented == set(), "routes missing from openapi.yaml"
    assert documented - routed == set(), "documented paths the server does not have"


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def test_real_answers_match_the_spec(client, spec):
    api = CheckedClient(client, spec)
    await api.call("GET", "/healthz", expect=200)
    await api.call("GET", "/v1/openapi.yaml", expect=200)
    photo = json.loads(await api.call(
        "POST", "/v1/photos", expect=201, data=png_bytes(),
        headers={**auth(EDITOR), "Content-Type": "image/png"}))
    await api.call("GET", f"/v1/photos/{photo['id']}", expect=200, headers=auth(VIEWER))
    child = {"name": "Fleur Testkind", "age": 9, "photo": photo["id"]}
    draft = json.loads(await api.call("POST", "/v1/alerts", expect=201, headers=auth(EDITOR),
                                      json=amber_alert(children=[child])))
    alert_url = f"/v1/alerts/{draft['id']}"
    await api.call("GET", alert_url, expect=200, headers=auth(VIEWER))
    await api.call("GET", "/v1/alerts", expect=200, headers=auth(VIEWER),
                   params={"status": "draft"})
    await api.call("PATCH", alert_url, expect=200, json={"message": "Bel 112"},
                   headers={**auth(EDITOR), "Content-Type": "application/merge-patch+json"})
    await api.call("POST", alert_url + "/publish", expect=412,
                   headers={**auth(PUBLISHER), "If-Match": '"v1"'})
    await api.call("POST", alert_url + "/publish", expect=200,
                   headers={**auth(PUBLISHER), "If-Match": '"v2"'})
    body = await api.call("GET", "/v1/feeds/net-a/landscape", expect=200,
                          params={"key": KEY_A, "screen": "s-1"})
    assert json.loads(body)["state"] == "alert"
    response = await client.get("/v1/feeds/net-a/landscape", params={"key": KEY_A})
    await api.call("GET", "/v1/feeds/net-a/landscape", expect=304, params={"key": KEY_A},
                   headers={"If-None-Match": response.headers["ETag"]})
    await api.call("POST", alert_url + "/resolve", expect=200, headers=auth(PUBLISHER),
                   json={"message": {"nl": "Gevonden"}})
    await api.call("GET", alert_url + "/history", expect=200, headers=auth(VIEWER))
    await api.call("GET", alert_url + "/receipts", expect=200, headers=auth(VIEWER))
    await api.call("POST", alert_url + "/cancel", expect=409, headers=auth(PUBLISHER),
                   json={"reason": "too late"})
    await api.call("POST", "/v1/alerts", expect=422, headers=auth(EDITOR),
                   json=amber_alert(children=[]))
    await api.call("POST", "/v1/alerts", expect=415, headers=auth(EDITOR), data=b"x")
    await api.call("GET", "/v1/alerts", expect=401)
    await api.call("GET", "/v1/feeds/net-b/atm", expect=403, params={"key": KEY_A})
    await api.call("GET", "/v1/feeds/net-b/atm", expect=200, params={"key": KEY_B})
    await api.call("GET", "/v1/alerts/a_0000000000000000", expect=404, headers=auth(VIEWER))


async def test_served_document_is_the_spec_these_tests_check(client, spec):
    response = await client.get("/v1/openapi.yaml")
    assert response.status == 200 and response.content_type == "application/yaml"
    assert yaml.safe_load(await response.read()) == spec
