"""Every answer says what it is and must not be sniffed as anything else; an html creative
runs no script and loads nothing but what it carries."""

from __future__ import annotations

from support.alerts import amber_alert
from support.api import auth, publish
from support.config import KEY_A, VIEWER


async def test_no_answer_may_be_sniffed(client):
    alert = await publish(client, amber_alert())
    feed = await client.get("/v1/feeds/net-a/landscape", params={"key": KEY_A})
    answers = [
        feed,
        await client.get("/v1/feeds/net-a/landscape", params={"key": KEY_A},
                         headers={"If-None-Match": feed.headers["ETag"]}),
        await client.get("/v1/feeds/net-a/landscape"),  # 401
        await client.get("/v1/nothing-here"),  # 404
        await client.get(f"/v1/alerts/{alert['id']}", headers=auth(VIEWER)),
        await client.get(f"/v1/cap/{alert['id']}.xml", params={"key": KEY_A}),
        await client.get("/v1/feeds/net-a/landscape/current.png", params={"key": KEY_A}),
        await client.get("/healthz"),
    ]
    assert [r.status for r in answers] == [200, 304, 401, 404, 200, 200, 200, 200]
    assert all(r.headers.get("X-Content-Type-Options") == "nosniff" for r in answers)


async def test_an_html_creative_is_sandboxed_to_what_it_carries(client):
    await publish(client, amber_alert())
    response = await client.get("/v1/feeds/net-a/landscape/current.html", params={"key": KEY_A})
    assert response.status == 200
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "script-src" not in policy  # none: default-src 'none' covers it
    body = await response.text()
    assert "<script" not in body and "src=\"http" not in body
    image = await client.get("/v1/feeds/net-a/landscape/current.png", params={"key": KEY_A})
    assert "Content-Security-Policy" not in image.headers
