"""The auth matrix, generated from the routes table: every route (every method of every path
the app has, so a new route cannot be left out) × every kind of caller → the status its
declared access promises, over real HTTP. A refusal is exactly 401 or 403; an admitted caller
is never 401 or 403 (a 4xx about the request itself is fine); nothing is ever 5xx."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient
from support.alerts import amber_alert
from support.api import auth, publish, upload_photo
from support.config import ADMIN, EDITOR, KEY_A, KEY_B, PUBLISHER, VIEWER

from feedserver.auth import access_of
from feedserver.config import ROLES
from feedserver.routes import ROUTES

CALLERS = {
    "nobody": {},
    "network key of net-a": auth(KEY_A),
    "network key of net-b": auth(KEY_B),
    "viewer": auth(VIEWER),
    "editor": auth(EDITOR),
    "publisher": auth(PUBLISHER),
    "admin": auth(ADMIN),
}
ADMITTED, UNAUTHORISED, FORBIDDEN = "admitted", 401, 403
ANSWERED = "answered"  # a public route: the access layer refuses no one (its handler may)
TO_SIGN_IN = 303  # a console page without a session cookie: a bearer token is no session


def expected(access: str, caller: str) -> str | int:
    """What a route's declared access promises this caller (paths name network net-a)."""
    staff_role = caller if caller in ROLES else None
    if access == "public":
        return ANSWERED
    if access.startswith("staff:"):
        if staff_role is None:
            return UNAUTHORISED
        needed = access.removeprefix("staff:")
        return ADMITTED if ROLES.index(staff_role) >= ROLES.index(needed) else FORBIDDEN
    if access == "network_key":
        return {"nobody": UNAUTHORISED, "network key of net-b": FORBIDDEN}.get(caller, ADMITTED)
    if access == "any_key":
        return UNAUTHORISED if caller == "nobody" else ADMITTED
    if access == "console_session":
        return TO_SIGN_IN
    raise AssertionError(f"an access this matrix does not know: {access!r}")


async def path_values(client: TestClient) -> dict[str, str]:
    """Real ids for every placeholder, so an admitted call reaches its handler's own checks."""
    photo = await upload_photo(client)
    alert = await publish(client, amber_alert(children=[{**amber_alert()["children"][0],
                                                         "photo": photo}]))
    feed = await (await client.get("/v1/feeds/net-a/landscape", headers=auth(KEY_A))).json()
    render = feed["alerts"][0]["renders"]["png"]
    digest, ext = re.search(r"/v1/renders/([0-9a-f]+)\.(\w+)$", render).groups()
    return {"alert_id": alert["id"], "network": "net-a", "profile": "landscape",
            "photo_id": photo, "digest": digest, "ext": ext, "name": "console.js"}


async def test_every_route_answers_every_caller_as_its_access_declares(client):
    values = await path_values(client)
    routes = [(route.method, route.resource.canonical, access_of(route.handler))
              for route in client.app.router.routes() if route.method != "HEAD"]
    cells = 0
    wrong = []
    for method, template, access in routes:
        assert access is not None, f"{method} {template} declares no access"
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        for caller, headers in CALLERS.items():
            async with client.request(method, path, headers=headers,
                                      allow_redirects=False) as response:
                status = response.status
                signing_in = response.headers.get("Location", "").startswith("/console/sign-in")
            promised = expected(access, caller)
            cells += 1
            ok = status < 500 and (promised == ANSWERED or (
                status not in (401, 403) if promised == ADMITTED else status == promised))
            if promised == TO_SIGN_IN:
                ok = ok and signing_in
            if not ok:
                wrong.append(f"{method} {template} as {caller}: {status}, promised {promised}")
    assert wrong == [], "\n".join(wrong)
    assert len(routes) == len(ROUTES) and cells == len(ROUTES) * len(CALLERS)


@pytest.mark.parametrize("caller", ["viewer", "admin"])
async def test_a_staff_token_in_the_url_is_nobody(client, caller):
    token = {"viewer": VIEWER, "admin": ADMIN}[caller]
    response = await client.get("/v1/feeds/net-a/landscape", params={"key": token})
    assert response.status == 401
