"""Odd JSON bodies (deep nesting, huge numbers, non-finite constants) get a 400 naming the
problem, on every endpoint that reads JSON, and change nothing."""

from __future__ import annotations

import pytest
from support.alerts import amber_alert
from support.api import auth, create
from support.config import EDITOR, PUBLISHER

JSON = {"Content-Type": "application/json"}
DEEP = b'{"message": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
HUGE_INT = b'{"children": [{"name": "Kim Verzonnen", "age": ' + b"9" * 5_000 + b"}]}"
ODD_BODIES = [
    pytest.param(DEEP, "nested deeper than", id="nested-10000"),
    pytest.param(b'{"a": ' + b'{"b": ' * 40 + b"1" + b"}" * 41, "nested deeper than",
                 id="nested-41"),
    pytest.param(HUGE_INT, "number longer than", id="int-5000-digits"),
    pytest.param(b'{"test": 1' + b"0" * 400 + b".5}", "number longer than", id="float-400"),
    pytest.param(b'{"test": 1e999}', "not a finite number", id="float-inf"),
    pytest.param(b'{"test": NaN}', "NaN", id="nan"),
]


async def assert_400(response, problem: str) -> None:
    body = await response.json()
    assert response.status == 400, body
    assert body["error"]["code"] == "malformed_request"
    assert problem in body["error"]["message"], body


@pytest.mark.parametrize(("body", "problem"), ODD_BODIES)
async def test_create_refuses_odd_json(client, body, problem):
    response = await client.post("/v1/alerts", data=body, headers={**auth(EDITOR), **JSON})
    await assert_400(response, problem)
    listed = await client.get("/v1/alerts", headers=auth(EDITOR))
    assert (await listed.json())["alerts"] == []


@pytest.mark.parametrize(("body", "problem"), ODD_BODIES)
async def test_patch_and_lifecycle_refuse_odd_json(client, body, problem):
    draft = await create(client, amber_alert())
    response = await client.patch(f"/v1/alerts/{draft['id']}", data=body, headers={
        **auth(EDITOR), "Content-Type": "application/merge-patch+json"})
    await assert_400(response, problem)
    response = await client.post(f"/v1/alerts/{draft['id']}/cancel", data=body,
                                 headers={**auth(PUBLISHER), **JSON})
    await assert_400(response, problem)
    current = await client.get(f"/v1/alerts/{draft['id']}", headers=auth(EDITOR))
    assert (await current.json())["version"] == 1 and (await current.json())["status"] == "draft"


async def test_ordinary_depth_and_numbers_still_pass(client):
    draft = await create(client, amber_alert(children=[
        {"name": "Kim Verzonnen", "age": 9, "height_cm": 130}]))
    assert draft["children"][0]["age"] == 9 and draft["children"][0]["height_cm"] == 130
