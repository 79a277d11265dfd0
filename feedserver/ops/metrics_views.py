"""`GET /metrics`: the Prometheus text format, for staff with the admin role."""

from __future__ import annotations

from aiohttp import web

from feedserver.appkeys import METRICS


async def metrics(request: web.Request) -> web.Response:
    return await request.app[METRICS].page(request)
