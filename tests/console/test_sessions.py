"""Console sessions over real HTTP: the cookie, CSRF on every change, sign-out, restarts."""

from __future__ import annotations

import re

from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestServer
from support.alerts import amber_alert
from support.api import auth, create
from support.config import EDITOR, PUBLISHER, VIEWER, config_data
from support.console import start_console

from feedserver.access_log import PathOnlyAccessLogger
from feedserver.app import create_app
from feedserver.config import parse_config

COOKIE = "feedserver_session"


async def sign_in(client, token: str, **headers: str) -> tuple[str, str]:
    """The session cookie's value and the CSRF token of the console page."""
    response = await client.post("/console/sign-in", data={"token": token, "next": "/console"},
                                 allow_redirects=False, headers=headers)
    assert response.status == 303, await response.text()
    value = response.cookies[COOKIE].value
    page = await (await client.get("/console", headers={"Cookie": f"{COOKIE}={value}"})).text()
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    return value, csrf


def cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}


async def test_the_cookie_is_http_only_strict_and_never_the_token(aiohttp_client, tmp_path):
    client = await start_console(aiohttp_client, tmp_path / "data")
    response = await client.post("/console/sign-in", data={"token": PUBLISHER},
                                 allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/console"
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header
    assert "Secure" not in header  # plain http here; see the https test below
    assert PUBLISHER not in header


async def test_the_cookie_is_secure_when_served_over_https(aiohttp_client, tmp_path):
    data = config_data(tmp_path / "data")
    data["server"]["public_url"] = "https://feeds.example"
    server = TestServer(create_app(parse_config(data)))
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    client = await aiohttp_client(server, cookie_jar=DummyCookieJar())
    response = await client.post("/console/sign-in", data={"token": PUBLISHER},
                                 allow_redirects=False)
    assert "Secure" in response.headers["Set-Cookie"]


async def test_a_change_with_the_cookie_alone_is_refused(aiohttp_client, tmp_path):
    client = await start_console(aiohttp_client, tmp_path / "data")
    session, csrf = await sign_in(client, EDITOR)

    response = await client.post("/v1/alerts", json=amber_alert(), headers=cookie(session))
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "csrf_failed"
    response = await client.post("/v1/alerts", json=amber_alert(),
                                 headers={**cookie(session), "X-CSRF-Token": csrf + "x"})
    assert response.status == 403
    listed = await (await client.get("/v1/alerts", headers=cookie(session))).json()
    assert listed["alerts"] == []  # reading needs no CSRF token, and nothing was written

    response = await client.post("/v1/alerts", json=amber_alert(),
                                 headers={**cookie(session), "X-CSRF-Token": csrf})
    created = await response.json()
    assert response.status == 201, created
    assert created["created_by"] == "eddie-editor"


async def test_bearer_tokens_work_as_before_and_ignore_the_cookie(aiohttp_client, tmp_path):
    client = await start_console(aiohttp_client, tmp_path / "data")
    session, _ = await sign_in(client, VIEWER)
    response = await client.post("/v1/alerts", json=amber_alert(),
                                 headers={**cookie(session), **auth(EDITOR)})
    assert response.status == 201
    assert (await response.json())["created_by"] == "eddie-editor"


async def test_a_viewer_session_cannot_publish(aiohttp_client, tmp_path):
    client = await start_console(aiohttp_client, tmp_path / "data")
    draft = await create(client, amber_alert())
    session, csrf = await sign_in(client, VIEWER)
    response = await client.post(f"/v1/alerts/{draft['id']}/publish",
                                 headers={**cookie(session), "X-CSRF-Token": csrf})
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"


async def test_sign_out_kills_a_copied_cookie_across_a_restart(aiohttp_client, tmp_path):
    client = await start_console(aiohttp_client, tmp_path / "data")
    kept, _ = await sign_in(client, PUBLISHER)
    session, csrf = await sign_in(client, PUBLISHER)
    response = await client.post("/console/sign-out", data={"csrf": csrf},
                                 headers=cookie(session), allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/console/sign-in?signed_out=1"
    assert response.cookies[COOKIE].value == ""
    assert (await client.get("/v1/alerts", headers=cookie(session))).status == 401

    restarted = await start_console(aiohttp_client, tmp_path / "data")
    assert (await restarted.get("/v1/alerts", headers=cookie(session))).status == 401
    # a session that did not sign out survives the restart
    assert (await restarted.get("/v1/alerts", headers=cookie(kept))).status == 200


async def test_sign_out_needs_the_page_csrf_token(aiohttp_client, tmp_path):
    client = await start_console(aiohttp_client, tmp_path / "data")
    session, _ = await sign_in(client, PUBLISHER)
    response = await client.post("/console/sign-out", data={"csrf": "forged"},
                                 headers=cookie(session), allow_redirects=False)
    assert response.status == 403
    assert (await client.get("/v1/alerts", headers=cookie(session))).status == 200


async def test_a_changed_token_ends_that_members_sessions(aiohttp_client, tmp_path):
    client = await start_console(aiohttp_client, tmp_path / "data")
    session, _ = await sign_in(client, PUBLISHER)
    data = config_data(tmp_path / "data")
    for member in data["staff"]:
        if member["name"] == "pia-publisher":
            member["token"] = "t-publisher-rotated"
    server = TestServer(create_app(parse_config(data)))
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    rotated = await aiohttp_client(server, cookie_jar=DummyCookieJar())
    assert (await rotated.get("/v1/alerts", headers=cookie(session))).status == 401


async def test_a_forged_or_unknown_sign_in_is_refused(aiohttp_client, tmp_path):
    client = await start_console(aiohttp_client, tmp_path / "data")
    response = await client.post("/console/sign-in", data={"token": "not-a-token"},
                                 allow_redirects=False)
    assert response.status == 401 and COOKIE not in response.cookies
    assert "not known" in await response.text()
    response = await client.post("/console/sign-in", data={"token": " "}, allow_redirects=False)
    assert response.status == 400 and COOKIE not in response.cookies
    response = await client.post("/console/sign-in", data={"token": PUBLISHER},
                                 headers={"Origin": "https://evil.example"},
                                 allow_redirects=False)
    assert response.status == 403 and COOKIE not in response.cookies
    session, _ = await sign_in(client, PUBLISHER)
    name, expires, mac = session.split(".")[1:]
    other = session.split(".")[0] + ".cXVpbm4tcHVibGlzaGVy." + expires + "." + mac
    assert (await client.get("/v1/alerts", headers=cookie(other))).status == 401
    assert name  # the forged cookie named quinn-publisher with pia-publisher's signature


async def test_pages_need_a_session_speak_dutch_and_run_no_inline_script(aiohttp_client,
                                                                          tmp_path):
    client = await start_console(aiohttp_client, tmp_path / "data")
    response = await client.get("/console/alerts/new", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/console/sign-in?next=/console/alerts/new"
    session, _ = await sign_in(client, PUBLISHER)
    response = await client.get("/console/alerts/new", headers={
        **cookie(session), "Accept-Language": "de-DE, nl;q=0.8, en;q=0.5"})
    page = await response.text()
    assert response.headers["Content-Language"] == "nl" and '<html lang="nl">' in page
    assert "Concept opslaan" in page
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    scripts = re.findall(r"<script([^>]*)>", page)
    assert all('src="/console/static/' in s or 'type="application/json"' in s for s in scripts)
    for name in ("console.js", "console.css"):
        assert (await client.get(f"/console/static/{name}")).status == 200
    assert (await client.get("/console/static/../sessions.py")).status == 404


async def test_odd_characters_in_the_cookie_or_the_csrf_token_are_refused_not_a_500(
        aiohttp_client, tmp_path):
    """Found by Schemathesis: a non-ASCII CSRF token (form or header) or cookie signature
    reached `hmac.compare_digest` with a str it cannot compare, and a superscript digit as the
    cookie's expiry passed `isdigit()` but not `int()`: each was a 500."""
    client = await start_console(aiohttp_client, tmp_path / "data")
    session, _ = await sign_in(client, PUBLISHER)
    response = await client.post("/console/sign-out", data={"csrf": "jeté"},
                                 headers=cookie(session), allow_redirects=False)
    assert response.status == 403
    response = await client.post("/v1/alerts", json=amber_alert(),
                                 headers={**cookie(session), "X-CSRF-Token": "jeté"})
    assert response.status == 403
    session_id, name, expires, mac = session.split(".")
    for forged in (f"{session_id}.{name}.{expires}.{mac[:-1]}é",
                   f"{session_id}.{name}.{expires}²."):
        response = await client.get("/v1/alerts", headers=cookie(forged))
        assert response.status == 401, forged
