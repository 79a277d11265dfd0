"""Endpoints about the server itself: health and its OpenAPI description."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from feedserver import __version__
from feedserver.appkeys import POOL, STORE

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
