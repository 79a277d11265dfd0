"""The words that say where a regional alert applies, so it never reads as national.

"Groningen en omgeving" for an area (named after the last-seen place, else the provinces it
touches), "provincie Utrecht" for an alert of whole provinces; nothing for a national alert.
"""

from __future__ import annotations

from feedserver.alerts.model import Alert
from feedserver.geo.areas import area_regions
from feedserver.geo.provinces import provinces

AROUND = {"nl": "{place} en omgeving", "en": "{place} and surroundings",
          "de": "{place} und Umgebung", "fr": "{place} et environs"}
PROVINCE = {"nl": ("provincie {names}", "provincies {names}"),
            "en": ("province of {names}", "provinces of {names}"),
            "de": ("Provinz {names}", "Provinzen {names}"),
            "fr": ("province de {names}", "provinces de {names}")}
AND = {"nl": "en", "en": "and", "de": "und", "fr": "et"}


def _provinces(alert: Alert) -> list[str] | None:
    """The provinces of a regional alert; None for a national one."""
    regions = alert.regions
    listed = [r for r in regions if "-" in r]
    if alert.area:
        return listed or [r for r in area_regions(alert.area) if "-" in r]
    return listed if listed and len(listed) == len(regions) else None


def _names(codes: list[str], lang: str) -> str:
    outlines = provinces()
    names = [outlines[c].name if c in outlines else c for c in codes]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {AND[lang]} {names[-1]}"


def place_name(alert: Alert) -> str | None:
    """The short name of where a regional alert applies ("Groningen"); None when national."""
    codes = _provinces(alert)
    if codes is None:
        return None
    seen = ((alert.last_seen and alert.last_seen.place) or "").split(",")[0].strip()
    if alert.area and seen:
        return seen
    return _names(codes, "nl") if codes else None


def area_label(alert: Alert, lang: str) -> str | None:
    """Where a regional alert applies, in `lang`; None for a national alert."""
    place = place_name(alert)
    if place is None:
        return None
    if alert.area:
        return AROUND[lang].format(place=place)
    codes = _provinces(alert) or []
    one, several = PROVINCE[lang]
    return (one if len(codes) == 1 else several).format(names=_names(codes, lang))
