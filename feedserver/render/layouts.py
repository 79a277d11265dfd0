"""Layout definitions: areas of blocks with priorities, and `auto` selection.

The defaults ship in the package (feedserver/layouts/). An operator changes one by putting a
file of the same name in the directory named by FEEDSERVER_LAYOUTS; files not there keep
their packaged default.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

LAYOUTS_ENV = "FEEDSERVER_LAYOUTS"
PACKAGED = resources.files("feedserver").joinpath("layouts")
AUTO_ORDER = ("ticker", "strip", "landscape", "close", "portrait")
FILES = (*AUTO_ORDER, "strings", "palette")
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


def operator_dir() -> Path | None:
    """The directory FEEDSERVER_LAYOUTS names, checked: a typo must not pass for a default."""
    value = os.environ.get(LAYOUTS_ENV)
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise ValueError(f"{LAYOUTS_ENV}={value}: not a directory")
    unknown = sorted(p.name for p in path.glob("*.yaml") if p.stem not in FILES)
    if unknown:
        raise ValueError(f"{LAYOUTS_ENV}={value}: {', '.join(unknown)} is no layout file"
                         f" (known: {', '.join(f'{name}.yaml' for name in FILES)})")
    return path


@cache
def layout_files() -> dict[str, Traversable]:
    """Each file in effect, by name: the operator's copy when there is one, else the default."""
    own = operator_dir()
    return {
        name: own / f"{name}.yaml"
        if own is not None and (own / f"{name}.yaml").is_file()
        else PACKAGED.joinpath(f"{name}.yaml")
        for name in FILES
    }


def _read(name: str, build: Callable[[Any], Any] = lambda raw: raw) -> Any:
    """The file parsed and built; any fault in it is a ValueError that names the file."""
    path = layout_files()[name]
    try:
        return build(yaml.safe_load(path.read_text("utf-8")))
    except KeyError as exc:
        raise ValueError(f"{path}: the key {exc} is missing") from exc
    except (OSError, TypeError, ValueError, AttributeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


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
        raise ValueError(f"languages must be one of {LANGUAGE_MODES}")
    for area in layout.alert + layout.found:
        missing = [b for b in area.blocks if b not in blocks]
        if missing:
            raise ValueError(f"blocks {missing} have no style")
    return layout


@cache
def layouts() -> dict[str, Layout]:
    return {name: _read(name, lambda raw, name=name: _layout(name, raw)) for name in AUTO_ORDER}


@cache
def texts() -> dict[str, Any]:
    """Localised words around the alert's text (strings.yaml)."""
    return _read("strings")


@cache
def palette() -> dict[str, dict[str, str]]:
    return _read("palette")


@cache
def layouts_digest() -> str:
    """Hash of every layout file in effect: part of every creative's digest."""
    h = hashlib.sha256()
    for name, path in sorted(layout_files().items()):
        h.update(f"{name}.yaml".encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def check() -> str:
    """Reads every layout file in effect (so a broken one stops startup, not a render) and
    says where they come from."""
    layouts(), texts(), palette()
    own = operator_dir()
    mine = [f"{name}.yaml" for name in FILES if own and (own / f"{name}.yaml").is_file()]
    if not mine:
        return "layouts: the packaged defaults"
    return f"layouts: {', '.join(mine)} from {own}, the rest packaged defaults"


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
