"""Photos that arrive from elsewhere (CAP resources, the national feed), taken in like uploads.

The bytes are fetched with a size cap and a timeout, then go through the same normalising
as `POST /v1/photos` in the process pool; what fails is reported, never half-stored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from concurrent.futures import Executor

import aiohttp

from feedserver.photos import MAX_BYTES, PhotoRejected, normalise_photo, photo_id
from feedserver.store.base import Photo, Store

FETCH_TIMEOUT = aiohttp.ClientTimeout(total=20, sock_connect=5)
MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


class ImageUnavailable(Exception):
    """The image could not be fetched, decoded or accepted; the message says why."""


def sniff_type(data: bytes) -> str:
    """The content type the bytes themselves show (servers often send octet-stream)."""
    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ImageUnavailable("not a JPEG, PNG or WebP image")


async def fetch_bytes(session: aiohttp.ClientSession, url: str) -> bytes:
    """GET `url` with a size cap; only http(s)."""
    if not url.startswith(("http://", "https://")):
        raise ImageUnavailable("only http and https image URLs are fetched")
    try:
        async with session.get(url, timeout=FETCH_TIMEOUT) as response:
            if response.status != 200:
                raise ImageUnavailable(f"image URL answered {response.status}")
            data = await response.content.read(MAX_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ImageUnavailable(f"image URL failed: {type(exc).__name__}") from exc
    if len(data) > MAX_BYTES:
        raise ImageUnavailable(f"image is larger than {MAX_BYTES} bytes")
    return data


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
    loop = asyncio.get_running_loop()
    try:
        photo = await loop.run_in_executor(pool, normalise_photo, data, sniff_type(data))
    except PhotoRejected as exc:
        raise ImageUnavailable(str(exc)) from exc
    stored = Photo(photo_id(photo.data, None), photo.data, photo.content_type, photo.width,
                   photo.height, None)
    await store.put_photo(stored)
    return stored.id
