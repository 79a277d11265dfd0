"""No input makes a 500, and no child's name or network key reaches the logs."""

from __future__ import annotations

import logging

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.alerts import amber_alert
from support.api import auth, create, publish
from support.config import EDITOR, KEY_A, PUBLISHER

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
FIELDS = ["kind", "circumstance", "test", "regions", "languages", "children", "suspects",
          "vehicles", "last_seen", "message", "contact", "expires_at", "policy_override"]
alert_like = st.fixed_dictionaries({}, optional={f: json_values for f in FIELDS})
mutations = st.builds(lambda base, junk: {**base, **junk},
                      st.just(amber_alert()), alert_like)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=mutations)
async def test_random_alert_bodies_never_cause_a_500(client, body):
    response = await client.post("/v1/alerts", json=body, headers=auth(EDITOR))
    assert response.status in (201, 400, 403, 422), await response.text()  # 403: an override


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patch=alert_like)
async def test_random_patches_never_cause_a_500(client, patch):
    draft = await create(client, amber_alert())
    response = await client.patch(f"/v1/alerts/{draft['id']}", json=patch, headers=auth(EDITOR))
    assert response.status in (200, 400, 403, 422), await response.text()  # 403: an override


async def test_logs_never_name_the_child(client, caplog):
    caplog.set_level(logging.DEBUG)
    name = "Zoë Logtestkind"
    alert = await publish(client, amber_alert(children=[{"name": name, "age": 7}]))
    await client.get("/v1/feeds/net-a/landscape", params={"key": KEY_A, "screen": "s-9"})
    await client.post(f"/v1/alerts/{alert['id']}/cancel", json={"reason": "test"},
                      headers=auth(PUBLISHER))
    await client.post("/v1/alerts", json=amber_alert(children=[{"name": name, "age": 30}]),
                      headers=auth(EDITOR))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Logtestkind" not in logged and KEY_A not in logged
