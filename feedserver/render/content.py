"""What each block says: the alert's own text and the layouts' localised words, per language."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .layouts import texts

LOCAL_TIME = ZoneInfo("Europe/Amsterdam")  # times on Dutch screens are Dutch local time
MAX_CHILDREN = 3


def localised(value: Any, lang: str, primary: str) -> str:
    """A {lang: text} field in `lang`, falling back to the alert's primary language."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return str(value.get(lang) or value.get(primary) or "").strip()


def word(key: str, lang: str, **values: Any) -> str:
    entry = texts()[key]
    return entry.get(lang, entry["en"]).format(**values)


def is_found(alert: dict[str, Any]) -> bool:
    return alert.get("status") == "resolved"


def children(alert: dict[str, Any]) -> list[dict[str, Any]]:
    return list(alert.get("children") or [])[:MAX_CHILDREN]


def _name(child: dict[str, Any]) -> str:
    name = str(child.get("name") or "").strip()
    age = child.get("age")
    return f"{name} ({age})" if age is not None else name


def _details(child: dict[str, Any], lang: str) -> str:
    parts = []
    if child.get("sex") in texts()["sex"]:
        parts.append(texts()["sex"][child["sex"]].get(lang, texts()["sex"][child["sex"]]["en"]))
    if child.get("height_cm"):
        metres = f"{child['height_cm'] / 100:.2f}".replace(".", word("decimal", lang))
        parts.append(word("height", lang, m=metres))
    return ", ".join(parts)


def _last_seen(alert: dict[str, Any], lang: str) -> str:
    seen = alert.get("last_seen") or {}
    parts = []
    with contextlib.suppress(TypeError, ValueError):  # an ingested draft may carry anything
        at = datetime.fromisoformat(seen.get("at")).astimezone(LOCAL_TIME)
        parts.append(at.strftime("%d-%m %H:%M"))
    if seen.get("place"):
        parts.append(str(seen["place"]).strip())
    return f"{word('last_seen', lang)}: {', '.join(parts)}" if parts else ""


def _vehicle(alert: dict[str, Any], lang: str, primary: str) -> str:
    lines = []
    for vehicle in alert.get("vehicles") or []:
        what = " ".join(
            p
            for p in (
                localised(vehicle.get("colour"), lang, primary),
                str(vehicle.get("make") or "").strip(),
                str(vehicle.get("model") or "").strip(),
            )
            if p
        )
        plate = str(vehicle.get("plate") or "").strip()
        if plate:
            what = f"{what}, {word('plate', lang)} {plate}" if what else plate
        if what:
            lines.append(what)
    return f"{word('vehicle', lang)}: {'; '.join(lines)}" if lines else ""


def _suspect(alert: dict[str, Any], lang: str, primary: str) -> str:
    parts = []
    for suspect in alert.get("suspects") or []:
        bits = [
            str(suspect.get("name") or "").strip(),
            localised(suspect.get("description"), lang, primary),
        ]
        text = ": ".join(b for b in bits if b)
        if text:
            parts.append(text)
    return f"{word('suspect', lang)}: {'; '.join(parts)}" if parts else ""


def _banner(alert: dict[str, Any], lang: str) -> str:
    banners = texts()["banner"]
    kind = "found" if is_found(alert) else alert.get("kind", "missing_child")
    text = banners[kind].get(lang, banners[kind]["en"])
    place = alert.get("place")
    if place and not is_found(alert):
        text = f"{text} · {place['name']}"  # a regional alert must not read as national
    return f"{banners['test'].get(lang, 'TEST')} · {text}" if alert.get("test") else text


def block_text(alert: dict[str, Any], block: str, lang: str, child: dict[str, Any] | None) -> str:
    """The text of one block in one language ('' when the alert has nothing for it)."""
    primary = (alert.get("languages") or [lang])[0]
    contact = alert.get("contact") or {}
    if block == "banner":
        return _banner(alert, lang)
    if block == "name":
        return _name(child) if child else ""
    if block == "names":
        return ", ".join(_name(c) for c in children(alert))
    if block == "details":
        return _details(child, lang) if child else ""
    if block in ("description", "clothing"):
        text = localised(child.get(block), lang, primary) if child else ""
        return f"{word('clothing', lang)}: {text}" if text and block == "clothing" else text
    if block == "area":
        label = localised((alert.get("place") or {}).get("label"), lang, primary)
        return f"{word('area', lang)}: {label}" if label else ""
    if block == "last_seen":
        return _last_seen(alert, lang)
    if block == "vehicle":
        return _vehicle(alert, lang, primary)
    if block == "suspect":
        return _suspect(alert, lang, primary)
    if block == "message":
        return localised(alert.get("message"), lang, primary)
    if block == "call":
        return word("call", lang, phone=contact["phone"]) if contact.get("phone") else ""
    if block == "url":
        url = str(contact.get("url") or "")
        return url.split("://", 1)[-1].removeprefix("www.").rstrip("/")
    if block == "resolution":
        return localised((alert.get("resolution") or {}).get("message"), lang, primary)
    if block == "thanks":
        return word("thanks", lang)
    raise ValueError(f"unknown block {block!r}")


def paragraphs(
    alert: dict[str, Any], block: str, langs: tuple[str, ...], child: dict[str, Any] | None
) -> list[tuple[str, str]]:
    """The block's text in each shown language, each as (colour role, text), repeats left out."""
    out: list[tuple[str, str]] = []
    for i, lang in enumerate(langs):
        text = block_text(alert, block, lang, child)
        if text and all(text != seen for _, seen in out):
            out.append(("text" if i == 0 else "text2", text))
    return out
