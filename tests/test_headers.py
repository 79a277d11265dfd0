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


async def test_the_player_runs_no_inline_code(client):
    page = await client.get("/v1/feeds/net-a/landscape/player", params={"key": KEY_A})
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    html = await page.text()
    assert '<script src="/v1/player/player.js">' in html and "<style" not in html
    script = await client.get("/v1/player/player.js")
    assert script.status == 200 and script.content_type == "text/javascript"
    again = await client.get("/v1/player/player.js",
                             headers={"If-None-Match": script.headers["ETag"]})
    assert again.status == 304
    assert (await client.get("/v1/player/secrets.txt")).status == 404


async def test_every_console_page_allows_only_its_own_scripts(client):
    """Each GET page of the routes table under /console, signed out and signed in (a failed
    sign-in too): an HTML answer carries a policy that runs no inline script, and nothing is
    sniffed. Taken from the routes table, so a new console page cannot be left out."""
    from feedserver.routes import ROUTES

    alert = await publish(client, amber_alert())
    pages = sorted(r.path.replace("{alert_id}", alert["id"]) for r in ROUTES
                   if r.method == "GET" and r.path.startswith("/console")
                   and "{name}" not in r.path)
    refused = await client.post("/console/sign-in", data={"token": "not-a-token"})
    answers = [refused] + [await client.get(p, allow_redirects=False) for p in pages]
    signed_in = await client.post("/console/sign-in", data={"token": VIEWER},
                                  allow_redirects=False)
    assert signed_in.status == 303 and "feedserver_session" in signed_in.cookies
    answers += [await client.get(p, allow_redirects=False) for p in pages]
    assert [r.status for r in answers] == [401, *[303] * (len(pages) - 1), 200,
                                           *[200] * (len(pages) - 1), 303]
    html = [r for r in answers if r.content_type == "text/html"]
    assert len(html) == len(pages) + 1  # the refusal, the sign-in page, the signed-in pages
    for response in answers:
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.url
    for response in html:
        policy = dict(part.strip().split(" ", 1) for part in
                      response.headers["Content-Security-Policy"].split(";"))
        assert policy["script-src"] == "'self'" and policy["default-src"] == "'none'"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert "<script>" not in await response.text()


async def test_if_none_match_takes_a_list_and_weak_tags(client):
    """Players and proxies may send several ETags, or the weak form: each way, the one the
    feed has now means 304; others, or a tag that merely shares a prefix, do not."""
    feed = await client.get(f"/v1/feeds/net-a/landscape?key={KEY_A}")
    etag = feed.headers["ETag"]
    for header, status in ((f'"0000", {etag}', 304), (f"W/{etag}", 304), ("*", 304),
                           (f'"0000", W/{etag}, "1111"', 304), (etag[:-2] + '"', 200),
                           ('"0000", "1111"', 200)):
        answer = await client.get(f"/v1/feeds/net-a/landscape?key={KEY_A}",
                                  headers={"If-None-Match": header})
        assert answer.status == status, header
