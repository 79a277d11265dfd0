"""Hard inputs: diacritics, long names, no photo, three children, awkward photo files, found
cards, test alerts, languages; and that equal input gives equal bytes."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageFont
from support import samples

from feedserver.alerts.model import Shown
from feedserver.render import PhotoData, plan_report, render_creative
from feedserver.render.fonts import (
    FONT_FILES,
    LATIN,
    UNHINTED_FONT_FILES,
    UNHINTED_FROM_PX,
    WEB_FONT_FILES,
    cut,
    font,
)
from feedserver.render.plan import resolve

CHILD = samples.alert()["children"][0]
LONG_NAME = "Maximiliaan Alexander Benedictus van Oranje-Nassau Ağaoğlu"  # 58 + " (9)": 62
CHECK_SIZES = [(1920, 1080), (1080, 1920), (1400, 400), (800, 600), (728, 90), (3120, 260)]


def texts(report: dict) -> dict[str, str]:
    return {b["block"]: " ".join(b["lines"]) for b in report["layers"][0]["blocks"]}


def assert_sound(report: dict) -> None:
    for layer in report["layers"]:
        assert layer["warnings"] == []
        for block in layer["blocks"]:
            assert not block["overflow"] and block["font_px"] >= report["floor_px"]
            assert block["contrast"] >= 4.5


def test_the_fonts_have_every_latin_extended_letter_of_these_names():
    for path in [*FONT_FILES.values(), *UNHINTED_FONT_FILES.values()]:
        cmap = TTFont(path)["cmap"].getBestCmap()
        assert all(ord(c) in cmap for c in "Łukasz Zoë Đorđe Ağaoğlu ŞşŽžĆćŐőŰű")


def test_the_unhinted_fonts_are_the_shipped_fonts_less_their_hinting_only():
    for weight, path in UNHINTED_FONT_FILES.items():
        hinted, unhinted = TTFont(FONT_FILES[weight]), TTFont(path)
        assert not {"fpgm", "prep", "cvt "} & set(unhinted.keys())
        assert hinted.getGlyphOrder() == unhinted.getGlyphOrder()
        assert hinted["hmtx"].metrics == unhinted["hmtx"].metrics
        assert hinted["cmap"].getBestCmap() == unhinted["cmap"].getBestCmap()
        assert all(hinted[table].compile(hinted) == unhinted[table].compile(unhinted)
                   for table in ("GSUB", "GDEF", "hhea", "OS/2"))
        text = "AVATAR Tweede Voertuig: Yvonne, Łukasz Ağaoğlu — 12-AB-34 “LT” ffi"
        for px in (UNHINTED_FROM_PX, 97, 1000):  # shaped (kerning, ligatures) alike
            assert font(weight, px).getlength(text) == ImageFont.truetype(
                str(FONT_FILES[weight]), px, layout_engine=ImageFont.Layout.RAQM).getlength(text)


def test_the_web_fonts_are_the_latin_cut_of_the_shipped_fonts():
    for weight, path in WEB_FONT_FILES.items():
        assert path.read_bytes() == cut(weight, LATIN)


def test_names_beyond_latin_get_their_own_font_cut():
    alert = samples.shown(children=[{**CHILD, "name": "Анна Ψ"}])
    html = render_creative(alert, {}, (800, 600), "auto", ("nl",), "html").body.decode()
    assert "Анна Ψ (9)" in html
    assert len(html) > len(
        render_creative(samples.shown(), {}, (800, 600), "auto", ("nl",), "html").body
    )


@pytest.mark.parametrize("size", CHECK_SIZES)
def test_diacritics_and_a_60_character_name_fit(size):
    kids = [{**CHILD, "name": LONG_NAME, "photo": None}]
    alert = samples.shown(children=kids)
    report = plan_report(alert, {}, size, "auto", ("nl", "en"))
    assert_sound(report)
    shown = texts(report)
    name = shown.get("name") or shown["names"]
    assert name.replace(" ", "") == (LONG_NAME + " (9)").replace(" ", "")


@pytest.mark.parametrize("size", CHECK_SIZES)
def test_three_children_each_with_name_and_photo_at_one_size(size):
    kids = [
        {**CHILD, "name": "Łukasz Ağaoğlu", "age": 7, "photo": "p1"},
        {**CHILD, "name": "Zoë Đorđević", "age": 11, "photo": "p2"},
        {**CHILD, "name": "Đorđe Kovač", "age": 4, "photo": "p3"},
    ]
    photos = {f"p{i}": samples.photo(f"p{i}", samples.portrait_photo(seed=i)) for i in (1, 2, 3)}
    report = plan_report(samples.shown(children=kids), photos, size, "auto", ("nl", "en"))
    assert_sound(report)
    layer = report["layers"][0]
    if report["layout"] == "ticker":
        names = texts(report)["names"]
        assert all(n in names for n in ("Łukasz", "Zoë", "Đorđe"))
        return
    names = [b for b in layer["blocks"] if b["block"] == "name"]
    assert len(names) == 3 and len({b["font_px"] for b in names}) == 1
    assert len(layer["photos"]) == 3


def test_no_photo_gives_the_text_the_room():
    alert = samples.shown(children=[{**CHILD, "photo": None}])
    report = plan_report(alert, {}, (1920, 1080), "auto", ("nl",))
    assert_sound(report)
    with_photo = plan_report(samples.shown(), samples.photos(), (1920, 1080), "auto", ("nl",))
    assert report["layers"][0]["photos"] == []
    name = next(b for b in report["layers"][0]["blocks"] if b["block"] == "name")
    name_beside_photo = next(b for b in with_photo["layers"][0]["blocks"] if b["block"] == "name")
    assert name["box"][2] > name_beside_photo["box"][2]


def photo_region(png: bytes, report: dict) -> Image.Image:
    x, y, w, h = report["layers"][0]["photos"][0]["box"]
    return Image.open(io.BytesIO(png)).convert("RGB").crop((x, y, x + w, y + h))


def test_a_6000x4000_exif_rotated_photo_is_shown_upright():
    data = samples.portrait_photo((4000, 6000), exif_orientation=8)  # stored as 6000x4000
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.size == (6000, 4000)
    photo = PhotoData.from_bytes("big", data)
    assert (photo.width, photo.height) == (4000, 6000)
    alert = samples.shown(children=[{**CHILD, "photo": "big"}])
    creative = render_creative(alert, {"big": photo}, (1920, 1080), "auto", ("nl",), "png")
    region = photo_region(creative.body, creative.report)
    w, h = region.size
    skin = region.getpixel((w // 2, int(h * 0.45)))  # the face sits in the upper half
    shirt = region.getpixel((w // 2, int(h * 0.97)))
    assert skin[0] > 200 and skin[2] < 190, skin
    assert shirt[2] > shirt[0], shirt


def test_a_cmyk_jpeg_is_converted_not_blackened():
    data = samples.portrait_photo(mode="CMYK")
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.mode == "CMYK"
    photo = PhotoData.from_bytes("cmyk", data)
    alert = samples.shown(children=[{**CHILD, "photo": "cmyk"}])
    creative = render_creative(alert, {"cmyk": photo}, (800, 600), "auto", ("nl",), "jpg")
    region = photo_region(creative.body, creative.report)
    r, g, b = region.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert min(r, g, b) > 100  # a light picture, as drawn


def test_a_png_with_alpha_is_flattened_onto_white():
    data = samples.portrait_photo(mode="RGBA", fmt="PNG")
    photo = PhotoData.from_bytes("alpha", data)
    alert = samples.shown(children=[{**CHILD, "photo": "alpha"}])
    creative = render_creative(alert, {"alpha": photo}, (1080, 1920), "auto", ("nl",), "png")
    report = creative.report["layers"][0]["photos"][0]
    region = photo_region(creative.body, creative.report)
    top = report["crop"][1]
    assert top < 0.08 * photo.height  # the crop includes the transparent strip at the top
    assert region.getpixel((2, 1)) == (255, 255, 255)


def test_focus_point_moves_the_crop():
    data = samples.portrait_photo((1200, 800))
    centre = plan_report(
        samples.shown(), {"p1": samples.photo("p1", data)}, (1920, 1080), "auto", ("nl",)
    )
    left = plan_report(
        samples.shown(),
        {"p1": samples.photo("p1", data, (0.0, 0.5))},
        (1920, 1080),
        "auto",
        ("nl",),
    )
    assert centre["layers"][0]["photos"][0]["crop"][0] > 0
    assert left["layers"][0]["photos"][0]["crop"][0] == 0


def test_a_small_photo_is_not_blown_up():
    small = samples.photo("p1", samples.portrait_photo((150, 200)))
    report = plan_report(samples.shown(), {"p1": small}, (3840, 2160), "auto", ("nl",))
    photo = report["layers"][0]["photos"][0]
    assert photo["scale"] <= 1.25 and photo["box"][3] <= 200 * 1.25


def test_found_card_shows_the_resolution_message():
    alert = samples.shown(
        status="resolved",
        resolution={
            "message": {
                "nl": "Sanne is gevonden. Bedankt!",
                "en": "Sanne has been found. Thank you!",
            }
        },
    )
    report = plan_report(alert, samples.photos(), (1920, 1080), "auto", ("nl", "en"))
    shown = texts(report)
    assert shown["banner"] == "GEVONDEN FOUND"
    assert "Sanne is gevonden" in shown["resolution"] and "has been found" in shown["resolution"]
    assert report["layers"][0]["photos"] == []
    assert_sound(report)


def test_test_alerts_carry_a_test_marker_and_kind_banners_are_localised():
    alert = samples.shown(kind="missing_child", circumstance="runaway", test=True)
    report = plan_report(alert, samples.photos(), (1920, 1080), "auto", ("nl", "en"))
    assert texts(report)["banner"] == "TEST · VERMIST KIND ALERT TEST · MISSING CHILD ALERT"
    plan = resolve(alert, samples.photos(), (1920, 1080), "auto", ("nl", "en"))
    assert plan.layers[0].fills[0][1] == "#6A1B9A"  # test banners are purple, not amber or blue
    english = plan_report(samples.shown(kind="missing_child"), {}, (800, 600), "auto", ("en",))
    assert texts(english)["banner"] == "MISSING CHILD ALERT"


def test_ticker_alternates_languages_in_html_only():
    creative = render_creative(samples.shown(), {}, (728, 90), "auto", ("nl", "en"), "html")
    assert [layer["languages"] for layer in creative.report["layers"]] == [["nl"], ["en"]]
    html = creative.body.decode()
    assert "@keyframes take-turns" in html and "Gezien? Bel" in html and "Seen? Call" in html
    png = render_creative(samples.shown(), {}, (728, 90), "auto", ("nl", "en"), "png")
    assert Image.open(io.BytesIO(png.body)).size == (728, 90)


def test_a_missing_translation_falls_back_to_the_primary_language():
    alert = samples.shown(message={"nl": "Bel direct 112."})
    report = plan_report(alert, samples.photos(), (1920, 1080), "landscape", ("nl", "en"))
    assert texts(report)["message"] == "Bel direct 112."


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "html"])
def test_equal_input_gives_equal_bytes(fmt):
    first = render_creative(samples.shown(), samples.photos(), (1024, 768), "auto", ("nl",), fmt)
    again = render_creative(samples.shown(), samples.photos(), (1024, 768), "auto", ("nl",), fmt)
    assert first.body == again.body


def test_equal_bytes_in_another_process_too():
    """Nothing in a creative depends on the process: no timestamps, no cached state."""
    script = (
        "import sys, hashlib; sys.path.insert(0, sys.argv[1]); from support import samples;"
        "from feedserver.render import render_creative as r;"
        "print(' '.join(hashlib.sha256(r(samples.shown(), samples.photos(), (1024, 768), 'auto',"
        " ('nl', 'en'), f).body).hexdigest() for f in ('jpg', 'png', 'webp', 'html')))"
    )
    tests_dir = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", script, tests_dir],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    mine = [
        hashlib.sha256(
            render_creative(
                samples.shown(), samples.photos(), (1024, 768), "auto", ("nl", "en"), f
            ).body
        ).hexdigest()
        for f in ("jpg", "png", "webp", "html")
    ]
    assert out == mine


@pytest.mark.parametrize(
    ("size", "layout"),
    [
        ((728, 90), "ticker"),
        ((3120, 260), "ticker"),
        ((1150, 160), "ticker"),
        ((1400, 400), "strip"),
        ((970, 250), "strip"),
        ((1920, 1080), "landscape"),
        ((1792, 640), "landscape"),
        ((1080, 1920), "portrait"),
        ((432, 1008), "portrait"),
        ((800, 600), "close"),
        ((1280, 1024), "close"),
        ((600, 600), "close"),
    ],
)
def test_auto_picks_by_aspect_and_size(size, layout):
    assert plan_report(samples.shown(), {}, size, "auto", ("nl",))["layout"] == layout


def test_any_layout_can_be_forced():
    report = plan_report(samples.shown(), samples.photos(), (1920, 1080), "close", ("nl",))
    assert report["layout"] == "close"
    assert_sound(report)


@pytest.mark.parametrize("fmt", ["png", "html"])
def test_a_sparse_ingested_draft_still_renders(fmt):
    """Drafts from ingest may break the rules (no child, odd times); a preview must not fail."""
    sparse = {
        "kind": "amber",
        "languages": ["nl"],
        "children": [],
        "last_seen": {"at": "yesterday", "place": "Zwolle"},
    }
    for size in ((1920, 1080), (728, 90), (800, 600)):
        creative = render_creative(Shown.from_document(sparse), {}, size, "auto", ("nl",), fmt)
        assert texts(creative.report)["banner"] == "AMBER ALERT"
    report = plan_report(Shown.from_document(sparse), {}, (1920, 1080), "auto", ("nl",))
    assert texts(report)["last_seen"] == "Laatst gezien: Zwolle"
