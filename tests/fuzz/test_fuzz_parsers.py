"""Hypothesis for the parsers that read what operators and upstream feeds write: the national
list (feedserver/interop/national.py) and the config file (feedserver/config.py). Any input is
read or refused with the parser's own error, never another exception."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from support.config import config_data
from support.fuzzing import bounded, json_values, objects_with, texts

from feedserver.alerts.fields import normalise
from feedserver.config import ConfigError, load_config
from feedserver.interop.national import Malformed, parse_list

ENTRY_KEYS = ("AlertId", "MessageId", "Sender", "Sent", "State", "Type", "Scope", "AlertLevel",
              "Location", "Message", "Area")
values = st.one_of(texts, st.sampled_from(["10", "5", "Cancel", "Test", "Ontvoerd", "²"]),
                   json_values)
entries = st.fixed_dictionaries(
    {"AlertId": st.one_of(st.text(min_size=1, max_size=12), json_values)},
    optional={
        "Message": st.one_of(objects_with(("Title", "Description", "DescriptionExt",
                                           "Readmore_URL", "Media"), values), json_values),
        "Location": st.one_of(objects_with(("Description", "Latitude", "Longitude"),
                                           st.one_of(st.floats(50, 54), values)), json_values),
        "Area": st.one_of(objects_with(("Description", "Circle", "CircleKM"),
                                       st.one_of(st.floats(-10, 1e6), values)), json_values),
    },
).flatmap(lambda entry: objects_with(ENTRY_KEYS, values).map(lambda extra: {**extra, **entry}))


@bounded(150)
@given(body=st.one_of(st.lists(entries, max_size=4).map(lambda d: json.dumps(d).encode()),
                      json_values.map(lambda d: json.dumps(d).encode()),
                      st.binary(max_size=200)))
def test_any_national_list_is_mirrored_or_refused_as_malformed(body):
    try:
        parsed = parse_list(body)
    except Malformed as exc:
        assert str(exc)
        return
    for listed in parsed.listed:
        _, errors = normalise(listed.fields, {})
        assert all(e.field and e.message for e in errors)
    assert all(skipped.why for skipped in parsed.skipped)


def loaded(path: Path, text: str | bytes) -> None:
    """The config at `path` loads, or the error is a ConfigError that says something."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    try:
        load_config(path, environ={})
    except ConfigError as exc:
        assert str(exc)


@bounded(300)
@example(text=b"kind: \x80")  # was a UnicodeDecodeError
@given(text=st.one_of(texts, st.binary(max_size=200), json_values.map(yaml.safe_dump)))
def test_any_config_text_loads_or_is_a_config_error(tmp_path_factory, text):
    loaded(tmp_path_factory.mktemp("config") / "feedserver.yaml", text)


SECTIONS = ("server", "storage", "alerts", "staff", "networks", "upstreams", "render",
            "privacy", "push", "webhooks", "signing", "cap_ingest")


@bounded(150)
@example(changes={}, extra={1: None, "x": None})  # was a TypeError sorting the unknown keys
@given(changes=st.dictionaries(st.sampled_from(SECTIONS), json_values, max_size=3),
       extra=st.dictionaries(st.one_of(st.integers(), st.booleans(), texts), json_values,
                             max_size=2))
def test_a_config_with_odd_values_loads_or_is_a_config_error(tmp_path_factory, changes, extra):
    """The main config with sections replaced and keys added (numbers and booleans are keys
    in YAML too)."""
    path = tmp_path_factory.mktemp("config") / "feedserver.yaml"
    data = {**config_data(path.parent / "data"), **changes, **extra}
    loaded(path, yaml.safe_dump(data, allow_unicode=True))
