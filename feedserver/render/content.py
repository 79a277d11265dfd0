"""What each block says: the alert's own text and the layouts' localised words, per language."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from feedserver.alerts.model import Child, Shown, Texts

from .layouts import texts

LOCAL_TIME = ZoneInfo("Europe/Amsterdam")  # times on Dutch screens are Dutch local time
MAX_CHILDREN = 3


def localised(value: Texts | None, lang: str, primary: str) -> str:
    """A {lang: text} field in `lang`, falling back to the alert's primary language."""
    if not value:
        return ""
    return str(value.get(lang) or value.get(primary) or "").strip()


def word(key: str, lang: str, **values: Any) -> str:
    entry = texts()[key]
    return entry.get(lang, entry["en"]).format(**values)


def is_found(alert: Shown) -> bool:
    return alert.is_found


def children(alert: Shown) -> tuple[Child, ...]:
    return alert.children[:MAX_CHILDREN]


def _name(child: Child) -> str:
    name = str(child.name or "").strip()
    return f"{name} ({child.age})" if child.age is not None else name


def _details(child: Child, lang: str) -> str:
    parts = []
    sexes = texts()["sex"]
    if child.sex in sexes:
        parts.append(sexes[child.sex].get(lang, sexes[child.sex]["en"]))
    if child.height_cm:
        metres = f"{child.height_cm / 100:.2f}".replace(".", word("decimal", lang))
        parts.append(word("height", lang, m=metres))
    return ", ".join(parts)


def _last_seen(alert: Shown, lang: str) -> str:
    seen = alert.last_seen
    if seen is None:
        return ""
    parts = []
    with contextlib.suppress(TypeError, ValueError):  # an ingested draft may carry anything
        at = datetime.fromisoformat(seen.at).astimezone(LOCAL_TIME)  # type: ignore[arg-type]
        parts.append(at.strftime("%d-%m %H:%M"))
    if seen.place:
        parts.append(str(seen.place).strip())
    return f"{word('last_seen', lang)}: {', '.join(parts)}" if parts else ""


def _vehicle(alert: Shown, lang: str, primary: str) -> str:
    lines = []
    for vehicle in alert.vehicles:
        what = " ".join(
            p
            for p in (
                localised(vehicle.colour, lang, primary),
                str(vehicle.make or "").strip(),
                str(vehicle.model or "").strip(),
            )
            if p
        )
        plate = str(vehicle.plate or "").strip()
        if plate:
            what = f"{what}, {word('plate', lang)} {plate}" if what else plate
        if what:
            lines.append(what)
    return f"{word('vehicle', lang)}: {'; '.join(lines)}" if lines else ""


def _suspect(alert: Shown, lang: str, primary: str) -> str:
    parts = []
    for suspect in alert.suspects:
        bits = [
            str(suspect.name or "").strip(),
            localised(suspect.description, lang, primary),
        ]
        text = ": ".join(b for b in bits if b)
        if text:
            parts.append(text)
    return f"{word('suspect', lang)}: {'; '.join(parts)}" if parts else ""


def _banner(alert: Shown, lang: str) -> str:
    banners = texts()["banner"]
    kind = "found" if is_found(alert) else alert.kind
    text = banners[kind].get(lang, banners[kind]["en"])
    place = alert.place
    if place and not is_found(alert):
        text = f"{text} · {place.name}"  # a regional alert must not read as national
    return f"{banners['test'].get(lang, 'TEST')} · {text}" if alert.test else text


def block_text(alert: Shown, block: str, lang: str, child: Child | None) -> str:
    """The text of one block in one language ('' when the alert has nothing for it)."""
    primary = alert.languages[0] if alert.languages else lang
    contact = alert.contact
    if block == "banner":
        return _banner(alert, lang)
    if block == "name":
        return _name(child) if child else ""
    if block == "names":
        return ", ".join(_name(c) for c in children(alert))
    if block == "details":
        return _details(child, lang) if child else ""
    if block == "description":
        return localised(child.description, lang, primary) if child else ""
    if block == "clothing":
        text = localised(child.clothing, lang, primary) if child else ""
        return f"{word('clothing', lang)}: {text}" if text else ""
    if block == "area":
        label = localised(alert.place and alert.place.label, lang, primary)
        return f"{word('area', lang)}: {label}" if label else ""
    if block == "last_seen":
        return _last_seen(alert, lang)
    if block == "vehicle":
        return _vehicle(alert, lang, primary)
    if block == "suspect":
        return _suspect(alert, lang, primary)
    if block == "message":
        return localised(alert.message, lang, primary)
    if block == "call":
        return word("call", lang, phone=contact.phone) if contact.phone else ""
    if block == "url":
        url = str(contact.url or "")
        return url.split("://", 1)[-1].removeprefix("www.").rstrip("/")
    if block == "resolution":
        return localised(alert.resolution and alert.resolution.message, lang, primary)
    if block == "thanks":
        return word("thanks", lang)
    raise ValueError(f"unknown block {block!r}")


def paragraphs(
    alert: Shown, block: str, langs: tuple[str, ...], child: Child | None
) -> list[tuple[str, str]]:
    """The block's text in each shown language, each as (colour role, text), repeats left out."""
    out: list[tuple[str, str]] = []
    for i, lang in enumerate(langs):
        text = block_text(alert, block, lang, child)
        if text and all(text != seen for _, seen in out):
            out.append(("text" if i == 0 else "text2", text))
    return out
