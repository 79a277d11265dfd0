"""API errors as the contract shapes them, and the middleware that guarantees that shape.

Every failure a client can cause becomes a 4xx with a JSON body naming the field and the rule;
anything else is a bug, logged without request bodies (they may hold children's data).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

log = logging.getLogger(__name__)


@dataclass
class FieldError:
    field: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    details: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = [d.as_json() for d in self.details]
        return {"error": body}


def validation_failed(details: list[FieldError]) -> ApiError:
    first = details[0]
    return ApiError(422, "validation_failed", f"{first.field}: {first.message}", details)


def bad_request(message: str, code: str = "malformed_request") -> ApiError:
    return ApiError(400, code, message)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def conflict(message: str) -> ApiError:
    return ApiError(409, "transition_not_allowed", message)


def rate_limited(limit: str, message: str, wait_seconds: float) -> ApiError:
    """429 naming the limit (its config key), with Retry-After in whole seconds."""
    retry = max(1, math.ceil(wait_seconds))
    return ApiError(429, "rate_limited", f"{message} ({limit}); retry after {retry} s",
                    [FieldError(limit, f"limit reached; retry after {retry} s")],
                    headers={"Retry-After": str(retry)})


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error.as_json(), status=error.status, headers=error.headers)


_HTTP_CODES = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}

# The database cannot answer now (locked, disk full, connection lost). The change was not
# acknowledged and the store recovers by itself: the client retries (If-Match keeps a retry
# from applying twice if the connection broke during the commit).
STORE_UNAVAILABLE = ApiError(503, "store_unavailable",
                             "the store cannot answer for a moment; try again",
                             headers={"Retry-After": "2"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def error_middleware(store_unavailable: type[Exception]) -> Middleware:
    """Turn every error into the contract's JSON shape; never let a traceback reach a client.

    `store_unavailable` is the store's exception for "cannot answer now" (503); it is passed in
    so that this module knows no store.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as error:
            return error_response(error)
        except store_unavailable as exc:
            log.warning("store unavailable on %s %s: %s", request.method, request.path, exc)
            return error_response(STORE_UNAVAILABLE)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = _HTTP_CODES.get(exc.status, "http_error")
            headers = {k: v for k, v in exc.headers.items()
                       if k.lower() in ("allow", "retry-after")}
            return error_response(ApiError(exc.status, code, exc.reason, headers=headers))
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            return error_response(ApiError(500, "internal_error", "internal server error"))

    return middleware
