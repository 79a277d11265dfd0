"""Endpoints about the server itself: health and its OpenAPI description."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from feedserver import __version__
from feedserver.appkeys import POOL, SIGNING_KEYS, STORE
from feedserver.formats import compact_json
from feedserver.signing.jws import HEADER as JWS_HEADER
from feedserver.signing.jws import PUBLIC_READ, sign_detached

OPENAPI = resources.files("feedserver").joinpath("spec").joinpath("openapi.yaml")


async def healthz(request: web.Request) -> web.Response:
    """Healthy when the store answers and the worker pool can render; otherwise 503 naming
    what is not, so load balancers take the instance out and the person on call knows why."""
    problems = []
    try:
        await request.app[STORE].last_seq()
    except Exception as exc:
        problems.append(f"store: {type(exc).__name__}")
    pool_problem = request.app[POOL].problem()
    if pool_problem is not None:
        problems.append(pool_problem)
    if problems:
        return web.json_response({"status": "unavailable", "version": __version__,
                                  "problems": problems}, status=503)
    return web.json_response({"status": "ok", "version": __version__})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=OPENAPI.read_bytes(), content_type="application/yaml",
                        charset="utf-8")


async def keys(request: web.Request) -> web.Response:
    """The JWKS of the current and previous signing keys: public, and cacheable for a while.

    Signed by the previous key while there is one: a screen that trusts only the old key
    learns the new one from this answer, and from no one else."""
    ring = request.app[SIGNING_KEYS]
    body = compact_json(ring.jwks())
    return web.Response(body=body, content_type="application/json", headers={
        "Cache-Control": "public, max-age=300", **PUBLIC_READ,
        JWS_HEADER: sign_detached(body, ring.previous or ring.current)})
