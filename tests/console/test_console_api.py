"""The console's API calls: the dry-run rules check, previews of unsaved content, and the
reach over time that the alerts list draws."""

from __future__ import annotations

import io
import re

import pytest
import yaml
from PIL import Image
from support.alerts import amber_alert, missing_child_alert
from support.api import auth, create
from support.config import EDITOR, KEY_A, KEY_B, PUBLISHER, VIEWER
from support.openapi import SPEC_PATH, CheckedClient

from feedserver.appkeys import CONFIG, RECEIPTS, STORE


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())


async def test_an_18_year_old_in_an_amber_alert_is_flagged_without_saving(client, spec):
    api = CheckedClient(client, spec)
    child = {"name": "Fleur Testkind", "age": 18}
    body = await api.call("POST", "/v1/alerts/validate", expect=200, headers=auth(VIEWER),
                          json=amber_alert(children=[child], circumstance="family_abduction"))
    answer = yaml.safe_load(body)
    assert answer["valid"] is False
    fields = [e["field"] for e in answer["errors"]]
    assert fields == ["children[0].age", "circumstance"]
    assert "under 18" in answer["errors"][0]["message"]

    body = await api.call("POST", "/v1/alerts/validate", expect=200, headers=auth(VIEWER),
                          json=amber_alert())
    assert yaml.safe_load(body) == {"valid": True, "errors": []}
    shape = yaml.safe_load(await api.call("POST", "/v1/alerts/validate", expect=200,
                                          headers=auth(VIEWER), json={"kind": "amber",
                                                                      "children": "Fleur"}))
    assert shape["errors"][0] == {"field": "children", "message": "must be a list"}
    await api.call("POST", "/v1/alerts/validate", expect=401, json=amber_alert())
    assert await client.app[STORE].list_alerts() == []


async def test_a_preview_of_unsaved_content_has_one_tile_per_profile(client, spec):
    api = CheckedClient(client, spec)
    # no last_seen: renders of such an alert used to fail in the pool
    body = await api.call("POST", "/v1/previews", expect=200, headers=auth(VIEWER),
                          json=missing_child_alert(test=True, regions=["NL"]))
    wall = yaml.safe_load(body)
    profiles = [(n.id, p.id) for n in client.app[CONFIG].current.networks for p in n.profiles]
    assert [(t["network"], t["profile"]) for t in wall["tiles"]] == profiles
    reached = {t["profile"]: t["reaches"] for t in wall["tiles"]}
    # a test alert: only the profile that takes test alerts; the others get a tile all the same
    assert reached == {"landscape": False, "amber-only": False, "utrecht": False,
                       "tests": True, "atm": False}
    assert wall["headline"] == {"nl": "TEST Vermist Kind Alert: Daan Verzonnen (14)"}
    for tile in wall["tiles"]:
        response = await client.get(tile["image"], headers=auth(VIEWER))
        assert response.status == 200 and response.content_type == "image/jpeg"
        image = Image.open(io.BytesIO(await response.read()))
        assert f"{image.width}x{image.height}" == tile["size"]
        assert tile["smallest_text_px"] > 0 and tile["lowest_contrast"] >= 1
    assert (await client.get(wall["tiles"][0]["image"])).status == 401
    assert await client.app[STORE].list_alerts() == []  # nothing was saved

    await api.call("GET", wall["tiles"][0]["image"], expect=200, headers=auth(VIEWER))
    await api.call("GET", "/v1/previews/" + "0" * 40 + ".jpg", expect=404, headers=auth(VIEWER))
    await api.call("POST", "/v1/previews", expect=422, headers=auth(VIEWER),
                   json={"children": [{"name": "Daan"}]})


async def test_a_preview_reports_what_a_small_screen_leaves_out(client):
    long_message = {"nl": "Heeft u Fleur gezien? " * 40, "en": "Have you seen Fleur? " * 40}
    response = await client.post("/v1/previews", headers=auth(VIEWER),
                                 json=amber_alert(message=long_message))
    tiles = {t["profile"]: t for t in (await response.json())["tiles"]}
    assert "message" in tiles["utrecht"]["dropped"]  # 840x400
    assert any("left out" in w and "message" in w for w in tiles["utrecht"]["warnings"])


async def test_the_list_shows_reach_over_time_per_network(client):
    draft = await create(client, amber_alert())
    await client.post(f"/v1/alerts/{draft['id']}/publish", headers=auth(PUBLISHER))
    for screen in ("s-1", "s-2", "s-3"):
        await client.get("/v1/feeds/net-a/landscape", params={"key": KEY_A, "screen": screen})
    await client.get("/v1/feeds/net-b/atm", params={"key": KEY_B, "screen": "atm-1"})
    await client.app[RECEIPTS].flush()

    timeline = await client.app[STORE].receipts_timeline(draft["id"])
    assert {row["network"]: row["screens"] for row in timeline} == {"net-a": 3, "net-b": 1}
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:00\+00:00$", r["at"]) for r in timeline)

    response = await client.post("/console/sign-in", data={"token": EDITOR},
                                 allow_redirects=False)
    session = response.cookies["feedserver_session"].value
    page = await (await client.get("/console", headers={
        "Cookie": f"feedserver_session={session}"})).text()
    assert "4 screens in 2 networks" in page
    label = re.search(r'<svg class="chart" role="img" aria-label="([^"]+)"', page).group(1)
    assert label.endswith("net-a 3, net-b 1")
    assert page.count("<polyline") == 2  # one line per network, told apart by dash pattern
