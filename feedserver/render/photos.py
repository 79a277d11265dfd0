"""Photos: their size as shown (EXIF orientation applied), the crop around the focus point, and
the decode-crop-scale that both painters share."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

DEFAULT_FOCUS = (0.5, 0.3)  # upper centre: where a face sits in a portrait photo
MAX_UPSCALE = 1.25  # a small photo is shown smaller rather than blown up into blur
_SWAPPED = {5, 6, 7, 8}  # EXIF orientations that turn the picture a quarter


@dataclass(frozen=True)
class PhotoData:
    """A photo as the renderer needs it; plain data, so it crosses into the process pool."""

    id: str
    data: bytes
    width: int
    height: int
    focus: tuple[float, float] | None = None

    @classmethod
    def from_bytes(
        cls, photo_id: str, data: bytes, focus: tuple[float, float] | None = None
    ) -> PhotoData:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if img.getexif().get(0x0112) in _SWAPPED:
                width, height = height, width
        return cls(photo_id, data, width, height, focus)

    @classmethod
    def from_photo(cls, photo: Any) -> PhotoData:
        """From the store's Photo (already normalised by core)."""
        focus = tuple(photo.focus) if photo.focus else None
        return cls(photo.id, photo.data, photo.width, photo.height, focus)


def crop_box(photo: PhotoData, aspect: float) -> tuple[float, float, float, float]:
    """The largest (left, top, right, bottom) of the given aspect around the focus point."""
    fx, fy = photo.focus or DEFAULT_FOCUS
    w, h = photo.width, photo.height
    if w / h > aspect:
        cw, ch = h * aspect, float(h)
    else:
        cw, ch = float(w), w / aspect
    left = min(max(fx * w - cw / 2, 0.0), w - cw)
    top = min(max(fy * h - ch / 2, 0.0), h - ch)
    return (round(left, 2), round(top, 2), round(left + cw, 2), round(top + ch, 2))


def prepared(
    photo: PhotoData,
    crop: tuple[float, float, float, float],
    size: tuple[int, int],
    background: str,
) -> Image.Image:
    """The photo decoded (reduced early for big JPEGs), oriented, flattened to sRGB RGB over the
    background, cropped and scaled to exactly `size`."""
    with Image.open(io.BytesIO(photo.data)) as img:
        orientation = img.getexif().get(0x0112)
        raw_w, raw_h = img.size
        crop_w, crop_h = crop[2] - crop[0], crop[3] - crop[1]
        reduce = min(crop_w / size[0], crop_h / size[1])
        if reduce >= 2:
            img.draft(None, (int(raw_w / reduce), int(raw_h / reduce)))
        factor = img.size[0] / raw_w
        img = ImageOps.exif_transpose(img) if orientation else img.copy()
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, background)
        img.paste(rgba, mask=rgba.getchannel("A"))
    elif img.mode != "RGB":
        img = img.convert("RGB")
    box = tuple(v * factor for v in crop)
    return img.resize(size, Image.Resampling.LANCZOS, box=box)
