"""Request helpers shared by the views: bounded JSON bodies and the query's screen facts."""

from __future__ import annotations

import json
import re

from aiohttp import web

from feedserver.config import REGION_RE
from feedserver.errors import ApiError, FieldError, bad_request
from feedserver.formats import compact_json
from feedserver.jsonlimits import OddJson, bounded_json

MAX_JSON_BYTES = 256 * 1024
JSON_TYPES = ("application/json",)
PATCH_TYPES = ("application/merge-patch+json", "application/json")
SCREEN_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, refusing anything over `limit` bytes with 413 before reading it all."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "body_too_large", f"body is larger than {limit} bytes")
    body = await request.content.read(limit + 1)
    while len(body) <= limit and not request.content.at_eof():
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) > limit:
        raise ApiError(413, "body_too_large", f"body is larger than {limit} bytes")
    return body


async def read_json(request: web.Request, types: tuple[str, ...] = JSON_TYPES,
                    *, optional: bool = False) -> dict:
    """A JSON object body: 415 for another type, 413 when too big, 400 when malformed."""
    if optional and not request.body_exists:
        return {}
    if request.content_type not in types:
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type must be {' or '.join(types)}, not {request.content_type}")
    data = parse_json(await read_body(request, MAX_JSON_BYTES))
    if not isinstance(data, dict):
        raise bad_request("body must be a JSON object")
    return data


def parse_json(body: bytes) -> object:
    """The one place request bodies become JSON values: odd input is a 400 naming the problem."""
    try:
        return bounded_json(body)
    except UnicodeDecodeError as exc:
        raise bad_request("body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise bad_request(f"body is not valid JSON: {exc.msg} at line {exc.lineno} "
                          f"column {exc.colno}") from exc
    except OddJson as exc:
        raise bad_request(f"body {exc}") from exc


def screen_facts(request: web.Request) -> tuple[str | None, str | None]:
    """The optional `screen` id and `region` a screen gives about itself, checked."""
    query = request.query
    screen = query.get("screen")
    region = query.get("region")
    if screen is None and region is None:
        return None, None
    errors = []
    if screen is not None and not SCREEN_RE.match(screen):
        errors.append(FieldError("screen", "must be 1 to 128 letters, digits or . _ : @ -"))
    if region is not None and not REGION_RE.match(region):
        errors.append(FieldError("region", "must be an ISO 3166-2 code such as NL-UT"))
    if errors:
        raise ApiError(400, "invalid_query", errors[0].field + ": " + errors[0].message, errors)
    return screen, region


def query_list(request: web.Request, name: str, allowed: tuple[str, ...]) -> list[str] | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    values = [v for v in raw.split(",") if v]
    for value in values:
        if value not in allowed:
            raise ApiError(400, "invalid_query", f"{name}: {value!r} is not one of "
                           f"{', '.join(allowed)}", [FieldError(name, "unknown value")])
    return values


def etag_matches(request: web.Request, etag: str) -> bool:
    """Whether the request's If-None-Match names `etag` (or is `*`): then the answer is a 304."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    if header == etag:
        return True
    return header.strip() == "*" or etag in (t.strip() for t in header.split(","))


def json_response(data: dict, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=compact_json(data), status=status, content_type="application/json",
                        headers=headers)

