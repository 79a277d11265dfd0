"""Hypothesis for the layout resolver (feedserver/render/plan.py): any Unicode text in every
field a creative shows, at any size from 64x32 to 7680x4320, with one to three children, in
any layout. Never an exception, and by the resolver's own plan never an overflow: every text
box, line, photo and QR code inside the canvas, every line inside its box, no two text boxes
of a layer on top of each other."""

from __future__ import annotations

from functools import cache

from hypothesis import given
from hypothesis import strategies as st
from support import samples
from support.fuzzing import bounded, short_texts, texts

from feedserver.render.creative import render_creative
from feedserver.render.plan import Plan, resolve
from feedserver.render.report import build

LANGS = ("nl", "en", "de", "fr")


@cache
def photos() -> dict:
    return samples.photos()


def localised(langs: list[str]):
    return st.fixed_dictionaries({lang: texts for lang in langs})


@st.composite
def alerts(draw) -> tuple[dict, tuple[str, ...]]:
    """The sample alert with every shown text fuzzed, and the languages a profile shows."""
    langs = draw(st.lists(st.sampled_from(LANGS), min_size=1, max_size=4, unique=True))
    children = draw(st.lists(st.fixed_dictionaries({
        "name": texts, "age": st.integers(0, 17), "sex": st.sampled_from(["female", "male"]),
        "height_cm": st.integers(30, 250), "description": localised(langs),
        "clothing": localised(langs), "photo": st.sampled_from(["p1", None]),
    }), min_size=1, max_size=3))
    vehicle = {"make": draw(short_texts), "model": draw(short_texts),
               "colour": draw(localised(langs)), "plate": draw(short_texts), "country": "NL"}
    resolution = draw(st.sampled_from([None, {"message": {langs[0]: "Gevonden"},
                                              "at": "2026-11-28T15:00:00+00:00"}]))
    alert = samples.shown(
        status="resolved" if resolution else "active",
        resolution=resolution,
        kind=draw(st.sampled_from(["amber", "missing_child"])),
        test=draw(st.booleans()),
        languages=langs,
        headline=draw(localised(langs)),
        children=children,
        suspects=[{"name": draw(st.none() | texts), "description": draw(localised(langs)),
                   "photo": None}],
        vehicles=[vehicle],
        last_seen={"place": draw(texts), "at": "2026-11-28T13:10:00+00:00"},
        message=draw(localised(langs)),
        contact={"phone": draw(short_texts), "url": draw(st.sampled_from(
            ["https://www.politie.nl/amberalert", "https://example.nl/" + "x" * 300, None]))},
    )
    profile_langs = draw(st.lists(st.sampled_from(LANGS), max_size=2, unique=True))
    return alert, tuple(profile_langs)


def inside(box: tuple[int, int, int, int], width: int, height: int) -> bool:
    x, y, w, h = box
    return x >= 0 and y >= 0 and w >= 0 and h >= 0 and x + w <= width and y + h <= height


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def assert_no_overflow(plan: Plan) -> None:
    width, height = plan.size
    for layer in plan.layers:
        for box in layer.texts:
            assert inside(box.box, width, height), box
            x, y, w, h = box.box
            for line in box.lines:
                assert x <= line.x and line.x + line.width <= x + w, (line, box.box)
                assert y <= line.top and line.top + box.line_height <= y + h, (line, box.box)
        for other in (*layer.photos, *layer.qrs):
            assert inside(other.box, width, height), other
        assert layer.texts, "nothing shown"
        boxes = [box.box for box in layer.texts]
        for i, a in enumerate(boxes):
            assert not any(overlap(a, b) for b in boxes[i + 1:]), (a, boxes)
    assert not any(block["overflow"] for layer in build(plan)["layers"]
                   for block in layer["blocks"])


@bounded(150)
@given(alert=alerts(), width=st.integers(64, 7680), height=st.integers(32, 4320),
       layout=st.sampled_from(["auto", "landscape", "portrait", "strip", "ticker", "close"]))
def test_any_text_at_any_size_resolves_inside_the_canvas(alert, width, height, layout):
    document, languages = alert
    assert_no_overflow(resolve(document, photos(), (width, height), layout, languages))


@bounded(60)
@given(alert=alerts(), size=st.sampled_from([(64, 32), (7680, 4320), (64, 4320), (7680, 32),
                                              (65, 33), (7679, 4319)]))
def test_the_extreme_sizes_resolve_inside_the_canvas(alert, size):
    document, languages = alert
    assert_no_overflow(resolve(document, photos(), size, "auto", languages))


@bounded(12)
@given(alert=alerts(), width=st.integers(64, 1920), height=st.integers(32, 1080),
       fmt=st.sampled_from(["png", "html"]))
def test_any_text_is_painted(alert, width, height, fmt):
    """Pillow (with raqm) and the HTML painter take whatever the resolver placed."""
    document, languages = alert
    creative = render_creative(document, photos(), (width, height), "auto", languages, fmt)
    assert creative.body
