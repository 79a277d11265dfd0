"""Invented alerts as the renderer gets them, and photos drawn with Pillow."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from PIL import Image, ImageDraw

from feedserver.alerts.model import Shown
from feedserver.render import FORMATS, Creative, PhotoData, render_creative


def portrait_photo(
    size: tuple[int, int] = (600, 800),
    seed: int = 0,
    mode: str = "RGB",
    fmt: str = "JPEG",
    exif_orientation: int | None = None,
) -> bytes:
    """A drawn head-and-shoulders figure: skin-coloured head in the upper third, shirt below."""
    w, h = size
    hue = [(70, 110, 160), (150, 80, 60), (60, 130, 90)][seed % 3]
    img = Image.new("RGB", size, (200, 210, 225))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, int(h * 0.7), w, h), fill=(170, 180, 195))
    draw.ellipse((int(w * 0.18), int(h * 0.55), int(w * 0.82), int(h * 1.3)), fill=hue)
    draw.ellipse((int(w * 0.33), int(h * 0.16), int(w * 0.67), int(h * 0.55)), fill=(236, 196, 160))
    draw.ellipse((int(w * 0.30), int(h * 0.10), int(w * 0.70), int(h * 0.32)), fill=(110, 70, 40))
    for ex in (0.43, 0.57):
        draw.ellipse(
            (int(w * (ex - 0.02)), int(h * 0.33), int(w * (ex + 0.02)), int(h * 0.36)),
            fill=(40, 40, 60),
        )
    draw.arc(
        (int(w * 0.43), int(h * 0.38), int(w * 0.57), int(h * 0.46)),
        20,
        160,
        fill=(150, 60, 60),
        width=max(2, w // 150),
    )
    out = io.BytesIO()
    if mode == "RGBA":
        rgba = img.convert("RGBA")
        rgba.putalpha(Image.new("L", size, 255))
        ImageDraw.Draw(rgba).rectangle((0, 0, w, int(h * 0.08)), fill=(0, 0, 0, 0))
        rgba.save(out, "PNG")
        return out.getvalue()
    if exif_orientation:
        # store the picture turned, with the EXIF tag that turns it back
        undo = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[exif_orientation]
        turned = img.transpose(undo)
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        turned.save(out, "JPEG", quality=90, exif=exif.tobytes())
        return out.getvalue()
    img.convert(mode).save(out, fmt, quality=90)
    return out.getvalue()


DESIGN_SIZES = [  # the 32 sizes DESIGN.md names: every layout must be legible at each
    "3120x260",
    "1920x1200",
    "1920x1080",
    "1080x1920",
    "1792x640",
    "1560x1440",
    "1440x760",
    "1320x720",
    "1312x704",
    "1200x800",
    "1152x896",
    "1152x768",
    "1150x160",
    "980x440",
    "970x250",
    "936x624",
    "800x600",
    "800x130",
    "768x864",
    "768x405",
    "768x384",
    "728x90",
    "726x482",
    "720x540",
    "720x528",
    "640x540",
    "600x500",
    "588x1008",
    "576x480",
    "540x960",
    "480x270",
    "432x1008",
]
EXTRA_SIZES = [
    "1400x400",
    "840x400",
    "1600x400",
    "600x600",
    "3840x2160",
    "800x600",
    "1024x768",
    "1280x1024",
]
SIZES = list(dict.fromkeys(DESIGN_SIZES + EXTRA_SIZES))


def drawn_photo(colour: str = "orange", size: tuple[int, int] = (120, 160)) -> bytes:
    """A small JPEG: a face-like oval on a plain background (for uploads and CAP resources)."""
    image = Image.new("RGB", size, "lightblue")
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 20, size[0] - 20, size[1] - 30), fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def parse(size: str) -> tuple[int, int]:
    w, h = size.split("x")
    return int(w), int(h)


def photo(photo_id: str, data: bytes, focus: tuple[float, float] | None = None) -> PhotoData:
    return PhotoData.from_bytes(photo_id, data, focus)


def alert(**overrides: Any) -> dict[str, Any]:
    """A realistic (invented) AMBER Alert as core hands it over."""
    doc: dict[str, Any] = {
        "id": "a1b2c3",
        "kind": "amber",
        "circumstance": "stranger_abduction",
        "test": False,
        "status": "active",
        "version": 3,
        "regions": ["NL"],
        "languages": ["nl", "en"],
        "headline": {
            "nl": "AMBER Alert: Sanne de Vries (9)",
            "en": "AMBER Alert: Sanne de Vries (9)",
        },
        "children": [
            {
                "name": "Sanne de Vries",
                "age": 9,
                "sex": "female",
                "height_cm": 134,
                "description": {
                    "nl": "Lang blond haar in een paardenstaart, blauwe ogen.",
                    "en": "Long blond hair in a ponytail, blue eyes.",
                },
                "clothing": {
                    "nl": "Roze winterjas, spijkerbroek, witte sneakers.",
                    "en": "Pink winter coat, jeans, white trainers.",
                },
                "photo": "p1",
            }
        ],
        "suspects": [
            {
                "name": None,
                "description": {
                    "nl": "Man, ongeveer 40 jaar, donkere baard.",
                    "en": "Man, about 40, dark beard.",
                },
                "photo": None,
            }
        ],
        "vehicles": [
            {
                "make": "Volkswagen",
                "model": "Golf",
                "colour": {"nl": "blauwe", "en": "blue"},
                "plate": "12-ABC-3",
                "country": "NL",
            }
        ],
        "last_seen": {"place": "Utrecht, Vredenburg", "at": "2026-11-28T13:10:00+00:00"},
        "message": {
            "nl": "Benader de verdachte niet. Bel direct 112 als u haar ziet.",
            "en": "Do not approach the suspect. Call 112 at once if you see her.",
        },
        "contact": {"phone": "0800-6070", "url": "https://www.politie.nl/amberalert"},
        "resolution": None,
        "warnings": [],
    }
    doc.update(overrides)
    return doc


def shown(**overrides: Any) -> Shown:
    """The sample alert as a creative shows it: what the renderer gets."""
    return Shown.from_document(alert(**overrides))


def photos() -> dict[str, PhotoData]:
    return {"p1": photo("p1", portrait_photo())}


@cache
def all_renders() -> dict[str, dict[str, Creative]]:
    """The sample alert at every size in every format, rendered once per test run."""
    alert_doc, shots = shown(), photos()
    return {
        size: {
            fmt: render_creative(alert_doc, shots, parse(size), "auto", ("nl", "en"), fmt)
            for fmt in FORMATS
        }
        for size in SIZES
    }
