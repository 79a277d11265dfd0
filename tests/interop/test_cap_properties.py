"""Properties of the CAP mapping over generated alerts: always schema-valid, exact round trips."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from support.cap import oasis_schema

from feedserver.alerts.fields import CIRCUMSTANCES, SEXES, normalise
from feedserver.alerts.model import Alert
from feedserver.alerts.texts import headline
from feedserver.config import AlertsConfig
from feedserver.interop.cap_in import map_message, read_cap
from feedserver.interop.cap_out import EarlierMessage, alert_to_cap

DEFAULT_CONTACT = AlertsConfig().default_contact
LANGS = ["nl", "en", "de", "fr"]
REGIONS = ["NL", "NL-UT", "NL-NH", "NL-ZH", "BE"]
STATUSES = ["draft", "active", "resolved", "cancelled", "expired"]

# Text staff type, with XML's special characters and odd whitespace; and any text at all,
# control characters and lone surrogates included, which CAP cannot carry and must drop.
TYPED = st.text(st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t\r"),
                min_size=1, max_size=30)
ANY = st.text(min_size=1, max_size=30)


@st.composite
def alerts(draw, words=TYPED) -> dict:
    languages = draw(st.lists(st.sampled_from(LANGS), min_size=1, max_size=4, unique=True))
    text = st.dictionaries(st.sampled_from(languages), words, max_size=len(languages))
    short = st.none() | words
    data = {
        "kind": draw(st.sampled_from(["amber", "missing_child"])),
        "circumstance": draw(st.sampled_from(CIRCUMSTANCES)),
        "test": draw(st.booleans()),
        "regions": draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3, unique=True)),
        "languages": languages,
        "children": draw(st.lists(st.fixed_dictionaries({
            "name": short, "age": st.none() | st.integers(0, 120),
            "sex": st.none() | st.sampled_from(SEXES),
            "height_cm": st.none() | st.integers(30, 250),
            "description": text, "clothing": text}), max_size=3)),
        "suspects": draw(st.lists(st.fixed_dictionaries({"name": short, "description": text}),
                                  max_size=3)),
        "vehicles": draw(st.lists(st.fixed_dictionaries({
            "make": short, "model": short, "colour": text, "plate": short,
            "country": st.none() | st.just("NL")}), max_size=3)),
        "last_seen": draw(st.none() | st.fixed_dictionaries({
            "place": words, "at": st.just("2026-11-28T14:10:00.250+00:00")})),
        "message": draw(text),
        "expires_at": "2026-11-29T14:10:00+00:00",
    }
    content, errors = normalise(data, DEFAULT_CONTACT)
    return content if not errors else draw(st.nothing())


def stored(content: dict, status: str) -> dict:
    ended = status in ("resolved", "cancelled", "expired")
    alert = {**content, "id": "a_0123456789abcdef", "status": status, "version": 3,
             "updated_at": "2026-11-28T15:00:00.125+00:00",
             "ended_at": "2026-11-28T15:00:00.125+00:00" if ended else None,
             "resolution": {"message": content["message"]} if status == "resolved" else None,
             "cancel_reason": next(iter(content["message"].values()), None)}
    model = Alert.from_document(alert)
    return model.changed(headline=headline(model))


@settings(max_examples=100, deadline=None)
@given(content=alerts(words=ANY), status=st.sampled_from(STATUSES))
def test_any_alert_gives_schema_valid_cap(content, status):
    body = alert_to_cap(stored(content, status), "http://feeds.test",
                        earlier=[EarlierMessage(2, "2026-11-28T14:00:00.5+00:00")])
    oasis_schema().validate(io.BytesIO(body))


@settings(max_examples=150, deadline=None)
@given(content=alerts(), status=st.sampled_from(["draft", "active"]))
def test_typed_alerts_map_back_exactly(content, status):
    body = alert_to_cap(stored(content, status), "http://feeds.test",
                        earlier=[EarlierMessage(2, "2026-11-28T14:00:00.5+00:00")])
    oasis_schema().validate(io.BytesIO(body))
    fields = map_message(read_cap(body)[0]).fields
    again, errors = normalise(fields, DEFAULT_CONTACT)
    assert errors == []
    assert again == {**content, "policy_override": None}
