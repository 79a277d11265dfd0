"""Photo uploads: decoded safely in a worker process, turned upright, stripped, normalised.

A photo of a child travels to thousands of screens, so it must not carry its camera's GPS
position or a hidden thumbnail; and a hostile upload must never stall or crash the server.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

from feedserver.render.pool import WorkerLost

ACCEPTED_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 4096
JPEG_QUALITY = 92

# Pillow warns above this many pixels and refuses above twice as many; we refuse at the warning.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class PhotoRejected(ValueError):
    """The upload is not a usable image; the message says why."""


@dataclass(frozen=True)
class NormalisedPhoto:
    data: bytes
    content_type: str
    width: int
    height: int


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert with the embedded ICC profile where there is one (CMYK scans, wide gamut)."""
    icc = image.info.get("icc_profile")
    target = "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
    if icc and image.mode in ("RGB", "CMYK", "RGBA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            mode = "RGBA" if image.mode == "RGBA" else "RGB"
            return ImageCms.profileToProfile(image, source, srgb, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return image.convert(target)


def normalise_photo(data: bytes, declared_type: str) -> NormalisedPhoto:
    """Decode, apply EXIF orientation, convert to sRGB, cap the size, re-encode without metadata."""
    expected = ACCEPTED_TYPES[declared_type]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_TYPES.values()))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PhotoRejected(f"image has too many pixels (limit {MAX_PIXELS})") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise PhotoRejected("body is not a JPEG, PNG or WebP image") from exc
        if image.format != expected:
            raise PhotoRejected(f"body is {image.format}, not {expected} as Content-Type says")
        if image.width * image.height > MAX_PIXELS:
            raise PhotoRejected(f"image has {image.width * image.height} pixels; the limit is "
                                f"{MAX_PIXELS}")
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise PhotoRejected("image data is truncated or damaged") from exc
    image = ImageOps.exif_transpose(image) or image
    image = _to_srgb(image)
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, "PNG", optimize=False)
        content_type = "image/png"
    else:
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        content_type = "image/jpeg"
    return NormalisedPhoto(out.getvalue(), content_type, image.width, image.height)


async def normalise_in(pool: Executor, data: bytes, declared_type: str) -> NormalisedPhoto:
    """`normalise_photo` in a worker; an image the worker cannot hold is refused like any
    other unusable one, and the workers go on with everything else."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(pool, normalise_photo, data, declared_type)
    except MemoryError as exc:
        raise PhotoRejected("image needs more memory to decode than a worker may use "
                            "(render.worker_memory_mb); send one with fewer pixels") from exc
    except WorkerLost as exc:
        raise PhotoRejected("image could not be decoded: the decoder's worker died twice") \
            from exc


def photo_id(data: bytes, focus: tuple[float, float] | None) -> str:
    """Photos are immutable and named by their content and focus point."""
    digest = hashlib.sha256(data)
    digest.update(repr(focus).encode())
    return "p_" + digest.hexdigest()[:24]


def parse_focus(text: str | None) -> tuple[float, float] | None:
    """`x,y` with each in 0..1; raises ValueError with the rule."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        x, y = (float(p) for p in parts)
    except ValueError:
        raise ValueError("must be x,y with two numbers from 0 to 1") from None
    if not (0 <= x <= 1 and 0 <= y <= 1):
        raise ValueError("must be x,y with two numbers from 0 to 1")
    return x, y
