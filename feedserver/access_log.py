"""An access log without query strings: `?key=` carries network keys, and logs travel far.

The fields also travel as the record's `extra`, so the JSON log format has them as members.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class PathOnlyAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        fields = {"remote": request.remote, "method": request.method, "path": request.path,
                  "status": response.status, "duration_ms": round(time * 1000, 1)}
        self.logger.info("%(remote)s %(method)s %(path)s %(status)d %(duration_ms).1fms",
                         fields, extra=fields)
