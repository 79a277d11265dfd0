"""The HTML painter: the same plan as one self-contained, autoescaped page with no script.
Fonts (cut to the characters used) and images are inline data: URIs."""

from __future__ import annotations

import base64
import io
from functools import cache

import jinja2

from .fonts import CSS_WEIGHTS, FAMILY, css_data_uri
from .photos import PhotoData, prepared
from .plan import QR_BORDER, Plan, qr_code

SECONDS_PER_LANGUAGE = 8  # when a layout alternates languages


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("feedserver.render", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _photo_uri(photo: PhotoData, crop, size: tuple[int, int], background: str) -> str:
    out = io.BytesIO()
    prepared(photo, crop, size, background).save(out, "JPEG", quality=88, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def paint_html(plan: Plan, photos: dict[str, PhotoData], title: str) -> bytes:
    chars = {"regular": set(), "bold": set()}
    layers = []
    for layer in plan.layers:
        for box in layer.texts:
            chars[box.weight].update("".join(line.text for line in box.lines))
        layers.append(
            {
                "lang": layer.languages[0],
                "fills": layer.fills,
                "texts": layer.texts,
                "photos": [
                    {
                        "box": p.box,
                        "src": _photo_uri(photos[p.photo_id], p.crop, p.box[2:], plan.background),
                    }
                    for p in layer.photos
                ],
                "qrs": [
                    {
                        "box": q.box,
                        "data": q.data,
                        "src": qr_code(q.data).svg_data_uri(
                            scale=q.module, border=QR_BORDER, dark="#000", light="#fff"
                        ),
                    }
                    for q in layer.qrs
                ],
            }
        )
    fonts = {
        weight: css_data_uri(weight, "".join(sorted(used)) or " ") for weight, used in chars.items()
    }
    page = (
        _environment()
        .get_template("creative.html")
        .render(
            width=plan.size[0],
            height=plan.size[1],
            background=plan.background,
            family=FAMILY,
            fonts=fonts,
            weights=CSS_WEIGHTS,
            layers=layers,
            lang=plan.layers[0].languages[0],
            title=title,
            seconds=SECONDS_PER_LANGUAGE,
        )
    )
    return page.encode("utf-8")
