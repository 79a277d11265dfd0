"""Shape checks for alert input: types, lengths and vocabularies, each error naming its field.

Normalising here (plain strings become `{primary language: text}`) means every later stage —
rules, feeds, renders, CAP — sees one shape.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from feedserver.config import KINDS, LANGUAGES, REGION_RE
from feedserver.errors import FieldError
from feedserver.geo.areas import check_area
from feedserver.timeutil import format_time, parse_time

CIRCUMSTANCES = ("stranger_abduction", "life_threatening", "family_abduction", "runaway", "unknown")
SEXES = ("female", "male", "other", "unknown")
MAX_PERSONS = 3
MAX_TEXT = 2000
MAX_SHORT = 120
MAX_URL = 2000
# The host class excludes what may follow it, so a failed match never backtracks.
URL_RE = re.compile(r"^https?://[^\s/?#]+(?:[/?#]\S*)?\Z")
PHONE_RE = re.compile(r"^[0-9+() -]{3,32}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
PHOTO_ID_RE = re.compile(r"^p_[0-9a-f]{24}$")

INPUT_FIELDS = (
    "kind", "circumstance", "test", "regions", "area", "languages", "children", "suspects",
    "vehicles", "last_seen", "message", "contact", "expires_at", "policy_override",
)
SERVER_FIELDS = (
    "id", "status", "version", "created_at", "updated_at", "published_at", "ended_at", "headline",
    "warnings", "resolution", "cancel_reason", "origin", "created_by", "edited_by",
)


class Checker:
    """Collects field errors while normalising one alert document."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.languages: tuple[str, ...] = ("nl",)

    def fail(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def known_keys(self, data: dict, allowed: tuple[str, ...], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.fail(_join(path, key), "unknown field")

    def string(self, value: Any, field: str, *, max_len: int = MAX_SHORT,
               nullable: bool = True) -> str | None:
        if value is None:
            if not nullable:
                self.fail(field, "is required")
            return None
        if not isinstance(value, str):
            self.fail(field, "must be a string")
            return None
        value = clean_text(value).strip()
        if len(value) > max_len:
            self.fail(field, f"must be at most {max_len} characters")
            return None
        if not value:
            if not nullable:
                self.fail(field, "must not be empty")
            return None
        return value

    def pattern(self, value: Any, field: str, regex: re.Pattern[str], rule: str) -> str | None:
        text = self.string(value, field)
        if text is not None and not regex.match(text):
            self.fail(field, rule)
            return None
        return text

    def integer(self, value: Any, field: str, low: int, high: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, "must be a whole number")
            return None
        if not low <= value <= high:
            self.fail(field, f"must be from {low} to {high}")
            return None
        return value

    def choice(self, value: Any, field: str, allowed: tuple[str, ...], default: str | None):
        if value is None:
            return default
        if value not in allowed:
            self.fail(field, f"must be one of {', '.join(allowed)}")
            return default
        return value

    def text(self, value: Any, field: str, *, max_len: int = MAX_TEXT) -> dict[str, str]:
        """Localised text: a string (primary language) or an object keyed by language."""
        if value is None:
            return {}
        if isinstance(value, str):
            value = {self.languages[0]: value}
        if not isinstance(value, dict):
            self.fail(field, "must be a string or an object keyed by language")
            return {}
        result = {}
        for lang, text in value.items():
            if lang not in LANGUAGES:
                self.fail(_join(field, lang), f"language must be one of {', '.join(LANGUAGES)}")
                continue
            checked = self.string(text, _join(field, lang), max_len=max_len)
            if checked:
                result[lang] = checked
        return result

    def time(self, value: Any, field: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(field, "must be an RFC 3339 time such as 2026-11-28T14:10:00+01:00")
            return None
        try:
            return format_time(parse_time(value))
        except ValueError as exc:
            self.fail(field, f"is not an RFC 3339 time with offset ({exc})")
            return None

    def objects(self, value: Any, field: str, item: Callable[[dict, str], dict]) -> list[dict]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(field, "must be a list")
            return []
        if len(value) > MAX_PERSONS:
            self.fail(field, f"must have at most {MAX_PERSONS} entries")
        result = []
        for i, entry in enumerate(value[:MAX_PERSONS]):
            path = f"{field}[{i}]"
            if not isinstance(entry, dict):
                self.fail(path, "must be an object")
                continue
            result.append(item(entry, path))
        return result

    def mapping(self, value: Any, field: str) -> dict | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(field, "must be an object")
            return None
        return value


def clean_text(value: str) -> str:
    """Text every output can carry: control characters (but line breaks and tabs) dropped, lone
    surrogates replaced. Cleaned, not refused, so a stray byte from an upstream feed never
    keeps an alert off the screens; XML, JSON and fonts then all take it."""
    if value.isprintable():
        return value
    value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def _join(path: str, key: str) -> str:
    key = key or '""'  # an empty key is still named: `children[0].""`, not `children[0].`
    return f"{path}.{key}" if path else key


def _child(check: Checker, data: dict, path: str) -> dict:
    check.known_keys(data, ("name", "age", "sex", "height_cm", "description", "clothing",
                            "photo"), path)
    return {
        "name": check.string(data.get("name"), f"{path}.name"),
        "age": check.integer(data.get("age"), f"{path}.age", 0, 120),
        "sex": check.choice(data.get("sex"), f"{path}.sex", SEXES, None),
        "height_cm": check.integer(data.get("height_cm"), f"{path}.height_cm", 30, 250),
        "description": check.text(data.get("description"), f"{path}.description"),
        "clothing": check.text(data.get("clothing"), f"{path}.clothing"),
        "photo": _photo(check, data.get("photo"), f"{path}.photo"),
    }


def _suspect(check: Checker, data: dict, path: str) -> dict:
    check.known_keys(data, ("name", "description", "photo"), path)
    return {
        "name": check.string(data.get("name"), f"{path}.name"),
        "description": check.text(data.get("description"), f"{path}.description"),
        "photo": _photo(check, data.get("photo"), f"{path}.photo"),
    }


def _vehicle(check: Checker, data: dict, path: str) -> dict:
    check.known_keys(data, ("make", "model", "colour", "plate", "country"), path)
    return {
        "make": check.string(data.get("make"), f"{path}.make", max_len=40),
        "model": check.string(data.get("model"), f"{path}.model", max_len=40),
        "colour": check.text(data.get("colour"), f"{path}.colour", max_len=40),
        "plate": check.string(data.get("plate"), f"{path}.plate", max_len=16),
        "country": check.pattern(data.get("country"), f"{path}.country", COUNTRY_RE,
                                 "must be an ISO 3166-1 alpha-2 code such as NL"),
    }


def _photo(check: Checker, value: Any, field: str) -> str | None:
    return check.pattern(value, field, PHOTO_ID_RE, "must be a photo id from POST /v1/photos")


def _regions(check: Checker, value: Any) -> list[str]:
    if value is None:
        return ["NL"]
    if not isinstance(value, list) or not value:
        check.fail("regions", "must be a non-empty list of ISO 3166 codes")
        return ["NL"]
    regions = []
    for i, region in enumerate(value):
        if not isinstance(region, str) or not REGION_RE.match(region):
            check.fail(f"regions[{i}]", "must be an ISO 3166-1 or 3166-2 code such as NL or NL-UT")
        elif region not in regions:
            regions.append(region)
    return regions


def _languages(check: Checker, value: Any) -> tuple[str, ...]:
    if value is None:
        return ("nl",)
    if not isinstance(value, list) or not value:
        check.fail("languages", "must be a non-empty list of language codes")
        return ("nl",)
    languages: list[str] = []
    for i, lang in enumerate(value):
        if lang not in LANGUAGES:
            check.fail(f"languages[{i}]", f"must be one of {', '.join(LANGUAGES)}")
        elif lang not in languages:
            languages.append(lang)
    return tuple(languages) or ("nl",)


def _last_seen(check: Checker, value: Any) -> dict | None:
    data = check.mapping(value, "last_seen")
    if data is None:
        return None
    check.known_keys(data, ("place", "at"), "last_seen")
    place = check.string(data.get("place"), "last_seen.place", max_len=200)
    at = check.time(data.get("at"), "last_seen.at")
    return {"place": place, "at": at} if place or at else None


def _contact(check: Checker, value: Any, default: dict[str, str]) -> dict[str, str]:
    data = check.mapping(value, "contact")
    if data is None:
        return dict(default)
    check.known_keys(data, ("phone", "url"), "contact")
    phone = check.pattern(data.get("phone"), "contact.phone", PHONE_RE,
                          "must be a phone number of digits, spaces, +, - and ()")
    url = check.pattern(data.get("url"), "contact.url", URL_RE, "must be an http(s) URL")
    return {"phone": phone or default["phone"], "url": url or default["url"]}


def _override(check: Checker, value: Any) -> dict | None:
    data = check.mapping(value, "policy_override")
    if data is None:
        return None
    check.known_keys(data, ("reason",), "policy_override")
    reason = check.string(data.get("reason"), "policy_override.reason", max_len=MAX_TEXT,
                          nullable=False)
    return {"reason": reason} if reason else None


def checked_override(value: Any) -> tuple[dict | None, list[FieldError]]:
    """A `policy_override` given outside an alert document (the publish call's body)."""
    check = Checker()
    return _override(check, value), check.errors


def normalise(data: dict, default_contact: dict[str, str]) -> tuple[dict, list[FieldError]]:
    """Check the shape of an alert's input fields and return them normalised, with errors."""
    check = Checker()
    for key in data:
        if key in SERVER_FIELDS:
            check.fail(key, "is set by the server and cannot be given")
        elif key not in INPUT_FIELDS:
            check.fail(_join("", key), "unknown field")
    check.languages = _languages(check, data.get("languages"))
    kind = data.get("kind")
    if kind is None:
        check.fail("kind", f"is required: one of {', '.join(KINDS)}")
    test = data.get("test", False)
    if not isinstance(test, bool):
        check.fail("test", "must be true or false")
    alert = {
        "kind": check.choice(kind, "kind", KINDS, None),
        "circumstance": check.choice(data.get("circumstance"), "circumstance", CIRCUMSTANCES,
                                     "unknown"),
        "test": test is True,
        "regions": _regions(check, data.get("regions")),
        "area": check_area(data.get("area"), check.fail),
        "languages": list(check.languages),
        "children": check.objects(data.get("children"), "children",
                                  lambda d, p: _child(check, d, p)),
        "suspects": check.objects(data.get("suspects"), "suspects",
                                  lambda d, p: _suspect(check, d, p)),
        "vehicles": check.objects(data.get("vehicles"), "vehicles",
                                  lambda d, p: _vehicle(check, d, p)),
        "last_seen": _last_seen(check, data.get("last_seen")),
        "message": check.text(data.get("message"), "message"),
        "contact": _contact(check, data.get("contact"), default_contact),
        "expires_at": check.time(data.get("expires_at"), "expires_at"),
        "policy_override": _override(check, data.get("policy_override")),
    }
    return alert, check.errors
