"""Request helpers shared by the views: bounded JSON bodies and the query's screen facts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from aiohttp import web

from feedserver.appkeys import CONFIG
from feedserver.config import REGION_RE
from feedserver.errors import ApiError, FieldError, bad_request
from feedserver.formats import body_etag, compact_json
from feedserver.jsonlimits import OddJson, bounded_json

MAX_JSON_BYTES = 256 * 1024
JSON_TYPES = ("application/json",)
PATCH_TYPES = ("application/merge-patch+json", "application/json")
SCREEN_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
POINT_RE = re.compile(r"^-?[0-9]{1,3}(\.[0-9]{1,12})?,-?[0-9]{1,3}(\.[0-9]{1,12})?$")
MAX_POINT_TEXT = 40


@contextlib.asynccontextmanager
async def body_deadline(request: web.Request) -> AsyncIterator[None]:
    """Reading the body within `limits.body_timeout_seconds`, else 408: a client that sends
    its body byte by byte holds a connection and a handler only that long."""
    seconds = request.app[CONFIG].current.limits.body_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise ApiError(408, "request_timeout", f"the body did not arrive within {seconds:g} s "
                       "(limits.body_timeout_seconds)", headers={"Connection": "close"}) from None


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, refusing anything over `limit` bytes with 413 before reading it all."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "body_too_large", f"body is larger than {limit} bytes")
    async with body_deadline(request):
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


class ScreenFacts(NamedTuple):
    """What a screen may say about itself in its query: `screen`, `region` and `at`."""

    screen: str | None
    region: str | None
    at: tuple[float, float] | None  # (lat, lon)


NO_FACTS = ScreenFacts(None, None, None)


@lru_cache(maxsize=65536)  # a screen sends the same position on every poll
def _point(text: str) -> tuple[float, float] | None:
    """`lat,lon` in decimal degrees, or None when it is not one."""
    if len(text) > MAX_POINT_TEXT or not POINT_RE.match(text):
        return None
    lat, lon = (float(part) for part in text.split(","))
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def screen_facts(request: web.Request) -> ScreenFacts:
    """The optional `screen` id, `region` and `at` position a screen gives, checked."""
    query = request.query
    screen = query.get("screen")
    region = query.get("region")
    at_text = query.get("at")
    if screen is None and region is None and at_text is None:
        return NO_FACTS
    errors = []
    if screen is not None and not SCREEN_RE.match(screen):
        errors.append(FieldError("screen", "must be 1 to 128 letters, digits or . _ : @ -"))
    if region is not None and not REGION_RE.match(region):
        errors.append(FieldError("region", "must be an ISO 3166-2 code such as NL-UT"))
    at = None if at_text is None else _point(at_text)
    if at_text is not None and at is None:
        errors.append(FieldError("at", "must be lat,lon in decimal degrees such as "
                                       "52.0907,5.1214 (lat -90..90, lon -180..180)"))
    if errors:
        raise ApiError(400, "invalid_query", errors[0].field + ": " + errors[0].message, errors)
    return ScreenFacts(screen, region, at)


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
    # If-None-Match compares weakly (RFC 9110 13.1.2): the quoted tag anywhere in the list,
    # with or without W/, matches; a quoted tag cannot hide inside another (no '"' within)
    return etag in header or header.strip() == "*"


def json_response(data: dict, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=compact_json(data), status=status, content_type="application/json",
                        headers=headers)



NO_SNIFFING = {"X-Content-Type-Options": "nosniff"}


async def no_sniffing(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """`on_response_prepare`: no answer is ever read as another type than it says (a JSON
    error or a feed document taken for HTML by a browser)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


Handler = Callable[[web.Request], Awaitable[web.Response]]


def package_files(package: str, types: dict[str, str]) -> Handler:
    """A handler for `{name}`: the files `types` names in the package's `static/` folder,
    read once, with a strong ETag (a player or console checks for a newer one on each load);
    any other name is 404."""
    files = {name: (resources.files(package).joinpath("static", name).read_bytes(), kind)
             for name, kind in types.items()}
    tags = {name: body_etag(body) for name, (body, _) in files.items()}

    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files:
            raise web.HTTPNotFound()
        body, kind = files[name]
        headers = {"Cache-Control": "no-cache", "ETag": tags[name]}
        if etag_matches(request, tags[name]):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type=kind, charset="utf-8", headers=headers)

    return serve
