"""The console's words: Dutch and English say the same things, chosen by Accept-Language."""

from __future__ import annotations

import re

import pytest

from feedserver.console.texts import TEXTS, ui_language


def test_dutch_and_english_have_the_same_keys_and_placeholders():
    assert TEXTS["nl"].keys() == TEXTS["en"].keys()
    for key, english in TEXTS["en"].items():
        placeholders = set(re.findall(r"\{(\w+)\}", english))
        assert placeholders == set(re.findall(r"\{(\w+)\}", TEXTS["nl"][key])), key


@pytest.mark.parametrize(("header", "language"), [
    ("nl-NL,nl;q=0.9,en;q=0.8", "nl"),
    ("en-GB,en;q=0.9,nl;q=0.8", "en"),
    ("de-DE, nl;q=0.5, en;q=0.4", "nl"),
    ("fr, en;q=0.1, nl;q=0", "en"),
    ("nl;q=0.2, en;q=0.9", "en"),
    ("", "en"),
    (None, "en"),
    ("nl;q=oops", "en"),
])
def test_the_browser_language_chooses(header, language):
    assert ui_language(header) == language
