"""The interop endpoints answer as openapi.yaml says."""

from __future__ import annotations

import json

import yaml
from support.alerts import amber_alert
from support.api import auth, publish
from support.cap import fixture
from support.config import KEY_A, PUBLISHER, VIEWER
from support.openapi import SPEC_PATH, CheckedClient


async def test_interop_answers_match_the_spec(client):
    api = CheckedClient(client, yaml.safe_load(SPEC_PATH.read_text()))
    cap_headers = {**auth(PUBLISHER), "Content-Type": "application/cap+xml"}
    draft = json.loads(await api.call("POST", "/v1/ingest/cap", expect=201, headers=cap_headers,
                                      data=fixture("oasis-appendix-a4-amber.xml")))
    await api.call("POST", "/v1/ingest/cap", expect=200, headers=cap_headers,
                   data=fixture("oasis-appendix-a4-amber.xml"))
    await api.call("POST", "/v1/ingest/cap", expect=422, headers=cap_headers,
                   data=fixture("oasis-appendix-a3-update.xml"))
    await api.call("POST", "/v1/ingest/cap", expect=400, headers=cap_headers, data=b"<x")
    await api.call("POST", "/v1/ingest/cap", expect=415, headers=auth(PUBLISHER), data=b"<x/>")
    await api.call("GET", f"/v1/alerts/{draft['id']}/cap.xml", expect=200, headers=auth(VIEWER))
    await api.call("GET", f"/v1/cap/{draft['id']}.xml", expect=404, params={"key": KEY_A})
    alert = await publish(client, amber_alert())
    await api.call("GET", f"/v1/cap/{alert['id']}.xml", expect=200, params={"key": KEY_A})
    response = await client.get(f"/v1/cap/{alert['id']}.xml", params={"key": KEY_A})
    await api.call("GET", f"/v1/cap/{alert['id']}.xml", expect=304, params={"key": KEY_A},
                   headers={"If-None-Match": response.headers["ETag"]})
    await api.call("GET", f"/v1/cap/{alert['id']}.xml", expect=401)
    await api.call("GET", f"/v1/cap/{alert['id']}/photos/p_{'0' * 24}", expect=404)
    for kind in ("rss", "atom"):
        url = f"/v1/feeds/net-a/landscape/{kind}"
        await api.call("GET", url, expect=200, params={"key": KEY_A, "screen": "s-1"})
        response = await client.get(url, params={"key": KEY_A})
        await api.call("GET", url, expect=304, params={"key": KEY_A},
                       headers={"If-None-Match": response.headers["ETag"]})
        await api.call("GET", url, expect=400, params={"key": KEY_A, "region": "utrecht"})
