"""Photo upload and retrieval for staff."""

from __future__ import annotations

from aiohttp import web

from feedserver.appkeys import POOL, STORE
from feedserver.errors import ApiError, FieldError, not_found
from feedserver.http import json_response, read_body
from feedserver.photos import (
    ACCEPTED_TYPES,
    MAX_BYTES,
    PhotoRejected,
    normalise_in,
    parse_focus,
    photo_id,
)
from feedserver.store.base import Photo


async def upload_photo(request: web.Request) -> web.Response:
    if request.content_type not in ACCEPTED_TYPES:
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type must be one of {', '.join(ACCEPTED_TYPES)}")
    try:
        focus = parse_focus(request.query.get("focus"))
    except ValueError as exc:
        raise ApiError(400, "invalid_query", f"focus: {exc}", [FieldError("focus", str(exc))]) \
            from exc
    data = await read_body(request, MAX_BYTES)
    try:
        photo = await normalise_in(request.app[POOL], data, request.content_type)
    except PhotoRejected as exc:
        raise ApiError(422, "invalid_image", str(exc), [FieldError("body", str(exc))]) from exc
    stored = Photo(photo_id(photo.data, focus), photo.data, photo.content_type, photo.width,
                   photo.height, focus)
    await request.app[STORE].put_photo(stored)
    return json_response(
        {"id": stored.id, "width": stored.width, "height": stored.height,
         "content_type": stored.content_type, "focus": list(focus) if focus else None},
        status=201, headers={"Location": f"/v1/photos/{stored.id}"})


async def get_photo(request: web.Request) -> web.Response:
    photo = await request.app[STORE].get_photo(request.match_info["photo_id"])
    if photo is None:
        raise not_found("photo")
    return web.Response(body=photo.data, content_type=photo.content_type,
                        headers={"Cache-Control": "private, max-age=31536000, immutable"})
