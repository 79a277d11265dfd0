"""The shipped fonts (Noto Sans, OFL): one family, so renders are equal on every machine."""

from __future__ import annotations

import base64
import hashlib
import io
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import ImageFont

FONT_DIR = Path(__file__).parent / "fonts"
FONT_FILES = {"regular": FONT_DIR / "NotoSans-Regular.ttf", "bold": FONT_DIR / "NotoSans-Bold.ttf"}
# The same faces without TrueType hinting instructions, for large text: FreeType draws them in
# less than half the time (drawing text was a third of all render work) with the same advances,
# and at these sizes hinting moves no stem by a visible amount. Small text keeps its hinting.
# Made by: pyftsubset NotoSans-W.ttf --glyphs='*' --no-hinting --layout-features='*'
#   --name-IDs='*' --name-languages='*' --notdef-outline --glyph-names --legacy-kern
#   --drop-tables= --no-recalc-timestamp --output-file=NotoSans-W.unhinted.ttf
UNHINTED_FONT_FILES = {w: FONT_DIR / f"NotoSans-{w.title()}.unhinted.ttf" for w in FONT_FILES}
UNHINTED_FROM_PX = 40
# the same faces cut to LATIN for HTML documents, made by write_web_fonts()
WEB_FONT_FILES = {w: FONT_DIR / f"NotoSans-{w.title()}.latin.ttf" for w in ("regular", "bold")}
CSS_WEIGHTS = {"regular": 400, "bold": 700}
FAMILY = "Feedserver Noto Sans"


@cache
def font(weight: str, px: int) -> ImageFont.FreeTypeFont:
    """A FreeType face at a pixel size (unhinted from UNHINTED_FROM_PX); Raqm (HarfBuzz)
    shapes it, as Chromium does."""
    path = (UNHINTED_FONT_FILES if px >= UNHINTED_FROM_PX else FONT_FILES)[weight]
    return ImageFont.truetype(str(path), px, layout_engine=ImageFont.Layout.RAQM)


@cache
def _measure_face(weight: str) -> ImageFont.FreeTypeFont:
    return font(weight, 1000)


@cache
def _unit_width(weight: str, text: str) -> float:
    return _measure_face(weight).getlength(text) / 1000


def text_width(weight: str, px: int, text: str) -> float:
    """Advance width in px: measured once at 1000 px and scaled, so fitting needs no new faces."""
    return _unit_width(weight, text) * px


@cache
def vertical_metrics(weight: str) -> tuple[float, float, float]:
    """(ascent, descent, cap height) per em from the font tables the browser also uses."""
    tt = TTFont(FONT_FILES[weight], lazy=True)
    upm = tt["head"].unitsPerEm
    return tt["hhea"].ascent / upm, -tt["hhea"].descent / upm, tt["OS/2"].sCapHeight / upm


@cache
def fonts_digest() -> str:
    """Hash of the font files: part of every creative's digest."""
    h = hashlib.sha256()
    files = [*FONT_FILES.values(), *UNHINTED_FONT_FILES.values(), *WEB_FONT_FILES.values()]
    for path in sorted(files):
        h.update(path.read_bytes())
    return h.hexdigest()


# Latin, Latin-1, Latin Extended-A and -B, general punctuation, euro: every name we expect
LATIN = "".join(
    chr(c) for c in [*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x2010, 0x2030), 0x20AC]
)


def cut(weight: str, chars: str) -> bytes:
    """The face cut to `chars`, without hinting and with only the features that move glyphs
    in Latin text (kerning, ligatures). Deterministic: the timestamp is kept as shipped."""
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.layout_features = ["kern", "liga"]
    tt = TTFont(FONT_FILES[weight], recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(tt)
    out = io.BytesIO()
    tt.save(out)
    return out.getvalue()


def write_web_fonts() -> None:
    """Cut the shipped faces to LATIN for HTML; run after changing the fonts or LATIN:
    python -c 'from feedserver.render.fonts import write_web_fonts; write_web_fonts()'"""
    for weight, path in WEB_FONT_FILES.items():
        path.write_bytes(cut(weight, LATIN))


@cache
def _data_uri(weight: str, chars: str) -> str:
    data = WEB_FONT_FILES[weight].read_bytes() if chars == LATIN else cut(weight, chars)
    return "data:font/ttf;base64," + base64.b64encode(data).decode("ascii")


def css_data_uri(weight: str, chars: str) -> str:
    """The face for @font-face as a data: URI. Documents in Latin script (nearly all) get the
    Latin cut shipped beside the fonts; others get a cut with their own characters added."""
    extra = "".join(sorted(set(chars) - set(LATIN)))
    return _data_uri(weight, LATIN + extra)
