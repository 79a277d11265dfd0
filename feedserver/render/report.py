"""The layout report: what fit, at what size, what was dropped, and each text's WCAG contrast."""

from __future__ import annotations

from typing import Any

from .fonts import vertical_metrics
from .plan import Plan


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio between two #RRGGBB colours."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def build(plan: Plan) -> dict[str, Any]:
    width, height = plan.size
    layers = []
    for layer in plan.layers:
        blocks = []
        for box in layer.texts:
            x, y, w, h = box.box
            overflow = any(line.x < x or line.x + line.width > x + w for line in box.lines) or (
                x < 0 or y < 0 or x + w > width or y + h > height
            )
            blocks.append(
                {
                    "block": box.block,
                    "box": list(box.box),
                    "font_px": box.px,
                    "cap_height_px": round(box.px * vertical_metrics(box.weight)[2], 1),
                    "share_of_height": round(box.px / height, 4),
                    "lines": [line.text for line in box.lines],
                    "contrast": round(
                        min(contrast(line.color, box.background) for line in box.lines), 2
                    ),
                    "overflow": overflow,
                }
            )
        layers.append(
            {
                "languages": list(layer.languages),
                "fit": [b["block"] for b in blocks]
                + ["photo"] * len(layer.photos)
                + ["qr"] * len(layer.qrs),
                "blocks": blocks,
                "photos": [
                    {
                        "photo": p.photo_id,
                        "box": list(p.box),
                        "crop": list(p.crop),
                        "scale": p.scale,
                    }
                    for p in layer.photos
                ],
                "dropped": list(layer.dropped),
                "warnings": list(layer.warnings),
            }
        )
    return {
        "size": f"{width}x{height}",
        "layout": plan.layout,
        "languages_mode": plan.mode,
        "floor_px": plan.floor_px,
        "floor_share_of_height": round(plan.floor_px / height, 4),
        "layers": layers,
    }


def warnings(report: dict[str, Any]) -> list[str]:
    """Plain sentences for the alert's warnings: dropped blocks and text below the floor."""
    out = []
    for layer in report["layers"]:
        where = f"{report['size']} ({report['layout']}, {'/'.join(layer['languages'])})"
        if layer["dropped"]:
            out.append(f"{where}: left out {', '.join(layer['dropped'])} for lack of room")
        out.extend(f"{where}: {w}" for w in layer["warnings"])
    return out
