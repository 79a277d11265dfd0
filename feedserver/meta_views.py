"""Endpoints about the server itself: health and its OpenAPI description."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from feedserver import __version__
from feedserver.appkeys import STORE

OPENAPI = resources.files("feedserver").joinpath("spec").joinpath("openapi.yaml")


async def healthz(request: web.Request) -> web.Response:
    """Healthy when the store answers; load balancers take an instance out otherwise."""
    try:
        await request.app[STORE].last_seq()
    except Exception:
        return web.json_response({"status": "unavailable", "version": __version__}, status=503)
    return web.json_response({"status": "ok", "version": __version__})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=OPENAPI.read_bytes(), content_type="application/yaml",
                        charset="utf-8")
