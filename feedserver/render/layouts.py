"""Layout definitions from layouts/*.yaml: areas of blocks with priorities, and `auto` selection."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LAYOUT_DIR = Path(__file__).resolve().parents[2] / "layouts"
AUTO_ORDER = ("ticker", "strip", "landscape", "close", "portrait")
LANGUAGE_MODES = ("both", "primary", "alternate")
TICKER_MAX_HEIGHT = 200  # px: anything lower gets the one-line layout whatever its aspect


@dataclass(frozen=True)
class BlockStyle:
    """How one block is set: relative size in its area, cap as a share of screen height, lines."""

    priority: int
    size: float
    max: float | None
    lines: int
    weight: str
    align: str


@dataclass(frozen=True)
class Area:
    """A rectangle of the screen (fractions) holding a vertical stack of blocks."""

    box: tuple[float, float, float, float]
    blocks: tuple[str, ...]
    fill: str = "page"
    qr: bool = False
    photo_share: float | None = None  # set when the area is split into one cell per child
    photo_side: str = "left"


@dataclass(frozen=True)
class Layout:
    name: str
    about: str
    min_aspect: float
    max_aspect: float
    languages: str
    floor: float
    padding: float
    alert: tuple[Area, ...]
    found: tuple[Area, ...]
    blocks: dict[str, BlockStyle]
    photo_priority: int


def _area(raw: dict[str, Any]) -> Area:
    children = raw.get("children") or {}
    return Area(
        box=tuple(float(v) for v in raw["box"]),
        blocks=tuple(raw["blocks"]),
        fill=raw.get("fill", "page"),
        qr=bool(raw.get("qr", False)),
        photo_share=children.get("photo"),
        photo_side=children.get("side", "left"),
    )


def _layout(name: str, raw: dict[str, Any]) -> Layout:
    blocks = {
        block_id: BlockStyle(
            priority=int(spec["priority"]),
            size=float(spec["size"]),
            max=spec.get("max"),
            lines=int(spec["lines"]),
            weight=spec.get("weight", "regular"),
            align=spec.get("align", "left"),
        )
        for block_id, spec in raw["blocks"].items()
    }
    layout = Layout(
        name=name,
        about=raw["about"],
        min_aspect=float(raw["auto"]["min_aspect"]),
        max_aspect=float(raw["auto"]["max_aspect"]),
        languages=raw["languages"],
        floor=float(raw["floor"]),
        padding=float(raw["padding"]),
        alert=tuple(_area(a) for a in raw["alert"]),
        found=tuple(_area(a) for a in raw["found"]),
        blocks=blocks,
        photo_priority=int(raw["photo_priority"]),
    )
    if layout.languages not in LANGUAGE_MODES:
        raise ValueError(f"layouts/{name}.yaml: languages must be one of {LANGUAGE_MODES}")
    for area in layout.alert + layout.found:
        missing = [b for b in area.blocks if b not in blocks]
        if missing:
            raise ValueError(f"layouts/{name}.yaml: blocks {missing} have no style")
    return layout


@cache
def layouts() -> dict[str, Layout]:
    return {
        name: _layout(name, yaml.safe_load((LAYOUT_DIR / f"{name}.yaml").read_text("utf-8")))
        for name in AUTO_ORDER
    }


@cache
def texts() -> dict[str, Any]:
    """Localised words around the alert's text (layouts/strings.yaml)."""
    return yaml.safe_load((LAYOUT_DIR / "strings.yaml").read_text("utf-8"))


@cache
def palette() -> dict[str, dict[str, str]]:
    return yaml.safe_load((LAYOUT_DIR / "palette.yaml").read_text("utf-8"))


@cache
def layouts_digest() -> str:
    """Hash of every file in layouts/: part of every creative's digest."""
    h = hashlib.sha256()
    for path in sorted(LAYOUT_DIR.glob("*.yaml")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def choose(layout: str, size: tuple[int, int]) -> Layout:
    """The named layout, or for `auto` the first whose aspect range holds the size."""
    if layout != "auto":
        return layouts()[layout]
    width, height = size
    if height <= TICKER_MAX_HEIGHT:
        return layouts()["ticker"]
    aspect = width / height
    for name in AUTO_ORDER:
        candidate = layouts()[name]
        if candidate.min_aspect <= aspect < candidate.max_aspect:
            return candidate
    return layouts()["landscape"]
