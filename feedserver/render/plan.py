"""The resolver: (alert, photos, size, layout, languages) -> a plan in pixels that both painters
follow. Font sizes are found by binary search; what cannot fit above the legibility floor is
dropped, lowest priority first. Pure and deterministic."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import segno

from feedserver.alerts.model import Child, Shown

from . import content
from .fonts import text_width, vertical_metrics
from .layouts import Area, BlockStyle, Layout, choose, palette
from .photos import MAX_UPSCALE, PhotoData, crop_box

Rect = tuple[int, int, int, int]  # x, y, width, height
LINE_HEIGHT = 1.25  # line box as a multiple of the font size, in both painters
BLOCK_GAP = 0.4  # space before a block, as a multiple of its font size
PARAGRAPH_GAP = 0.1  # space between the languages of one block
SAFE_WIDTH = 0.97  # text is fitted into 97% of its box: room for rounding between engines
FLOOR_PX = 12  # nothing is ever set smaller than this, whatever the screen
QR_BORDER = 2  # modules of quiet zone around the QR code
QR_MIN_MODULE = 2  # px; a QR code with smaller modules is not drawn


@dataclass(frozen=True)
class Line:
    text: str
    x: int
    top: int
    baseline: int
    width: int
    color: str


@dataclass(frozen=True)
class TextBox:
    block: str
    box: Rect
    px: int
    line_height: int
    weight: str
    align: str
    background: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class PhotoBox:
    photo_id: str
    box: Rect
    crop: tuple[float, float, float, float]
    scale: float


@dataclass(frozen=True)
class QrBox:
    box: Rect
    data: str
    module: int


@dataclass
class Layer:
    """Everything shown at once: one per language when the layout alternates languages."""

    languages: tuple[str, ...]
    fills: list[tuple[Rect, str]] = field(default_factory=list)
    texts: list[TextBox] = field(default_factory=list)
    photos: list[PhotoBox] = field(default_factory=list)
    qrs: list[QrBox] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Plan:
    size: tuple[int, int]
    layout: str
    mode: str
    floor_px: int
    background: str
    layers: list[Layer]


@dataclass(frozen=True)
class _Spec:
    block: str
    style: BlockStyle
    paragraphs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Fit:
    base: int
    height: int
    blocks: tuple[tuple[_Spec, int, tuple[tuple[str, str, int], ...]], ...]  # spec, px, lines


@cache
def qr_code(url: str) -> segno.QRCode:
    """The QR code of a URL, made once per process: choosing its mask is costly."""
    return segno.make(url, error="m")


def _wrap(text: str, weight: str, px: int, width: float) -> list[str] | None:
    """Greedy word wrap; None when a single word is wider than the box."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(weight, px, candidate) <= width:
            current = candidate
            continue
        if text_width(weight, px, word) > width:
            return None
        lines.append(current)
        current = word
    if current:
        lines.append(current)
    return lines


class _Stack:
    """A vertical stack of blocks fitted into one box at a common base size."""

    def __init__(self, specs: list[_Spec], width: int, height: int, screen_h: int, floor: int):
        self.specs, self.width, self.height = specs, width, height
        self.screen_h, self.floor = screen_h, floor

    @staticmethod
    def px(style: BlockStyle, base: int) -> int:
        return round(base * style.size)

    def attempt(self, base: int) -> _Fit | None:
        y = 0
        blocks = []
        for i, spec in enumerate(self.specs):
            px = self.px(spec.style, base)
            line_h = round(px * LINE_HEIGHT)
            if i:
                y += round(px * BLOCK_GAP)
            lines = []
            for j, (role, text) in enumerate(spec.paragraphs):
                wrapped = _wrap(text, spec.style.weight, px, self.width * SAFE_WIDTH)
                if wrapped is None or len(wrapped) > spec.style.lines:
                    return None
                if j:
                    y += round(px * PARAGRAPH_GAP)
                for line in wrapped:
                    lines.append((role, line, y))
                    y += line_h
            blocks.append((spec, px, tuple(lines)))
        return _Fit(base, y, tuple(blocks)) if y <= self.height else None

    def fit(self, max_base: int | None = None) -> _Fit | None:
        """The largest base size that fits, by binary search; None if even the floor fails."""
        low = max(math.ceil(self.floor / s.style.size) for s in self.specs)
        # the base stops where the first block reaches its cap, so the hierarchy stays as drawn
        caps = [
            int((s.style.max * self.screen_h if s.style.max else self.height) / s.style.size)
            for s in self.specs
        ]
        high = max(low, min([*caps, max_base or self.height]))
        best = self.attempt(low)
        if best is None:
            return None
        while low < high:
            mid = (low + high + 1) // 2
            found = self.attempt(mid)
            if found is None:
                high = mid - 1
            else:
                best, low = found, mid
        return best


def _inset(rect: Rect, pad: int) -> Rect:
    x, y, w, h = rect
    return (x + pad, y + pad, max(w - 2 * pad, 1), max(h - 2 * pad, 1))


def _colours(fill: str, alert: Shown) -> dict[str, str]:
    if fill == "banner":
        if alert.test:
            fill = "banner_test"
        else:
            fill = "banner_found" if content.is_found(alert) else f"banner_{alert.kind}"
    return palette()[fill]


def _place(layer: Layer, fit: _Fit, rect: Rect, colours: dict[str, str]) -> None:
    """Turn a fit into text boxes, centred vertically in the rect."""
    x, y, w, h = rect
    offset = y + (h - fit.height) // 2
    for spec, px, lines in fit.blocks:
        weight = spec.style.weight
        ascent, descent, _ = vertical_metrics(weight)
        line_h = round(px * LINE_HEIGHT)
        baseline_shift = round((line_h - (ascent + descent) * px) / 2 + ascent * px)
        placed = []
        for role, text, top in lines:
            width = math.ceil(text_width(weight, px, text))
            lx = x + (w - width) // 2 if spec.style.align == "center" else x
            placed.append(
                Line(text, lx, offset + top, offset + top + baseline_shift, width, colours[role])
            )
        box_top = placed[0].top
        box_h = placed[-1].top + line_h - box_top
        layer.texts.append(
            TextBox(
                spec.block,
                (x, box_top, w, box_h),
                px,
                line_h,
                weight,
                spec.style.align,
                colours["fill"],
                tuple(placed),
            )
        )


class _Resolver:
    """Resolves one alert at one size with one layout, a layer per language group."""

    def __init__(
        self,
        alert: Shown,
        photos: dict[str, PhotoData],
        size: tuple[int, int],
        layout: Layout,
    ) -> None:
        self.alert, self.photos, self.layout = alert, photos, layout
        self.width, self.height = size
        self.floor = max(FLOOR_PX, round(layout.floor * self.height))
        self.pad = max(2, round(layout.padding * min(size)))

    def specs(self, area: Area, langs: tuple[str, ...], child: Child | None) -> list[_Spec]:
        out = []
        for block in area.blocks:
            paras = content.paragraphs(self.alert, block, langs, child)
            if paras:
                out.append(_Spec(block, self.layout.blocks[block], tuple(paras)))
        return out

    def stack(
        self,
        layer: Layer,
        specs: list[_Spec],
        rect: Rect,
        colours: dict[str, str],
        area: Area,
        photo: PhotoData | None = None,
        max_base: int | None = None,
    ) -> int | None:
        """Fit the blocks (and a photo) into rect, dropping the least important until they fit."""
        specs = list(specs)
        while True:
            text_rect, photo_box = self.split_photo(rect, photo, area) if photo else (rect, None)
            if not specs:
                fit = None
                break
            fit = _Stack(specs, text_rect[2], text_rect[3], self.height, self.floor).fit(max_base)
            if fit is not None:
                break
            candidates = [(s.style.priority, i, s.block) for i, s in enumerate(specs)]
            if photo:
                candidates.append((self.layout.photo_priority, len(specs), "photo"))
            top = max(candidates)
            droppable = [c for c in candidates if c != top]
            if not droppable:
                fit = _Stack(specs, text_rect[2], text_rect[3], self.height, 1).fit()
                layer.warnings.append(f"{specs[0].block} set below the legibility floor")
                break
            _, index, block = min(droppable)
            layer.dropped.append(block)
            if block == "photo":
                photo = None
            else:
                specs.pop(index)
        if photo_box is not None:
            layer.photos.append(photo_box)
        if fit is None:
            return None
        _place(layer, fit, text_rect, colours)
        return fit.base

    def split_photo(self, rect: Rect, photo: PhotoData, area: Area) -> tuple[Rect, PhotoBox]:
        """Split a child's cell into the photo (cropped around its focus) and the text beside it."""
        x, y, w, h = rect
        share = area.photo_share or 0.0
        side = area.photo_side
        if side == "left" and w / h < 0.9:
            side = "top"
        gap = self.pad
        if side == "left":
            pw = round(w * share)
            region, text = (x, y, pw, h), (x + pw + gap, y, max(w - pw - gap, 1), h)
        else:
            ph = round(h * share)
            region, text = (x, y, w, ph), (x, y + ph + gap, w, max(h - ph - gap, 1))
        rx, ry, rw, rh = region
        # a portrait photo is shown at most square: a wide crop would cut the face away
        crop = crop_box(photo, min(rw / rh, max(1.0, photo.width / photo.height)))
        scale = min(rw / (crop[2] - crop[0]), rh / (crop[3] - crop[1]), MAX_UPSCALE)
        dw, dh = (
            min(rw, round((crop[2] - crop[0]) * scale)),
            min(rh, round((crop[3] - crop[1]) * scale)),
        )
        box = (rx + (rw - dw) // 2, ry + (rh - dh) // 2, dw, dh)
        return text, PhotoBox(photo.id, box, crop, round(scale, 4))

    def qr(self, layer: Layer, rect: Rect) -> Rect:
        """Put the QR code of contact.url at the right of rect; the rest is for text."""
        url = self.alert.contact.url
        if not url:
            return rect
        x, y, w, h = rect
        modules = qr_code(url).symbol_size(scale=1, border=QR_BORDER)[0]
        module = h // modules
        side = modules * module
        if module < QR_MIN_MODULE or side > w // 3:
            layer.dropped.append("qr")
            return rect
        layer.qrs.append(QrBox((x + w - side, y + (h - side) // 2, side, side), url, module))
        return (x, y, w - side - self.pad, h)

    def layer(self, langs: tuple[str, ...]) -> Layer:
        layer = Layer(langs)
        found = content.is_found(self.alert)
        for area in self.layout.found if found else self.layout.alert:
            ax0, ay0, ax1, ay1 = area.box
            outer = (
                round(ax0 * self.width),
                round(ay0 * self.height),
                round(ax1 * self.width) - round(ax0 * self.width),
                round(ay1 * self.height) - round(ay0 * self.height),
            )
            colours = _colours(area.fill, self.alert)
            if area.fill != "page":
                layer.fills.append((outer, colours["fill"]))
            rect = _inset(outer, self.pad)
            if area.qr:
                rect = self.qr(layer, rect)
            if area.photo_share is None:
                only = content.children(self.alert)
                child = only[0] if len(only) == 1 else None  # one child: its details may go here
                self.stack(layer, self.specs(area, langs, child), rect, colours, area)
                continue
            kids = content.children(self.alert)
            if not kids:
                continue
            cells = [
                (self.specs(area, langs, child), cell, self.photos.get(child.photo or ""))
                for child, cell in zip(kids, self.cells(rect, len(kids)), strict=True)
            ]
            # children side by side get one size: each cell is tried alone, the smallest wins
            trial = Layer(langs)
            bases = [self.stack(trial, specs, cell, colours, area, p) for specs, cell, p in cells]
            common = min((b for b in bases if b is not None), default=None)
            for specs, cell, photo in cells:
                self.stack(layer, specs, cell, colours, area, photo, common)
        return layer

    def cells(self, rect: Rect, count: int) -> list[Rect]:
        """One cell per child, side by side along the rect's longer side."""
        x, y, w, h = rect
        if count <= 1:
            return [rect]
        gap = self.pad
        if w >= h:
            cw = (w - gap * (count - 1)) // count
            return [(x + i * (cw + gap), y, cw, h) for i in range(count)]
        ch = (h - gap * (count - 1)) // count
        return [(x, y + i * (ch + gap), w, ch) for i in range(count)]


def shown_languages(alert: Shown, languages: tuple[str, ...]) -> tuple[str, ...]:
    """The profile's languages, or the alert's own when the profile names none."""
    return tuple(languages) or alert.languages or ("nl",)


def resolve(
    alert: Shown,
    photos: dict[str, PhotoData],
    size: tuple[int, int],
    layout: str,
    languages: tuple[str, ...],
) -> Plan:
    chosen = choose(layout, size)
    langs = shown_languages(alert, languages)
    resolver = _Resolver(alert, photos, size, chosen)
    if chosen.languages == "both":
        groups = [langs]
    elif chosen.languages == "primary":
        groups = [langs[:1]]
    else:
        groups = [(lang,) for lang in langs]
    layers = [resolver.layer(group) for group in groups]
    return Plan(
        tuple(size),
        chosen.name,
        chosen.languages,
        resolver.floor,
        palette()["page"]["fill"],
        layers,
    )
