"""The Pillow painter: a plan into JPEG, PNG or WebP bytes at exactly the plan's size, in sRGB."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageCms, ImageDraw

from .fonts import font
from .photos import PhotoData, prepared
from .plan import QR_BORDER, Layer, Plan, QrBox, qr_code

# The fast end of each encoder (bench/RESULTS.md has the figures): zlib level 1 makes a PNG
# about 10% larger than level 6 in 30% less time, lossless either way; WebP method 1 makes it
# about 20% larger than method 4 (still half the JPEG) in a third of the time at the same
# quality. Encoding the secondary formats is most of the render work of a publish.
ENCODE = {
    "jpg": ("JPEG", {"quality": 88, "subsampling": "4:2:0"}),
    "png": ("PNG", {"compress_level": 1}),
    "webp": ("WEBP", {"quality": 88, "method": 1}),
}


@cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile with its creation date and id zeroed, so equal input is equal bytes."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[24:36] = bytes(12)
    profile[84:100] = bytes(16)
    return bytes(profile)


def qr_image(qr: QrBox) -> Image.Image:
    """The QR code, one pixel per module, scaled up without smoothing."""
    rows = list(qr_code(qr.data).matrix_iter(scale=1, border=QR_BORDER))
    img = Image.new("L", (len(rows[0]), len(rows)), 255)
    img.putdata([0 if dark else 255 for row in rows for dark in row])
    return img.resize((qr.box[2], qr.box[3]), Image.Resampling.NEAREST).convert("RGB")


def paint_layer(
    img: Image.Image, layer: Layer, photos: dict[str, PhotoData], background: str
) -> None:
    draw = ImageDraw.Draw(img)
    for (x, y, w, h), colour in layer.fills:
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=colour)
    for photo in layer.photos:
        x, y, w, h = photo.box
        img.paste(prepared(photos[photo.photo_id], photo.crop, (w, h), background), (x, y))
    for qr in layer.qrs:
        img.paste(qr_image(qr), qr.box[:2])
    for box in layer.texts:
        face = font(box.weight, box.px)
        for line in box.lines:
            draw.text((line.x, line.baseline), line.text, font=face, fill=line.color, anchor="ls")


def paint(plan: Plan, photos: dict[str, PhotoData]) -> Image.Image:
    """The first layer (the primary language when the layout alternates) as an RGB image."""
    img = Image.new("RGB", plan.size, plan.background)
    paint_layer(img, plan.layers[0], photos, plan.background)
    return img


def encode(img: Image.Image, fmt: str) -> bytes:
    name, options = ENCODE[fmt]
    out = io.BytesIO()
    img.save(out, name, icc_profile=srgb_profile(), **options)
    return out.getvalue()
