"""The pure entry points run in the process pool: alert + photos + size -> creative bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from feedserver.alerts.model import Shown
from feedserver.formats import CONTENT_TYPES

from . import content, report
from .html import paint_html
from .paint import encode, paint
from .photos import PhotoData
from .plan import resolve


@dataclass(frozen=True)
class Creative:
    body: bytes
    content_type: str
    report: dict[str, Any]


def _title(alert: Shown, lang: str) -> str:
    headline = content.localised(alert.headline, lang, lang)
    return headline or " · ".join(
        p
        for p in (
            content.block_text(alert, "banner", lang, None),
            content.block_text(alert, "names", lang, None),
        )
        if p
    )


def render_creatives(
    alert: Shown,
    photos: dict[str, PhotoData],
    size: tuple[int, int],
    layout: str,
    languages: tuple[str, ...],
    fmts: tuple[str, ...],
) -> list[Creative]:
    """The creatives of one size in several formats, from one plan and one painted canvas:
    resolving and painting cost more than encoding, so formats that share them are rendered
    together. Each is byte for byte what `render_creative` gives for its format alone."""
    plan = resolve(alert, photos, size, layout, languages)
    canvas = paint(plan, photos) if set(fmts) - {"html"} else None
    built = report.build(plan)
    out = []
    for fmt in fmts:
        if fmt == "html":
            body = paint_html(plan, photos, _title(alert, plan.layers[0].languages[0]))
        else:
            body = encode(canvas, fmt)
        out.append(Creative(body, CONTENT_TYPES[fmt], built))
    return out


def render_creative(
    alert: Shown,
    photos: dict[str, PhotoData],
    size: tuple[int, int],
    layout: str,
    languages: tuple[str, ...],
    fmt: str,
) -> Creative:
    """One creative; equal input gives equal bytes."""
    return render_creatives(alert, photos, size, layout, languages, (fmt,))[0]


def plan_report(
    alert: Shown,
    photos: dict[str, PhotoData],
    size: tuple[int, int],
    layout: str,
    languages: tuple[str, ...],
) -> dict[str, Any]:
    """The layout report alone (the preview JSON), without painting."""
    return report.build(resolve(alert, photos, size, layout, languages))
