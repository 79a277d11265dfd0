"""What the whole server writes one way: compact JSON, the ETag of a body, `WxH` sizes, and
the creative formats with their content types. Knows no domain service, so anything may use it."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "html": "text/html; charset=utf-8",
}
"""The creative formats a profile may ask for, in their default order, and how each is served."""
FORMATS = tuple(CONTENT_TYPES)
IMAGE_FORMATS = ("jpg", "png", "webp")

SIZE_RE = re.compile(r"^([1-9][0-9]{1,4})x([1-9][0-9]{1,4})$")
MIN_SIDE, MAX_SIDE = 16, 7680


def compact_json(data: Any) -> bytes:
    """JSON as screens and the store get it: UTF-8, no spaces, non-ASCII kept as it is."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def body_etag(body: bytes) -> str:
    """A strong ETag that changes exactly when the bytes do."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def parse_size(text: str) -> tuple[int, int] | None:
    """`1920x1080` as (width, height); None unless both sides are 16 to 7680 pixels."""
    match = SIZE_RE.match(text)
    if not match:
        return None
    width, height = int(match.group(1)), int(match.group(2))
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        return None
    return width, height
