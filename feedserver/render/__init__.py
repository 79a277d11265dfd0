"""Rendering: one layout resolved per size into a plan, painted by Pillow and as HTML."""

from feedserver.formats import CONTENT_TYPES, FORMATS

from .creative import Creative, plan_report, render_creative
from .layouts import AUTO_ORDER
from .photos import PhotoData

LAYOUT_NAMES = frozenset({"auto", *AUTO_ORDER})

__all__ = [
    "CONTENT_TYPES",
    "FORMATS",
    "LAYOUT_NAMES",
    "Creative",
    "PhotoData",
    "plan_report",
    "render_creative",
]
