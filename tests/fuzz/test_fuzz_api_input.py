"""Hypothesis through the real API of a running `feedserver serve`: alert JSON (POST
/v1/alerts), JSON merge patches (PATCH) and CAP XML (POST /v1/ingest/cap). Whatever staff or a
CAP feed send, the answer is a success or a 4xx naming the problem, never a 5xx; an accepted
alert reads back as stored and its layout report at every profile stays inside the screen."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from xml.sax.saxutils import escape

import pytest
import requests
from hypothesis import event, example, given
from hypothesis import strategies as st
from support.alerts import amber_alert
from support.api import auth
from support.cap import message
from support.config import EDITOR, PUBLISHER, VIEWER, config_data
from support.fuzzing import bounded, json_values, objects_with, short_texts, texts, xml_texts
from support.servers import ServerProcess

LANGS = ("nl", "en", "de", "fr")
PROFILES = ("landscape", "amber-only", "utrecht", "tests")

localised = st.one_of(texts, st.dictionaries(st.one_of(st.sampled_from(LANGS), short_texts),
                                             texts, max_size=4), json_values)
numbers = st.one_of(st.integers(-5, 300), st.floats(allow_nan=False, allow_infinity=False),
                    json_values)
child = st.fixed_dictionaries({}, optional={
    "name": st.one_of(texts, json_values), "age": numbers,
    "sex": st.one_of(st.sampled_from(["female", "male", "other", "unknown"]), json_values),
    "height_cm": numbers, "description": localised, "clothing": localised,
    "photo": st.one_of(st.just("p_" + "0" * 24), json_values)})
circle = st.fixed_dictionaries({"lat": st.floats(50, 54), "lon": st.floats(3, 8),
                                "radius_km": st.floats(-1, 400)})
ring = st.lists(st.lists(st.floats(-200, 200), min_size=2, max_size=2), min_size=0, max_size=8)
area = st.one_of(st.fixed_dictionaries({}, optional={"circles": st.lists(circle, max_size=3),
                                                     "polygons": st.lists(ring, max_size=2)}),
                 json_values)
alert_documents = st.fixed_dictionaries({}, optional={
    "kind": st.one_of(st.sampled_from(["amber", "missing_child"]), json_values),
    "circumstance": st.one_of(st.sampled_from(["stranger_abduction", "unknown"]), json_values),
    "test": st.one_of(st.booleans(), json_values),
    "regions": st.one_of(st.lists(st.sampled_from(["NL", "NL-UT", "NL-GR", "BE"])),
                         json_values),
    "area": area,
    "languages": st.one_of(st.lists(st.sampled_from(LANGS), max_size=4), json_values),
    "children": st.one_of(st.lists(child, max_size=4), json_values),
    "suspects": st.one_of(st.lists(objects_with(("name", "description", "photo"),
                                                st.one_of(texts, localised)), max_size=4),
                          json_values),
    "vehicles": st.one_of(st.lists(objects_with(("make", "model", "colour", "plate",
                                                 "country"), texts), max_size=4), json_values),
    "last_seen": st.one_of(objects_with(("place", "at"), st.one_of(texts, json_values)),
                           json_values),
    "message": localised,
    "contact": st.one_of(objects_with(("phone", "url"), st.one_of(texts, json_values)),
                         json_values),
    "expires_at": st.one_of(texts, json_values),
    "policy_override": st.one_of(objects_with(("reason",), texts), json_values),
    "version": json_values,  # set by the server
})


@st.composite
def alerts(draw) -> dict:
    """A complete alert whose texts are any Unicode, half of them with fields replaced by
    anything: valid ones reach the store and the renderer, the others the rules."""
    alert = amber_alert(
        children=[{"name": draw(texts), "age": draw(st.integers(0, 17)),
                   "description": {"nl": draw(texts), "en": draw(texts)},
                   "clothing": draw(texts)} for _ in range(draw(st.integers(1, 3)))],
        suspects=[{"name": draw(texts), "description": draw(texts)}],
        vehicles=[{"make": draw(short_texts), "colour": {"nl": draw(short_texts)},
                   "plate": draw(short_texts)}],
        last_seen={"place": draw(texts)},
        message={"nl": draw(texts), "en": draw(texts)},
    )
    return {**alert, **draw(alert_documents)} if draw(st.booleans()) else alert

SUCCESS = {"POST": 201, "PATCH": 200}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("fuzz-api")
    process = ServerProcess(config_data(workdir / "data"), workdir)
    asyncio.run(process.start())
    yield process.url
    process.kill()


def answered(response: requests.Response, method: str) -> dict:
    """A success, or a 4xx error naming what is wrong; never a 5xx."""
    assert response.status_code < 500, response.text
    event(f"{method} {response.status_code}")  # --hypothesis-show-statistics counts them
    body = response.json()
    if response.status_code != SUCCESS[method]:
        assert 400 <= response.status_code < 500, body
        error = body["error"]
        assert error["code"] and error["message"]
        for detail in error.get("details", []):
            assert detail["field"] and detail["message"], error
    return body


def fits_every_profile(server: str, alert_id: str) -> None:
    """The resolver's own report: every text block inside the screen, none overflowing."""
    for profile in PROFILES:
        response = requests.get(f"{server}/v1/alerts/{alert_id}/preview/net-a/{profile}",
                                headers=auth(VIEWER), timeout=60)
        assert response.status_code == 200, response.text
        report = response.json()
        width, height = map(int, report["size"].split("x"))
        for layer in report["layers"]:
            for block in layer["blocks"]:
                x, y, w, h = block["box"]
                assert min(x, y) >= 0 and x + w <= width and y + h <= height, block
                assert not block["overflow"], block


@bounded(120)
@example(document={"": 1, "children": [{"": 2}]})  # the field was named "": ": unknown field"
@given(document=st.one_of(alerts(), alert_documents, json_values))
def test_any_alert_json_is_stored_or_refused_by_field(server, document):
    session = requests.Session()
    response = session.post(f"{server}/v1/alerts", json=document, headers=auth(EDITOR),
                            timeout=60)
    created = answered(response, "POST")
    if response.status_code == 201:
        again = session.get(f"{server}/v1/alerts/{created['id']}", headers=auth(VIEWER),
                            timeout=60)
        assert again.status_code == 200 and again.json() == created
        fits_every_profile(server, created["id"])


@bounded(40)
@given(body=st.one_of(st.binary(max_size=200), texts.map(str.encode)))
def test_any_body_bytes_are_a_400_at_worst(server, body):
    response = requests.post(f"{server}/v1/alerts", data=body,
                             headers={**auth(EDITOR), "Content-Type": "application/json"},
                             timeout=60)
    answered(response, "POST")


@pytest.fixture(scope="module")
def draft(server) -> str:
    response = requests.post(f"{server}/v1/alerts", json=amber_alert(), headers=auth(EDITOR),
                             timeout=60)
    assert response.status_code == 201, response.text
    return response.json()["id"]


# patches that keep the alert valid but for their texts, so most of them apply
text_patches = st.fixed_dictionaries({}, optional={
    "message": st.dictionaries(st.sampled_from(("nl", "en")), texts | st.none(), max_size=2),
    "last_seen": st.fixed_dictionaries({"place": texts | st.none()}),
    "children": st.lists(st.fixed_dictionaries({"name": texts, "age": st.integers(0, 17)},
                                               optional={"clothing": texts}),
                         min_size=1, max_size=3),
    "vehicles": st.lists(st.fixed_dictionaries({"plate": short_texts}), max_size=3),
})


@bounded(100)
@given(patch=st.one_of(text_patches, alert_documents, json_values))
def test_any_merge_patch_applies_twice_as_once_or_is_refused(server, draft, patch):
    """RFC 7396: a merge patch is idempotent, so applying it again changes nothing."""
    url = f"{server}/v1/alerts/{draft}"
    headers = {**auth(EDITOR), "Content-Type": "application/merge-patch+json"}
    first = requests.patch(url, json=patch, headers=headers, timeout=60)
    patched = answered(first, "PATCH")
    if first.status_code == 200:
        second = requests.patch(url, json=patch, headers=headers, timeout=60)
        again = answered(second, "PATCH")
        assert second.status_code == 200, again
        changing = ("version", "updated_at", "edited_by")
        assert {k: v for k, v in again.items() if k not in changing} == \
            {k: v for k, v in patched.items() if k not in changing}
        fits_every_profile(server, draft)


def cap_field(name: str, value: str) -> str:
    return f"<parameter><valueName>{name}</valueName><value>{escape(value)}</value></parameter>"


CAP_FIELDS = ("children[0].name", "children[0].age", "children[0].height_cm",
              "children[0].description", "circumstance", "last_seen.place", "last_seen.at",
              "vehicles[0].plate", "suspects[0].name")


def cap_parameters(text):
    return st.lists(st.tuples(st.sampled_from(CAP_FIELDS) | text, text), max_size=6)


circles = st.tuples(st.floats(50, 54), st.floats(3, 8), st.floats(-1, 400)) \
    .map(lambda c: "{},{} {}".format(*c))


def cap_areas(odd: bool):
    if not odd:
        return st.lists(st.tuples(st.just("circle"), circles), max_size=2)
    return st.lists(st.tuples(st.sampled_from(["circle", "polygon"]), circles | texts),
                    max_size=3)


@st.composite
def cap_messages(draw) -> bytes:
    """A police-style CAP message with any texts in its parameters, area and headline; in
    half of them the header values are anything too (the others reach the mapping)."""
    odd = draw(st.booleans())
    text = texts if odd else xml_texts
    identifier = draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=12))
    body = message(
        msg_type=draw(short_texts.map(escape) if odd else st.sampled_from(["Alert", "Update"])),
        identifier=escape(draw(short_texts)) if odd else identifier,
        sent=draw(short_texts.map(escape)) if odd else "2026-11-28T14:00:00Z",
        references=escape(draw(short_texts)) if odd else "",
        infos=tuple(draw(st.lists(st.sampled_from(LANGS) | short_texts.map(escape) if odd
                                  else st.sampled_from(LANGS), min_size=1, max_size=3,
                                  unique=True))),
        event=escape(draw(texts if odd else st.sampled_from(["Vermist Kind", "AMBER Alert"]))),
    ).decode()
    fields = "".join(cap_field(name, value) for name, value in draw(cap_parameters(text)))
    shapes = "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in draw(cap_areas(odd)))
    body = body.replace("<area><areaDesc>Utrecht</areaDesc>",
                        f"{fields}<area><areaDesc>{escape(draw(text))}</areaDesc>{shapes}")
    return body.replace("Kop nl", escape(draw(text))).encode()


@bounded(100)
@given(body=st.one_of(cap_messages(), st.binary(max_size=300)))
def test_any_cap_message_is_ingested_or_refused_with_a_reason(server, body):
    response = requests.post(f"{server}/v1/ingest/cap", data=body,
                             headers={**auth(PUBLISHER), "Content-Type": "application/cap+xml"},
                             timeout=60)
    assert response.status_code < 500, response.text
    event(f"ingest {response.status_code}")
    if response.status_code >= 400:
        assert response.json()["error"]["message"]
    else:
        fits_every_profile(server, response.json()["id"])

