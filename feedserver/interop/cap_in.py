"""CAP 1.2 in: a message read safely, checked against the schema, and mapped to alert fields.

Real feeds differ from the examples in the standard, so this accepts `Z` and `+00:00` times,
references that hold only an identifier, several info blocks (one per language is used), and
a message wrapped in an Atom entry. Structured fields come from feedserver's parameters (see
`vocabulary`); a message without them keeps its text as the alert's message for staff to
complete before publishing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from feedserver.alerts.fields import MAX_URL, PHONE_RE, URL_RE
from feedserver.config import KINDS, LANGUAGES, REGION_RE
from feedserver.geo.areas import area_regions, checked_area
from feedserver.interop.capxml import (
    CapError,
    find_cap_alert,
    normalise_times,
    parse_untrusted,
    validate,
)
from feedserver.interop.trust import CapTrust
from feedserver.interop.vocabulary import (
    CAP_NS,
    GROUP_FIELDS,
    KIND_CODE_NAME,
    LAST_SEEN_FIELDS,
    PARAMETER_RE,
    PHOTO_DESC_RE,
    SAME_CHILD_ABDUCTION,
    TEST_CODE,
)
from feedserver.signing.xmldsig import SignatureRefused, has_signature, verify_cap

AMBER_EVENT_RE = re.compile(
    r"\bamber\b|child abduction|abducted child|kinderontvoering|ontvoer|kindesentführung"
    r"|enlèvement d'enfant|enfant enlevé", re.IGNORECASE)
MISSING_EVENT_RE = re.compile(
    r"vermist kind|vermiste? (kind|minderjarige)|missing (child|minor|juvenile)"
    r"|endangered (child|juvenile)|vermisstes kind|enfant disparu", re.IGNORECASE)
MAX_EVENT = 200
WHOLE_NUMBER_RE = re.compile(r"[0-9]{1,4}")
PUBLIC_STATUSES = ("Actual", "Draft", "Test", "Exercise")
TEST_STATUSES = ("Test", "Exercise")


@dataclass(frozen=True)
class Resource:
    desc: str
    mime_type: str
    uri: str | None
    deref_uri: str | None


@dataclass(frozen=True)
class Info:
    language: str
    categories: tuple[str, ...]
    event: str
    response_types: tuple[str, ...]
    event_codes: tuple[tuple[str, str], ...]
    expires: str | None
    headline: str | None
    description: str | None
    web: str | None
    contact: str | None
    parameters: tuple[tuple[str, str], ...]
    resources: tuple[Resource, ...]
    geocodes: tuple[tuple[str, str], ...]
    circles: tuple[str, ...] = ()   # "lat,lon radius_km"
    polygons: tuple[str, ...] = ()  # "lat,lon lat,lon ..." (closed)


@dataclass(frozen=True)
class CapMessage:
    identifier: str
    sender: str
    status: str
    msg_type: str
    codes: tuple[str, ...]
    note: str | None
    references: tuple[str, ...]
    infos: tuple[Info, ...]

    @property
    def key(self) -> str:
        """How an ingested alert remembers the message it came from: `sender,identifier`."""
        return f"{self.sender},{self.identifier}"


@dataclass
class Mapped:
    """What a message says about its alert: input fields present, photos to fetch, all-clear."""

    fields: dict
    photos: list[tuple[str, int, Resource]] = field(default_factory=list)  # group, index
    all_clear: bool = False


UNSIGNED_OK = CapTrust()


def read_cap(data: bytes, trust: CapTrust = UNSIGNED_OK) -> tuple[CapMessage, dict]:
    """Parse safely, unwrap Atom, check the signature, normalise times, validate against the
    XSD, extract. Also answers what the history records of the signature."""
    alert = find_cap_alert(parse_untrusted(data))
    signature = check_signature(alert, trust)
    normalise_times(alert)
    validate(alert)
    return _message(alert), signature


def check_signature(alert: etree._Element, trust: CapTrust) -> dict:
    """A signed message must verify against a trusted certificate (when any are configured);
    with `require_signature`, an unsigned one is refused too."""
    if not has_signature(alert):
        if trust.require_signature:
            raise CapError(422, "the message is not signed, and this server requires "
                                "signed CAP (cap_ingest.require_signature)", "Signature")
        return {"signed": False}
    if not trust.trusted_certs:
        return {"signed": True, "verified": False,
                "why": "no trusted certificates configured (cap_ingest.trusted_certs)"}
    # wrapped in an Atom entry: the signature covers the alert as a document of its own
    standalone = parse_untrusted(etree.tostring(alert)) if alert.getparent() is not None \
        else alert
    try:
        return {**verify_cap(standalone, trust.trusted_certs).as_note(), "verified": True}
    except SignatureRefused as exc:
        raise CapError(422, str(exc), "Signature") from None


def _text(element: etree._Element, tag: str) -> str | None:
    found = element.find(f"{{{CAP_NS}}}{tag}")
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _texts(element: etree._Element, tag: str) -> tuple[str, ...]:
    return tuple((e.text or "").strip() for e in element.findall(f"{{{CAP_NS}}}{tag}"))


def _pairs(element: etree._Element, tag: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        ((_text(pair, "valueName") or ""), (_text(pair, "value") or ""))
        for pair in element.findall(f"{{{CAP_NS}}}{tag}")
    )


def _message(alert: etree._Element) -> CapMessage:
    sender = _text(alert, "sender") or ""
    return CapMessage(
        identifier=_text(alert, "identifier") or "",
        sender=sender,
        status=_text(alert, "status") or "",
        msg_type=_text(alert, "msgType") or "",
        codes=_texts(alert, "code"),
        note=_text(alert, "note"),
        references=_reference_keys(_text(alert, "references") or "", sender),
        infos=tuple(_info(info) for info in alert.findall(f"{{{CAP_NS}}}info")),
    )


def _reference_keys(text: str, own_sender: str) -> tuple[str, ...]:
    """`sender,identifier[,sent]` or a bare identifier (then the sender is this message's)."""
    keys = []
    for reference in text.split():
        parts = reference.split(",")
        keys.append(f"{own_sender},{parts[0]}" if len(parts) == 1 else f"{parts[0]},{parts[1]}")
    return tuple(keys)


def _info(info: etree._Element) -> Info:
    return Info(
        language=_text(info, "language") or "en-US",
        categories=_texts(info, "category"),
        event=_text(info, "event") or "",
        response_types=_texts(info, "responseType"),
        event_codes=_pairs(info, "eventCode"),
        expires=_text(info, "expires"),
        headline=_text(info, "headline"),
        description=_text(info, "description"),
        web=_text(info, "web"),
        contact=_text(info, "contact"),
        parameters=_pairs(info, "parameter"),
        resources=tuple(
            Resource(_text(r, "resourceDesc") or "", _text(r, "mimeType") or "",
                     _text(r, "uri"), _text(r, "derefUri"))
            for r in info.findall(f"{{{CAP_NS}}}resource")
        ),
        geocodes=tuple(pair for area in info.findall(f"{{{CAP_NS}}}area")
                       for pair in _pairs(area, "geocode")),
        circles=tuple(text for area in info.findall(f"{{{CAP_NS}}}area")
                      for text in _texts(area, "circle")),
        polygons=tuple(text for area in info.findall(f"{{{CAP_NS}}}area")
                       for text in _texts(area, "polygon")),
    )


def info_kind(info: Info) -> str | None:
    """amber | missing_child when the info block is about a missing or abducted child."""
    for name, value in info.event_codes:
        if name == KIND_CODE_NAME and value in KINDS:
            return value
        if name.upper() == "SAME" and value.upper() == SAME_CHILD_ABDUCTION:
            return "amber"
    event = info.event[:MAX_EVENT]  # bounded before any pattern reads it
    if AMBER_EVENT_RE.search(event):
        return "amber"
    if MISSING_EVENT_RE.search(event):
        return "missing_child"
    return None


def check_message(message: CapMessage) -> None:
    """Refuse what can never become an alert, saying why (422)."""
    if message.status not in PUBLIC_STATUSES:
        raise CapError(422, f"status {message.status} messages are not for the public; "
                            "send Actual, Test, Exercise or Draft", "status")
    if message.msg_type not in ("Alert", "Update", "Cancel"):
        raise CapError(422, f"msgType {message.msg_type} carries no alert; "
                            "send Alert, Update or Cancel", "msgType")
    if message.msg_type != "Cancel" and not message.infos:
        raise CapError(422, f"a CAP {message.msg_type} needs at least one info block", "info")
    if message.infos and not any(info_kind(info) for info in message.infos):
        first = message.infos[0]
        raise CapError(
            422,
            f"event {first.event!r} (category {', '.join(first.categories)}) is not about a "
            "missing or abducted child: feedserver carries AMBER Alerts and Vermist Kind "
            "Alerts only (eventCode SAME CAE, eventCode feedserver amber|missing_child, or an "
            "event such as 'Child Abduction' or 'Vermist Kind')",
            "info[0].event",
        )


def _language(info: Info) -> str | None:
    primary = info.language.split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def infos_by_language(message: CapMessage) -> dict[str, Info]:
    """The first child info block of each supported language, in message order."""
    chosen: dict[str, Info] = {}
    for info in message.infos:
        lang = _language(info)
        if lang and lang not in chosen and info_kind(info):
            chosen[lang] = info
    if not chosen:
        languages = ", ".join(sorted({info.language for info in message.infos}))
        raise CapError(422, f"no info block in a language feedserver speaks "
                            f"({', '.join(LANGUAGES)}); this message has {languages}", "info")
    return chosen


def map_message(message: CapMessage) -> Mapped:
    """The alert fields the message carries (only those present, so an Update merges)."""
    infos = infos_by_language(message)
    primary = next(iter(infos.values()))
    fields: dict = {"kind": info_kind(primary), "languages": list(infos),
                    "test": message.status in TEST_STATUSES or TEST_CODE in message.codes}
    photos = _structured(infos, fields)
    if any(name == KIND_CODE_NAME for name, _ in primary.event_codes):
        # feedserver's own vocabulary says everything: what it leaves out is not there.
        fields.update({group: fields.get(group, []) for group in GROUP_FIELDS})
        fields.setdefault("last_seen", None)
    # With structured fields the description is exactly the message; otherwise the headline
    # and a contact text that is no phone number are kept with it.
    structured = "children" in fields
    fields["message"] = {lang: text for lang, info in infos.items()
                         if (text := _message_text(info, structured))}
    contact = _contact(primary)
    if contact:
        fields["contact"] = contact
    if primary.expires:
        fields["expires_at"] = primary.expires
    regions = [value.upper() for name, value in primary.geocodes
               if name.replace(" ", "").upper().startswith("ISO3166")
               and REGION_RE.match(value.upper())]
    area = cap_area(primary)
    if area is not None:
        fields["area"] = area
    if regions:
        fields["regions"] = list(dict.fromkeys(regions))
    elif area is not None:
        fields["regions"] = area_regions_of(area)
    all_clear = any("AllClear" in info.response_types for info in infos.values())
    return Mapped(fields, photos, all_clear)


MAX_SHAPE_TEXT = 40_000  # 1,000 points of "lat,lon " at most, as the area check allows


def _pair_of_numbers(text: str, place: str) -> list[float]:
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        return [float(parts[0]), float(parts[1])]
    except ValueError:
        raise CapError(422, f"{place}: {text[:40]!r} is not lat,lon", place) from None


def cap_area(info: Info) -> dict | None:
    """CAP `<circle>` ("lat,lon radius_km") and `<polygon>` ("lat,lon lat,lon ...") as an
    `area`; the alert's own checks (ranges, self-crossing, radius) then apply to it."""
    if not info.circles and not info.polygons:
        return None
    circles = []
    for i, text in enumerate(info.circles):
        place = f"info.area.circle[{i}]"
        centre, _, radius = text[:MAX_SHAPE_TEXT].strip().partition(" ")
        lat, lon = _pair_of_numbers(centre, place)
        try:
            radius_km = float(radius.strip())
        except ValueError:
            raise CapError(422, f"{place}: the radius must be a number of km", place) from None
        circles.append({"lat": lat, "lon": lon, "radius_km": radius_km})
    polygons = []
    for i, text in enumerate(info.polygons):
        place = f"info.area.polygon[{i}]"
        if len(text) > MAX_SHAPE_TEXT:
            raise CapError(422, f"{place}: too many points", place)
        polygons.append([_pair_of_numbers(pair, place) for pair in text.split()])
    return {"circles": circles, "polygons": polygons}


def area_regions_of(area: dict) -> list[str]:
    """The provinces of a CAP area without geocodes; the area is checked later as a field."""
    checked = checked_area(area)
    return area_regions(checked) if checked else ["NL"]


def _structured(infos: dict[str, Info], fields: dict) -> list[tuple[str, int, Resource]]:
    """Fill `fields` from feedserver parameters; the photo resources with their persons."""
    groups: dict[str, dict[int, dict]] = {}
    for lang, info in infos.items():
        for name, value in info.parameters:
            if name == "circumstance":
                fields.setdefault("circumstance", value)
            elif name.startswith("last_seen.") and name[10:] in LAST_SEEN_FIELDS:
                fields.setdefault("last_seen", {}).setdefault(name[10:], value)
            elif match := PARAMETER_RE.match(name):
                group, index, key = match.group(1), int(match.group(2)), match.group(3)
                kind = GROUP_FIELDS[group].get(key)
                item = groups.setdefault(group, {}).setdefault(index, {})
                if kind == "text":
                    item.setdefault(key, {})[lang] = value
                elif kind == "int":
                    item.setdefault(key, _whole_number(value))
                elif kind == "str":
                    item.setdefault(key, value)
    positions = {group: {index: n for n, index in enumerate(sorted(items))}
                 for group, items in groups.items()}
    for group, items in groups.items():
        fields[group] = [items[index] for index in sorted(items)]
    photos = []
    for resource in next(iter(infos.values())).resources:
        match = PHOTO_DESC_RE.match(resource.desc)
        if match and resource.mime_type.startswith("image/") \
                and int(match.group(2)) in positions.get(match.group(1), {}):
            group = match.group(1)
            photos.append((group, positions[group][int(match.group(2))], resource))
    return photos


def _whole_number(value: str) -> int | str:
    """ASCII digits (at most four) as a number; anything else (², ٣, 5,000 digits) stays text,
    so the field checks refuse it by name."""
    text = value.strip()
    return int(text) if WHOLE_NUMBER_RE.fullmatch(text) else value


def _message_text(info: Info, structured: bool) -> str | None:
    """The description; without structured fields also the headline and a non-phone contact."""
    if structured:
        return info.description
    contact = info.contact if info.contact and not PHONE_RE.match(info.contact) else None
    parts = [info.headline, info.description, contact]
    return "\n\n".join(p for p in parts if p) or None


def _contact(info: Info) -> dict[str, str]:
    contact = {}
    if info.contact and PHONE_RE.match(info.contact):
        contact["phone"] = info.contact
    if info.web and len(info.web) <= MAX_URL and URL_RE.match(info.web):
        contact["url"] = info.web
    return contact


def resolution_text(message: CapMessage) -> dict[str, str]:
    """The all-clear's words per language, for the "found" card."""
    return {lang: info.description for lang, info in infos_by_language(message).items()
            if info.description}
