"""The alert as the server holds it: one typed, frozen model instead of dicts read by key.

The store keeps JSON documents; `Alert.from_document` is the one way in and
`Alert.to_document` the one way back out, to exactly the document the API, the feeds, CAP
and signatures have always been built from (same keys, same order), so answers and ETags do
not change. Renders get `Shown`, the part of an alert a creative shows.

Frozen and made of plain values, so a model is cheap to build, safe to share between
listeners and picklable into the render workers. Imports nothing but the standard library:
every part, the pure renderer included, may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Self

Texts = Mapping[str, str]
"""Text per language: {"nl": "...", "en": "..."}."""

ENDED = ("resolved", "cancelled", "expired")
VISIBLE = ("active", "resolved")  # statuses screens may show


def _texts(value: Any) -> Texts:
    return value if isinstance(value, dict) else {}


def _get(doc: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = doc.get(key, default)
    return default if value is None and default is not None else value


@dataclass(frozen=True, slots=True)
class Child:
    name: str | None
    age: int | None
    sex: str | None
    height_cm: int | None
    description: Texts
    clothing: Texts
    photo: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Child:
        return cls(_get(doc, "name"), _get(doc, "age"), _get(doc, "sex"),
                   _get(doc, "height_cm"), _texts(_get(doc, "description")),
                   _texts(_get(doc, "clothing")), _get(doc, "photo"))

    def to_document(self) -> dict[str, Any]:
        return {"name": self.name, "age": self.age, "sex": self.sex,
                "height_cm": self.height_cm, "description": dict(self.description),
                "clothing": dict(self.clothing), "photo": self.photo}


@dataclass(frozen=True, slots=True)
class Suspect:
    name: str | None
    description: Texts
    photo: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Suspect:
        return cls(_get(doc, "name"), _texts(_get(doc, "description")), _get(doc, "photo"))

    def to_document(self) -> dict[str, Any]:
        return {"name": self.name, "description": dict(self.description), "photo": self.photo}


@dataclass(frozen=True, slots=True)
class Vehicle:
    make: str | None
    model: str | None
    colour: Texts
    plate: str | None
    country: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Vehicle:
        return cls(_get(doc, "make"), _get(doc, "model"), _texts(_get(doc, "colour")),
                   _get(doc, "plate"), _get(doc, "country"))

    def to_document(self) -> dict[str, Any]:
        return {"make": self.make, "model": self.model, "colour": dict(self.colour),
                "plate": self.plate, "country": self.country}


@dataclass(frozen=True, slots=True)
class LastSeen:
    place: str | None
    at: str | None  # RFC 3339 as given (an ingested draft's may not parse)

    @classmethod
    def from_document(cls, doc: Any) -> LastSeen | None:
        return cls(_get(doc, "place"), _get(doc, "at")) if isinstance(doc, dict) else None

    def to_document(self) -> dict[str, Any]:
        return {"place": self.place, "at": self.at}


@dataclass(frozen=True, slots=True)
class Contact:
    phone: str | None
    url: str | None

    @classmethod
    def from_document(cls, doc: Any) -> Contact:
        doc = doc if isinstance(doc, dict) else {}
        return cls(_get(doc, "phone"), _get(doc, "url"))

    def to_document(self) -> dict[str, Any]:
        return {"phone": self.phone, "url": self.url}


@dataclass(frozen=True, slots=True)
class Resolution:
    message: Texts
    at: str

    @classmethod
    def from_document(cls, doc: Any) -> Resolution | None:
        if not isinstance(doc, dict):
            return None
        return cls(_texts(_get(doc, "message")), _get(doc, "at"))

    def to_document(self) -> dict[str, Any]:
        return {"message": dict(self.message), "at": self.at}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the alert came from: staff (no ref), a CAP message or an upstream list entry."""

    kind: str
    ref: str | None

    @classmethod
    def from_document(cls, doc: Any) -> Origin:
        doc = doc if isinstance(doc, dict) else {}
        return cls(_get(doc, "kind", "staff"), _get(doc, "ref"))

    def to_document(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref}


@dataclass(frozen=True, slots=True)
class Reach:
    """What a purged alert keeps of where it was shown: counts, no screen."""

    screens: int
    networks: tuple[str, ...]

    def to_document(self) -> dict[str, Any]:
        return {"screens": self.screens, "networks": list(self.networks)}


def _people(value: Any, kind: type) -> tuple:
    return tuple(kind.from_document(d) for d in value or () if isinstance(d, dict))


def _override(value: Any) -> dict[str, str] | None:
    return dict(value) if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class Shows:
    """What a creative shows of an alert; `Alert` and `Shown` both have it."""

    status: str
    headline: Texts
    kind: str
    test: bool
    languages: tuple[str, ...]
    children: tuple[Child, ...]
    suspects: tuple[Suspect, ...]
    vehicles: tuple[Vehicle, ...]
    last_seen: LastSeen | None
    message: Texts
    contact: Contact
    resolution: Resolution | None

    def changed(self, **values: Any) -> Self:
        """A copy with these fields set (the model is frozen)."""
        return replace(self, **values)


@dataclass(frozen=True, slots=True)
class Alert(Shows):
    """One version of an alert, field for field the stored document (API.md, "Alert")."""

    id: str
    version: int
    circumstance: str
    regions: tuple[str, ...]
    area: dict[str, list] | None  # {"circles": [...], "polygons": [...]}, as geo/areas keeps it
    expires_at: str | None
    policy_override: dict[str, str] | None  # {"reason": ...}
    created_at: str
    updated_at: str
    published_at: str | None
    ended_at: str | None
    cancel_reason: str | None
    origin: Origin
    warnings: tuple[dict[str, str], ...]
    # absent from documents stored before they were recorded (the history knows them)
    created_by: str | None = None
    edited_by: str | None = None
    # only once the child's data is purged
    reach: Reach | None = None
    purged_at: str | None = None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Self:
        """The model of a stored (or normalised) document. Keys a document lacks (the input
        fields alone, as a dry run checks them) take a new draft's values."""
        reach = _get(doc, "reach")
        return cls(
            id=_get(doc, "id", ""),
            status=_get(doc, "status", "draft"),
            version=_get(doc, "version", 0),
            headline=_texts(_get(doc, "headline")),
            kind=_get(doc, "kind", "missing_child"),
            circumstance=_get(doc, "circumstance", "unknown"),
            test=_get(doc, "test") is True,
            regions=tuple(_get(doc, "regions", ())),
            area=_get(doc, "area"),
            languages=tuple(_get(doc, "languages", ("nl",))),
            children=_people(_get(doc, "children"), Child),
            suspects=_people(_get(doc, "suspects"), Suspect),
            vehicles=_people(_get(doc, "vehicles"), Vehicle),
            last_seen=LastSeen.from_document(_get(doc, "last_seen")),
            message=_texts(_get(doc, "message")),
            contact=Contact.from_document(_get(doc, "contact")),
            expires_at=_get(doc, "expires_at"),
            policy_override=_override(_get(doc, "policy_override")),
            created_at=_get(doc, "created_at", ""),
            updated_at=_get(doc, "updated_at", ""),
            published_at=_get(doc, "published_at"),
            ended_at=_get(doc, "ended_at"),
            resolution=Resolution.from_document(_get(doc, "resolution")),
            cancel_reason=_get(doc, "cancel_reason"),
            origin=Origin.from_document(_get(doc, "origin")),
            warnings=tuple(_get(doc, "warnings", ())),
            created_by=_get(doc, "created_by"),
            edited_by=_get(doc, "edited_by"),
            reach=Reach(reach["screens"], tuple(reach["networks"])) if reach else None,
            purged_at=_get(doc, "purged_at"),
        )

    def to_document(self) -> dict[str, Any]:
        """The stored and answered JSON document, keys in the order they have always had."""
        doc = {
            "id": self.id, "status": self.status, "version": self.version,
            "headline": dict(self.headline),
            **self.input_fields(),
            "created_at": self.created_at, "updated_at": self.updated_at,
            "published_at": self.published_at, "ended_at": self.ended_at,
            "resolution": self.resolution and self.resolution.to_document(),
            "cancel_reason": self.cancel_reason, "origin": self.origin.to_document(),
            "warnings": [dict(w) for w in self.warnings],
        }
        if self.created_by is not None:
            doc["created_by"] = self.created_by
            doc["edited_by"] = self.edited_by
        if self.purged_at is not None:
            doc["reach"] = self.reach and self.reach.to_document()
            doc["purged_at"] = self.purged_at
        return doc

    def input_fields(self) -> dict[str, Any]:
        """The part staff may edit (fields.INPUT_FIELDS), as a merge patch applies to it."""
        return {
            "kind": self.kind, "circumstance": self.circumstance, "test": self.test,
            "regions": list(self.regions), "area": self.area, "languages": list(self.languages),
            "children": [c.to_document() for c in self.children],
            "suspects": [s.to_document() for s in self.suspects],
            "vehicles": [v.to_document() for v in self.vehicles],
            "last_seen": self.last_seen and self.last_seen.to_document(),
            "message": dict(self.message), "contact": self.contact.to_document(),
            "expires_at": self.expires_at, "policy_override": self.policy_override,
        }

    # what many parts ask of an alert, answered in one place

    @property
    def people(self) -> tuple[Child | Suspect, ...]:
        """Everyone the alert may show a photo of: the children, then the suspects."""
        return (*self.children, *self.suspects)

    def photo_ids(self) -> list[str]:
        """The photos the alert shows, sorted; photos are immutable, so ids name them."""
        return sorted({p.photo for p in self.people if p.photo})

    @property
    def is_visible(self) -> bool:
        """Published and not withdrawn: active, or resolved with its found card (whose end
        depends on the settings; see feeds.document.shown_until)."""
        return self.status in VISIBLE

    @property
    def is_purged(self) -> bool:
        return self.purged_at is not None

    def shown(self, place: Place | None) -> Shown:
        """What a creative of this alert shows; `place` names a regional alert's area."""
        shows = {name: getattr(self, name) for name in SHOWS}
        shows["status"] = "resolved" if self.status == "resolved" else "active"
        return Shown(**shows, place=place)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a regional alert applies, as a creative names it."""

    name: str
    label: Mapping[str, str | None]

    def to_document(self) -> dict[str, Any]:
        return {"name": self.name, "label": dict(self.label)}


@dataclass(frozen=True, slots=True)
class Shown(Shows):
    """The part of an alert a creative shows (a found card only knows it is found; status is
    "active" or "resolved"), all the renderer gets: its digest covers exactly this."""

    place: Place | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Shown:
        """From an alert document (a test's, the render command's); a sparse one renders too."""
        place = _get(doc, "place")
        return Alert.from_document(doc).shown(
            Place(place["name"], place["label"]) if place else None)

    def to_document(self) -> dict[str, Any]:
        """As the creative digest hashes it."""
        return {
            "kind": self.kind, "test": self.test, "status": self.status,
            "languages": list(self.languages), "headline": dict(self.headline),
            "children": [c.to_document() for c in self.children],
            "suspects": [s.to_document() for s in self.suspects],
            "vehicles": [v.to_document() for v in self.vehicles],
            "last_seen": self.last_seen and self.last_seen.to_document(),
            "message": dict(self.message), "contact": self.contact.to_document(),
            "resolution": self.resolution and self.resolution.to_document(),
            "place": self.place and self.place.to_document(),
        }

    @property
    def is_found(self) -> bool:
        return self.status == "resolved"


SHOWS = tuple(f.name for f in fields(Shows))
FIELD_NAMES = frozenset(f.name for f in fields(Alert)) | frozenset(
    f.name for kind in (Child, Suspect, Vehicle, LastSeen, Contact, Resolution, Place)
    for f in fields(kind))
"""Every field name of the model: code outside this module reads them as attributes
(tests/test_walls.py checks that no `alert["children"]` creeps back)."""
