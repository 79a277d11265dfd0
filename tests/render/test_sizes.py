"""A realistic alert at every screen size the design names, in every format."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms
from support import samples
from support.samples import SIZES, all_renders, parse

from feedserver.render.fonts import font
from feedserver.render.plan import resolve
from feedserver.render.report import contrast


@pytest.mark.parametrize("size", SIZES)
def test_images_have_the_exact_size_and_are_srgb(size):
    for fmt, pil_format in (("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP")):
        img = Image.open(io.BytesIO(all_renders()[size][fmt].body))
        assert img.format == pil_format
        assert img.size == parse(size)
        assert img.mode == "RGB"
        profile = ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)


@pytest.mark.parametrize("size", SIZES)
def test_text_fits_above_the_floor_with_contrast(size):
    width, height = parse(size)
    report = all_renders()[size]["png"].report
    for layer in report["layers"]:
        names = [b for b in layer["blocks"] if b["block"] in ("name", "names")]
        assert names, "the child's name is always shown"
        assert layer["warnings"] == []
        for block in layer["blocks"]:
            x, y, w, h = block["box"]
            assert x >= 0 and y >= 0 and x + w <= width and y + h <= height, block
            assert not block["overflow"], block
            assert block["font_px"] >= report["floor_px"], block
            assert block["contrast"] >= 4.5, block
        assert names[0]["font_px"] >= max(12, 0.016 * height)
        assert names[0]["cap_height_px"] >= 0.7 * report["floor_px"]


@pytest.mark.parametrize("size", ["1920x1080", "1080x1920", "800x600", "728x90"])
def test_the_poster_shows_banner_name_photo_and_phone(size):
    layer = all_renders()[size]["png"].report["layers"][0]
    shown = {b["block"]: " ".join(b["lines"]) for b in layer["blocks"]}
    assert shown["banner"] == "AMBER ALERT"
    assert "Sanne de Vries (9)" in (shown.get("name") or shown.get("names"))
    assert "0800-6070" in shown["call"]
    if size != "728x90":
        assert layer["photos"] and "last_seen" in shown


def test_jpeg_at_full_hd_is_under_750_kb():
    assert len(all_renders()["1920x1080"]["jpg"].body) < 750 * 1024


def test_report_gives_sizes_as_share_of_height():
    report = all_renders()["1920x1080"]["png"].report
    assert report["layout"] == "landscape"
    name = next(b for b in report["layers"][0]["blocks"] if b["block"] == "name")
    assert name["share_of_height"] == round(name["font_px"] / 1080, 4)
    assert report["layers"][0]["languages"] == ["nl", "en"]


def test_wcag_contrast_formula():
    assert round(contrast("#000000", "#FFFFFF"), 1) == 21.0
    assert round(contrast("#777777", "#FFFFFF"), 2) == 4.48


@pytest.mark.parametrize("size", SIZES)
def test_pillow_ink_stays_inside_each_text_box(size):
    """The painted glyphs, not just the measured advances, stay inside their boxes."""
    plan = resolve(samples.shown(), samples.photos(), parse(size), "auto", ("nl", "en"))
    for layer in plan.layers:
        for box in layer.texts:
            x, _, w, _ = box.box
            face = font(box.weight, box.px)
            for line in box.lines:
                left, _, right, _ = face.getbbox(line.text, anchor="ls")
                # a glyph such as "j" may hang a little left of its pen position, as in print
                overhang = 0.1 * box.px
                assert line.x + left >= x - overhang, (box.block, line.text)
                assert line.x + right <= x + w, (box.block, line.text)
