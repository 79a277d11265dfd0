"""Server-made text: headlines per language and the warnings staff see before publishing."""

from __future__ import annotations

from feedserver.alerts.model import Alert, Child
from feedserver.errors import FieldError
from feedserver.geo.labels import area_label

KIND_TITLES = {
    "amber": {"nl": "AMBER Alert", "en": "AMBER Alert", "de": "AMBER Alert", "fr": "Alerte AMBER"},
    "missing_child": {"nl": "Vermist Kind Alert", "en": "Missing Child Alert",
                      "de": "Vermisstes Kind", "fr": "Enfant disparu"},
}
FOUND_TITLES = {"nl": "Gevonden", "en": "Found", "de": "Gefunden", "fr": "Retrouvé"}
AND_WORDS = {"nl": "en", "en": "and", "de": "und", "fr": "et"}
TEST_PREFIX = "TEST"


def _children_phrase(children: tuple[Child, ...], lang: str) -> str:
    names = [
        f"{child.name or '?'} ({child.age})" if child.age is not None else child.name or "?"
        for child in children
    ]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {AND_WORDS[lang]} {names[-1]}"


def headline(alert: Alert) -> dict[str, str]:
    """E.g. {"nl": "AMBER Alert: Sanne de Vries (9)"}; a resolved alert says it is over; a
    regional one says where ("Vermist Kind Alert (Groningen en omgeving): Daan (14)")."""
    result = {}
    for lang in alert.languages:
        title = FOUND_TITLES[lang] if alert.status == "resolved" else (
            KIND_TITLES.get(alert.kind, KIND_TITLES["missing_child"])[lang])
        where = area_label(alert, lang)
        if where:
            title = f"{title} ({where})"
        text = f"{title}: {_children_phrase(alert.children, lang)}"
        result[lang] = f"{TEST_PREFIX} {text}" if alert.test else text
    return result


def translation_warnings(alert: Alert) -> list[dict[str, str]]:
    """Texts present in some but not all of the alert's languages."""
    warnings = []
    languages = alert.languages

    def check(text: dict, field: str) -> None:
        if text:
            for lang in languages:
                if lang not in text:
                    warnings.append(FieldError(f"{field}.{lang}", "missing translation").as_json())

    check(alert.message, "message")
    for i, child in enumerate(alert.children):
        check(child.description, f"children[{i}].description")
        check(child.clothing, f"children[{i}].clothing")
    for i, suspect in enumerate(alert.suspects):
        check(suspect.description, f"suspects[{i}].description")
    for i, vehicle in enumerate(alert.vehicles):
        check(vehicle.colour, f"vehicles[{i}].colour")
    return warnings
