"""An alert version as a CAP 1.2 message: a pure function of the alert and its earlier messages.

Which message a version is: a draft is `status Draft`; the published version is an `Alert`;
later active versions are `Update`s; a resolve is an `Update` with responseType `AllClear`
whose `expires` is the end of the "found" card, so signage systems show the good news and
then end the takeover by themselves; a cancel or an expiry is a `Cancel`, which is what
signage CMSs end a screen takeover on at once. Updates and Cancels reference every earlier
message of the alert (`sender,identifier,sent`), so a receiver that missed one still matches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from lxml import etree
from lxml.builder import ElementMaker

from feedserver.alerts.model import Alert
from feedserver.alerts.texts import KIND_TITLES
from feedserver.interop.vocabulary import (
    CAP_NS,
    GEOCODE_NAME,
    GROUP_FIELDS,
    KIND_CODE_NAME,
    LAST_SEEN_FIELDS,
    PHOTO_GROUPS,
    REGION_NAMES,
    SAME_CHILD_ABDUCTION,
    TEST_CODE,
    cap_time,
    message_identifier,
    xml_text,
)
from feedserver.store.base import Photo
from feedserver.timeutil import parse_time

E = ElementMaker(namespace=CAP_NS, nsmap={None: CAP_NS})

# (urgency, severity, certainty) while the child is still missing.
ACTIVE_GRADING = {
    "amber": ("Immediate", "Extreme", "Likely"),
    "missing_child": ("Immediate", "Severe", "Likely"),
}
ALL_CLEAR_GRADING = ("Past", "Minor", "Observed")
ENDED = ("cancelled", "expired")


@dataclass(frozen=True)
class EarlierMessage:
    """A CAP message already sent for an earlier version of the same alert."""

    version: int
    sent: str


def cap_sender(public_url: str) -> str:
    """The server's host names it as a CAP sender (no spaces, commas, `<` or `&`)."""
    return urlsplit(public_url).netloc or "feedserver"


def alert_to_cap(alert: Alert, public_url: str, *, earlier: Sequence[EarlierMessage] = (),
                 photos: Mapping[str, Photo] | None = None,
                 resolved_display_seconds: int = 3600) -> bytes:
    """The CAP 1.2 message for this alert version (UTF-8 XML bytes)."""
    sender = cap_sender(public_url)
    status = alert.status
    if status == "draft":
        msg_type, cap_status = "Alert", "Draft"
    else:
        msg_type = "Cancel" if status in ENDED else ("Update" if earlier else "Alert")
        cap_status = "Test" if alert.test else "Actual"
    root = E.alert(
        E.identifier(message_identifier(alert.id, alert.version)),
        E.sender(sender),
        E.sent(cap_time(alert.updated_at)),
        E.status(cap_status),
        E.msgType(msg_type),
        E.scope("Public"),
    )
    if alert.test:
        root.append(E.code(TEST_CODE))  # a draft's status is Draft, so this says "test" there
    if msg_type == "Cancel":
        root.append(E.note(xml_text(_cancel_note(alert))))
    if earlier and status != "draft":
        root.append(E.references(" ".join(
            f"{sender},{message_identifier(alert.id, m.version)},{cap_time(m.sent)}"
            for m in earlier)))
    if msg_type != "Cancel":
        for lang in alert.languages:
            root.append(_info(alert, lang, public_url, photos or {}, resolved_display_seconds))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _cancel_note(alert: Alert) -> str:
    if alert.status == "expired":
        return "expired"
    return alert.cancel_reason or "cancelled"


def _info(alert: Alert, lang: str, public_url: str, photos: Mapping[str, Photo],
          resolved_display_seconds: int) -> etree._Element:
    kind = alert.kind
    resolved = alert.status == "resolved"
    urgency, severity, certainty = ALL_CLEAR_GRADING if resolved else ACTIVE_GRADING[kind]
    info = E.info(
        E.language(lang),
        E.category("Rescue"),
        E.event(KIND_TITLES[kind][lang]),
        E.responseType("AllClear" if resolved else "Monitor"),
        E.urgency(urgency),
        E.severity(severity),
        E.certainty(certainty),
    )
    if kind == "amber":
        info.append(_pair("eventCode", "SAME", SAME_CHILD_ABDUCTION))
    info.append(_pair("eventCode", KIND_CODE_NAME, kind))
    expires = _expires(alert, resolved_display_seconds)
    if expires:
        info.append(E.expires(expires))
    optional = (
        ("headline", alert.headline.get(lang)),
        ("description", _description(alert, lang)),
        ("web", alert.contact.url),
        ("contact", alert.contact.phone),
    )
    for tag, text in optional:
        if text:
            info.append(E(tag, xml_text(text)))
    for name, value in alert_parameters(alert, lang):
        info.append(_pair("parameter", name, value))
    for path, photo_id in photo_paths(alert):
        photo = photos.get(photo_id)
        if photo is not None:
            info.append(_resource(path, photo, photo_url(public_url, alert, photo.id)))
    info.append(_area(alert.regions, alert.area))
    return info


def _expires(alert: Alert, resolved_display_seconds: int) -> str | None:
    if alert.status == "resolved" and alert.ended_at:
        shown_until = parse_time(alert.ended_at) + timedelta(
            seconds=resolved_display_seconds)
        return cap_time(shown_until)
    return cap_time(alert.expires_at) if alert.expires_at else None


def _description(alert: Alert, lang: str) -> str | None:
    if alert.status == "resolved" and alert.resolution:
        return alert.resolution.message.get(lang)
    return alert.message.get(lang)


def alert_parameters(alert: Alert, lang: str) -> list[tuple[str, str]]:
    """The structured fields as (valueName, value), localised text in `lang`; the
    vocabulary's tables name the model's attributes."""
    params: list[tuple[str, str]] = []
    if alert.circumstance:
        params.append(("circumstance", alert.circumstance))
    for group, fields in GROUP_FIELDS.items():
        for i, item in enumerate(getattr(alert, group)):
            before = len(params)
            for key, kind in fields.items():
                value = getattr(item, key)
                text = (value or {}).get(lang) if kind == "text" else value
                if text is not None and text != "":
                    params.append((f"{group}[{i}].{key}", str(text)))
            if len(params) == before:  # an entry with nothing known still counts: say it is there
                params.append((f"{group}[{i}].{next(iter(fields))}", ""))
    for key in LAST_SEEN_FIELDS:
        value = alert.last_seen and getattr(alert.last_seen, key)
        if value:
            params.append((f"last_seen.{key}", value))
    return params


def photo_paths(alert: Alert) -> list[tuple[str, str]]:
    """(path, photo id) of every photo the alert shows, e.g. ("children[0].photo", "p_...")."""
    return [
        (f"{group}[{i}].photo", person.photo)
        for group in PHOTO_GROUPS
        for i, person in enumerate(getattr(alert, group))
        if person.photo
    ]


def photo_url(public_url: str, alert: Alert, photo_id: str) -> str:
    """Where a CAP reader gets the photo: public while the alert is on screens (like its
    creatives), the staff URL for a draft."""
    base = public_url.rstrip("/")
    if alert.status == "draft":
        return f"{base}/v1/photos/{photo_id}"
    return f"{base}/v1/cap/{alert.id}/photos/{photo_id}"


def _resource(path: str, photo: Photo, uri: str) -> etree._Element:
    return E.resource(
        E.resourceDesc(path),
        E.mimeType(photo.content_type),
        E.size(str(len(photo.data))),
        E.uri(uri),
        E.digest(hashlib.sha1(photo.data).hexdigest()),
    )


def _area(regions: Sequence[str], shapes: dict | None) -> etree._Element:
    """areaDesc, then the alert's polygons and circles (as CAP writes them), then one
    geocode per region, in the schema's order."""
    area = E.area(E.areaDesc(", ".join(REGION_NAMES.get(r, r) for r in regions)))
    for ring in (shapes or {}).get("polygons", []):
        closed = [*ring, ring[0]]
        area.append(E.polygon(" ".join(f"{_decimal(lat)},{_decimal(lon)}"
                                        for lat, lon in closed)))
    for circle in (shapes or {}).get("circles", []):
        area.append(E.circle(f"{_decimal(circle['lat'])},{_decimal(circle['lon'])} "
                             f"{_decimal(circle['radius_km'])}"))
    for region in regions:
        area.append(_pair("geocode", GEOCODE_NAME, region))
    return area


def _decimal(value: float) -> str:
    """Up to six decimals (about 10 cm), no trailing zeros: 53.2194, 25."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _pair(tag: str, name: str, value: str) -> etree._Element:
    return E(tag, E.valueName(name), E.value(xml_text(value)))
