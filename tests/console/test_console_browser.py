"""The staff console in Debian's headless Chromium: every field and button is found by its
accessible name, so these tests also prove the labels exist."""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Page, expect
from support.alerts import amber_alert
from support.api import auth, create
from support.config import EDITOR, KEY_A, PUBLISHER, VIEWER
from support.console import ARTIFACTS, SECOND_PUBLISHER, drawn_face, start_console

from feedserver.appkeys import CONFIG, STORE

pytestmark = pytest.mark.browser


@pytest.fixture
async def console(aiohttp_client, tmp_path):
    return await start_console(aiohttp_client, tmp_path / "data")


async def new_page(browser, locale: str = "en-GB") -> Page:
    context = await browser.new_context(locale=locale, viewport={"width": 1440, "height": 900})
    return await context.new_page()


async def sign_in(page: Page, token: str) -> None:
    await expect(page.get_by_role("heading", name="Sign in to the staff console")).to_be_visible()
    await page.get_by_label("Staff token").fill(token)
    await page.get_by_role("button", name="Sign in").click()


async def confirm(page: Page, button: str, reach: str) -> None:
    await page.get_by_role("button", name=button, exact=True).click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text(reach)
    await dialog.get_by_role("button", name="Confirm").click()


async def test_compose_preview_four_eyes_publish_resolve(console, browser, tmp_path):
    profiles = sum(len(n.profiles) for n in console.app[CONFIG].current.networks)
    page = await new_page(browser)
    await page.goto(str(console.make_url("/console")))
    await sign_in(page, PUBLISHER)
    await page.get_by_role("link", name="New alert").click()

    # the rules are checked as the form is filled: an 18-year-old is flagged before saving
    child = page.get_by_role("group", name="Child 1")
    await page.get_by_label("Circumstance").select_option("stranger_abduction")
    await child.get_by_label("Name").fill("Fleur Testkind")
    await child.get_by_label("Age in years").fill("18")
    problems = page.locator("#problems")
    await expect(problems).to_contain_text("children[0].age: must be from 0 to 17")
    await child.get_by_label("Age in years").fill("9")
    await child.get_by_label("Clothing (en)").fill("Red coat")
    await child.get_by_label("Clothing (nl)").fill("Rode jas")
    await page.get_by_role("group", name="Last seen").get_by_label("Place").fill(
        "Utrecht, Vredenburg")
    await page.get_by_label("Message (nl)", exact=True).fill("Bel 112 als u haar ziet.")
    languages = page.get_by_role("group", name=re.compile("^Languages"))
    await languages.get_by_label("en", exact=True).check()
    await expect(problems).to_contain_text("No problems")

    # a photo drawn by the test, its focus point set by clicking it
    photo_file = tmp_path / "face.png"
    photo_file.write_bytes(drawn_face())
    await child.get_by_label(re.compile("Photo of child 1")).set_input_files(photo_file)
    photo = child.get_by_role("img", name=re.compile("child 1"))
    await expect(photo).to_be_visible()
    box = await photo.bounding_box()
    await photo.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.3})
    await expect(child.get_by_role("status")).to_contain_text("50% across, 30% down")
    photo_id = await child.locator('input[type="hidden"]').input_value()
    stored = await console.app[STORE].get_photo(photo_id)
    assert stored is not None and stored.focus == pytest.approx((0.5, 0.3), abs=0.01)

    # the preview wall: one tile per profile of every network, each image really rendered
    wall = page.locator("#wall > li")
    await expect(wall).to_have_count(profiles)
    await expect(page.get_by_role("button", name="net-a / landscape at full size")).to_be_visible()
    for i in range(profiles):
        await expect(wall.nth(i).locator("img")).to_have_js_property("complete", True)
        assert await wall.nth(i).locator("img").evaluate("i => i.naturalWidth") > 0
    ARTIFACTS.mkdir(exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=ARTIFACTS / "console-compose.png", full_page=True)
    await page.locator(".wall-section").screenshot(path=ARTIFACTS / "console-preview-wall.png")
    # any tile opens at full size, by keyboard too
    await page.get_by_role("button", name="net-b / atm at full size").focus()
    await page.keyboard.press("Enter")
    full = page.get_by_role("dialog", name=re.compile("atm at full size"))
    await expect(full.get_by_role("img")).to_have_js_property("naturalWidth", 800)
    await page.keyboard.press("Escape")
    await expect(full).to_be_hidden()

    await page.get_by_role("button", name="Save draft").click()
    await expect(page).to_have_url(re.compile(r"/console/alerts/a_[0-9a-f]+$"))
    alert_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator("#alert-status")).to_have_text("Draft")

    # four eyes: the author is told, and the server refuses the author's publish
    await expect(page.get_by_text("another publisher must publish it")).to_be_visible()
    await confirm(page, "Publish", "2 networks")
    await expect(page.get_by_role("alert")).to_contain_text("four eyes")
    await expect(page.locator("#alert-status")).to_have_text("Draft")

    # a second publisher signs in (back to this alert) and publishes
    await page.get_by_role("button", name="Sign out").click()
    await page.goto(str(console.make_url(f"/console/alerts/{alert_id}")))
    await sign_in(page, SECOND_PUBLISHER)
    await expect(page).to_have_url(re.compile(f"/console/alerts/{alert_id}$"))
    await expect(page.get_by_text("Needs a second publisher: pia-publisher")).to_be_visible()
    await confirm(page, "Publish", "2 networks")
    await expect(page.get_by_role("alert")).to_have_text(
        "Published: version 2 is on the screens.")
    await expect(page.locator("#alert-status")).to_have_text("Active")
    timeline = page.get_by_role("list").filter(has_text="published by quinn-publisher")
    await expect(timeline).to_contain_text("created by pia-publisher")
    await expect(timeline).to_contain_text("four eyes: created by pia-publisher")

    # an update of the live alert, behind its confirmation
    await page.get_by_label("Message (en)", exact=True).fill("Call 112 if you see her.")
    await confirm(page, "Update the live alert", "2 networks")
    await expect(page.get_by_role("alert")).to_have_text("Saved: version 3.")
    await expect(page.locator("#alert-version")).to_have_text("3")

    # the alert is in a profile's feed
    await page.get_by_role("link", name="Network A / landscape").click()
    document = json.loads(await page.locator("body").inner_text())
    assert [entry["id"] for entry in document["alerts"]] == [alert_id]
    screen_feed = await (await console.get("/v1/feeds/net-a/landscape",
                                           params={"key": KEY_A})).json()
    assert screen_feed["alerts"][0]["id"] == alert_id
    await page.go_back()

    # resolved with the "found" message, then signed out
    await page.get_by_label("Found message (nl)").fill("Fleur is terecht. Dank u wel!")
    await confirm(page, "Resolve: child found", "2 networks")
    await expect(page.locator("#alert-status")).to_have_text("Resolved (found)")
    screen_feed = await (await console.get("/v1/feeds/net-a/landscape",
                                           params={"key": KEY_A})).json()
    assert screen_feed["alerts"][0]["status"] == "resolved"
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("status")).to_have_text("You are signed out.")
    await page.goto(str(console.make_url("/console")))
    await expect(page).to_have_url(re.compile("/console/sign-in"))


async def test_a_viewer_sees_no_publish_button_and_a_cookie_only_post_is_refused(
        console, browser):
    draft = await create(console, amber_alert())
    page = await new_page(browser)
    await page.goto(str(console.make_url(f"/console/alerts/{draft['id']}")))
    await sign_in(page, VIEWER)
    await expect(page.locator("#alert-status")).to_have_text("Draft")
    await expect(page.get_by_text("your role cannot change it")).to_be_visible()
    await expect(page.get_by_role("button", name="Publish")).to_have_count(0)
    await expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    await expect(page.get_by_label("Message (nl)", exact=True)).to_be_disabled()

    # the session cookie alone changes nothing; the server refuses the viewer anyway
    publish_url = str(console.make_url(f"/v1/alerts/{draft['id']}/publish"))
    refused = await page.request.post(publish_url)
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "csrf_failed"
    token = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = await page.request.post(publish_url,
                                      headers={"X-CSRF-Token": token})
    assert refused.status == 403
    assert "publisher role" in (await refused.json())["error"]["message"]
    still = await (await console.get(f"/v1/alerts/{draft['id']}", headers=auth(VIEWER))).json()
    assert still["status"] == "draft"


async def test_dutch_browsers_get_a_dutch_console(console, browser):
    page = await new_page(browser, locale="nl-NL")
    await page.goto(str(console.make_url("/console")))
    await expect(page.get_by_role("heading", name="Inloggen op de console")).to_be_visible()
    await page.get_by_label("Medewerkerstoken").fill(PUBLISHER)
    await page.get_by_role("button", name="Inloggen").click()
    await page.get_by_role("link", name="Nieuwe alert").click()
    await expect(page.get_by_role("group", name="Kind 1").get_by_label("Naam")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "nl")


async def test_a_publisher_cancels_a_draft_with_a_reason(console, browser):
    draft = await create(console, amber_alert())
    page = await new_page(browser)
    await page.goto(str(console.make_url(f"/console/alerts/{draft['id']}")))
    await sign_in(page, SECOND_PUBLISHER)
    await page.get_by_label("Reason for cancelling").fill("Duplicate of another draft")
    await confirm(page, "Cancel the alert", "2 networks")
    await expect(page.locator("#alert-status")).to_have_text("Cancelled")
    await expect(page.get_by_role("button", name="Cancel the alert")).to_be_hidden()
    await expect(page.get_by_role("list").filter(has_text="cancelled by quinn-publisher")
                 ).to_contain_text("Duplicate of another draft")


async def test_a_conflicting_edit_shows_what_changed_and_overwrites_nothing(console, browser):
    draft = await create(console, amber_alert())
    page = await new_page(browser)
    await page.goto(str(console.make_url(f"/console/alerts/{draft['id']}")))
    await sign_in(page, EDITOR)
    await expect(page.locator("#alert-version")).to_have_text("1")

    # meanwhile someone else changes the message
    response = await console.patch(
        f"/v1/alerts/{draft['id']}", json={"message": {"nl": "Nieuwe tekst van Pia"}},
        headers={**auth(PUBLISHER), "Content-Type": "application/merge-patch+json"})
    assert response.status == 200

    child = page.get_by_role("group", name="Child 1")
    await child.get_by_label("Clothing (nl)").fill("Groene jas")
    await page.get_by_role("button", name="Save changes").click()
    conflict = page.locator("#conflict")
    await expect(conflict).to_contain_text("now version 2")
    row = conflict.get_by_role("row", name=re.compile("message.nl"))
    await expect(row).to_contain_text("Nieuwe tekst van Pia")
    stored = await (await console.get(f"/v1/alerts/{draft['id']}", headers=auth(VIEWER))).json()
    assert stored["version"] == 2 and stored["children"][0]["clothing"]["nl"] == "Rode jas"

    # my change goes on top of theirs; theirs stays
    await conflict.get_by_role("button", name=re.compile("Keep my changes")).click()
    await expect(page.locator("#alert-version")).to_have_text("3")
    stored = await (await console.get(f"/v1/alerts/{draft['id']}", headers=auth(VIEWER))).json()
    assert stored["children"][0]["clothing"]["nl"] == "Groene jas"
    assert stored["message"]["nl"] == "Nieuwe tekst van Pia"
    await expect(page.get_by_label("Message (nl)", exact=True)).to_have_value(
        "Nieuwe tekst van Pia")


async def test_a_regional_alert_gets_its_circle_from_the_form(console, browser):
    page = await new_page(browser)
    await page.goto(str(console.make_url("/console/alerts/new")))
    await sign_in(page, EDITOR)
    await page.get_by_label("Kind", exact=True).select_option("missing_child")
    await page.get_by_label("Circumstance").select_option("runaway")
    await page.get_by_label("Regions").fill("NL-GR")
    await page.get_by_role("group", name="Child 1").get_by_label("Name").fill("Daan Verzonnen")
    await page.get_by_role("group", name="Child 1").get_by_label("Age in years").fill("14")
    area = page.get_by_role("group", name=re.compile("Area of a regional alert"))
    await area.get_by_label("Centre latitude").fill("53.2194")
    await area.get_by_label("Centre longitude").fill("6.5665")
    await area.get_by_label("Radius in km").fill("400")
    await expect(page.locator("#problems")).to_contain_text("area.circles[0].radius_km")
    await area.get_by_label("Radius in km").fill("25")
    await expect(page.locator("#problems")).to_contain_text("No problems")
    await page.get_by_role("button", name="Save draft").click()
    await expect(page).to_have_url(re.compile(r"/console/alerts/a_[0-9a-f]+$"))
    stored = await (await console.get(f"/v1/alerts/{page.url.rsplit('/', 1)[1]}",
                                      headers=auth(VIEWER))).json()
    assert stored["area"] == {"circles": [{"lat": 53.2194, "lon": 6.5665, "radius_km": 25}],
                              "polygons": []}
