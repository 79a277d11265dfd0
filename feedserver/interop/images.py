"""Photos that arrive from elsewhere (CAP resources, the national feed), taken in like uploads.

The bytes are fetched under the Fetching rules (see `fetching`) with a size cap and a time
bound, then go through the same normalising as `POST /v1/photos` in the process pool; what
fails is reported, never half-stored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from concurrent.futures import Executor

import aiohttp

from feedserver.interop.fetching import FetchRefused, FetchRules, checked_session, get_checked
from feedserver.photos import MAX_BYTES, PhotoRejected, normalise_in, photo_id
from feedserver.store.base import Photo, Store

FETCH_TIMEOUT = aiohttp.ClientTimeout(total=20, sock_connect=5)  # per hop
FETCH_SECONDS = 30  # all hops together
MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


class ImageUnavailable(Exception):
    """The image could not be fetched, decoded or accepted; the message says why."""


def photo_warning(field: str, problem: ImageUnavailable, *, kept: bool = False,
                  ) -> dict[str, str]:
    """The alert warning for a photo that could not be taken in, as staff see it on the alert;
    `kept`: the alert keeps the photo it had."""
    what = "photo not updated (the earlier one is kept)" if kept else "photo left out"
    return {"field": field, "message": f"{what}: {problem}"}


def sniff_type(data: bytes) -> str:
    """The content type the bytes themselves show (servers often send octet-stream)."""
    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ImageUnavailable("not a JPEG, PNG or WebP image")


async def read_capped(content: aiohttp.StreamReader, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than `limit` bytes (stops reading there).
    (`StreamReader.read(n)` returns only what has arrived so far, not n bytes.)"""
    chunks = []
    size = 0
    async for chunk in content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch_image(rules: FetchRules, url: str) -> bytes:
    """GET an image an upstream names, under the Fetching rules, at most MAX_BYTES."""
    try:
        async with asyncio.timeout(FETCH_SECONDS), checked_session(rules, FETCH_TIMEOUT) as session:
            data = await _read_image(session, rules, url)
    except FetchRefused as exc:
        raise ImageUnavailable(str(exc)) from exc
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, FetchRefused):
            raise ImageUnavailable(str(exc.os_error)) from exc
        raise ImageUnavailable(f"image URL failed: {type(exc).__name__}") from exc
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise ImageUnavailable(f"image URL failed: {type(exc).__name__}") from exc
    if data is None:
        raise ImageUnavailable(f"image is larger than {MAX_BYTES} bytes")
    return data


async def _read_image(session: aiohttp.ClientSession, rules: FetchRules, url: str,
                      ) -> bytes | None:
    async with await get_checked(session, rules, url) as response:
        if response.status != 200:
            raise ImageUnavailable(f"image URL answered {response.status}")
        if (response.content_length or 0) > MAX_BYTES:
            return None
        return await read_capped(response.content, MAX_BYTES)


def decode_base64(text: str) -> bytes:
    """A CAP `derefUri`: base64 of the image."""
    if len(text) > MAX_BYTES * 4 // 3 + 4:
        raise ImageUnavailable(f"image is larger than {MAX_BYTES} bytes")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageUnavailable("derefUri is not base64") from exc


async def store_image(store: Store, pool: Executor, data: bytes) -> str:
    """Normalise like an upload (off the event loop), store, and return the photo id."""
    try:
        photo = await normalise_in(pool, data, sniff_type(data))
    except PhotoRejected as exc:
        raise ImageUnavailable(str(exc)) from exc
    stored = Photo(photo_id(photo.data, None), photo.data, photo.content_type, photo.width,
                   photo.height, None)
    await store.put_photo(stored)
    return stored.id
