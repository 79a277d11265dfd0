"""The HTML creatives in a real headless Chromium: no scrollbars, no line outside its box."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat
from playwright.sync_api import sync_playwright
from support import samples
from support.browser import CHROMIUM, CHROMIUM_ARGS
from support.samples import SIZES, all_renders, parse

from feedserver.render import render_creative

pytestmark = pytest.mark.browser
MEASURE = """() => {
  const outside = [];
  for (const box of document.querySelectorAll('.box')) {
    const b = box.getBoundingClientRect();
    for (const line of box.querySelectorAll('.line')) {
      const range = document.createRange();
      range.selectNodeContents(line);
      const r = range.getBoundingClientRect();
      if (r.left < b.left - 0.5 || r.right > b.right + 0.5) outside.push(line.textContent);
    }
  }
  const doc = document.documentElement;
  return {scrollWidth: doc.scrollWidth, scrollHeight: doc.scrollHeight, outside,
          fontLoaded: document.fonts.check('700 20px "Feedserver Noto Sans"'),
          scripts: document.scripts.length};
}"""


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def load(browser, html: bytes, size: tuple[int, int]):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.set_content(html.decode("utf-8"), wait_until="load")
    page.evaluate("document.fonts.ready.then(() => true)")
    return page


@pytest.mark.parametrize("size", SIZES)
def test_html_fits_the_screen_exactly(browser, size):
    dims = parse(size)
    page = load(browser, all_renders()[size]["html"].body, dims)
    try:
        facts = page.evaluate(MEASURE)
    finally:
        page.close()
    assert (facts["scrollWidth"], facts["scrollHeight"]) == dims
    assert facts["outside"] == []
    assert facts["fontLoaded"] and facts["scripts"] == 0


def test_a_name_with_markup_shows_as_text(browser):
    alert = samples.shown(
        children=[{**samples.alert()["children"][0], "name": "<script>alert(1)</script>"}]
    )
    html = render_creative(alert, samples.photos(), (1920, 1080), "auto", ("nl",), "html").body
    assert b"<script>" not in html
    page = load(browser, html, (1920, 1080))
    try:
        texts = page.eval_on_selector_all(
            ".box[data-block=name] .line", "ls => ls.map(l => l.textContent)"
        )
        scripts = page.evaluate("document.scripts.length")
    finally:
        page.close()
    assert "".join(texts).replace(" ", "").startswith("<script>alert(1)</script>")
    assert scripts == 0


def test_html_and_png_put_the_text_in_the_same_place(browser):
    """The two painters follow one plan: the name's line box is where the plan says."""
    dims = (1280, 1024)
    creative = render_creative(
        samples.shown(), samples.photos(), dims, "auto", ("nl", "en"), "html"
    )
    name = next(b for b in creative.report["layers"][0]["blocks"] if b["block"] == "name")
    page = load(browser, creative.body, dims)
    try:
        rect = page.eval_on_selector(
            ".box[data-block=name]",
            "b => { const r = b.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }",
        )
    finally:
        page.close()
    assert [round(v) for v in rect] == name["box"]


@pytest.mark.parametrize("size", ["1920x1080", "1080x1920", "800x600", "1400x400", "728x90"])
def test_the_browser_draws_what_pillow_draws(browser, size):
    """One plan, two painters: a screenshot of the HTML and the PNG differ only in how text
    edges are smoothed, never in where things are."""
    dims = parse(size)
    page = load(browser, all_renders()[size]["html"].body, dims)
    try:
        shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    finally:
        page.close()
    png = Image.open(io.BytesIO(all_renders()[size]["png"].body)).convert("RGB")
    diff = ImageChops.difference(shot, png)
    assert max(ImageStat.Stat(diff).mean) < 8
    strong = diff.convert("L").point(lambda v: 255 if v > 64 else 0)
    assert ImageStat.Stat(strong).mean[0] / 255 < 0.05


def test_a_ticker_alternates_its_languages_with_css_alone(browser):
    html = all_renders()["728x90"]["html"].body
    page = load(browser, html, (728, 90))
    visible = """t => { for (const a of document.getAnimations()) { a.pause(); a.currentTime = t; }
        return [...document.querySelectorAll('.layer')].map(
            l => [l.lang, getComputedStyle(l).visibility]); }"""
    try:
        first = page.evaluate(visible, 1000)
        second = page.evaluate(visible, 9000)
        scripts = page.evaluate("document.scripts.length")
    finally:
        page.close()
    assert first == [["nl", "visible"], ["en", "hidden"]]
    assert second == [["nl", "hidden"], ["en", "visible"]]
    assert scripts == 0
