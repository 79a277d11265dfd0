"""The alert lifecycle: create, edit, publish, update, resolve, cancel, expire.

Every call reads the current version, checks the transition and the rules, and writes the
next version through the store in one transaction; only then are caches and streams told.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from feedserver.alerts.fields import (
    INPUT_FIELDS,
    SERVER_FIELDS,
    Checker,
    checked_override,
    normalise,
)
from feedserver.alerts.model import ENDED, Alert, Origin, Resolution
from feedserver.alerts.privacy import off_screens_at, purged, scrubbed
from feedserver.alerts.rules import policy_errors
from feedserver.alerts.texts import headline, translation_warnings
from feedserver.auth import SYSTEM, Actor
from feedserver.config import AlertsConfig
from feedserver.errors import ApiError, FieldError, conflict, not_found, validation_failed
from feedserver.events import EventBus
from feedserver.store.base import Change, DuplicateOrigin, Store, VersionConflict
from feedserver.timeutil import Clock, format_time, parse_time

STATUSES = ("draft", "active", "resolved", "cancelled", "expired")
DEFAULT_LIFETIME = {"amber": timedelta(hours=24), "missing_child": timedelta(hours=72)}


def alert_etag(alert: Alert) -> str:
    """The alert's entity tag: its version, which changes with every change."""
    return f'"v{alert.version}"'


def check_if_match(current: Alert, if_match: Collection[int] | None) -> None:
    """412 when the caller's `If-Match` names versions and the current one is not among them:
    someone changed the alert since the caller read it, and nothing is changed."""
    if if_match is not None and current.version not in if_match:
        raise ApiError(412, "precondition_failed",
                       f"the alert is at version {current.version}, not the one you read; "
                       "read it again and decide on the current version",
                       headers={"ETag": alert_etag(current)})


def new_alert_id() -> str:
    return "a_" + secrets.token_hex(8)


def merge_patch(target: object, patch: object) -> object:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _input_values(content: Alert) -> dict[str, object]:
    """The input fields of a checked alert, as model values to set on another version."""
    return {key: getattr(content, key) for key in INPUT_FIELDS}


def _override_note(override: dict | None, given_by: str | None) -> dict | None:
    """The history note for an override: what it says and the publisher who gave it."""
    return {"policy_override": override, "given_by": given_by} if override else None


class AlertService:
    def __init__(self, store: Store, settings: AlertsConfig, bus: EventBus, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.bus = bus
        self.clock = clock
        self._lock = asyncio.Lock()

    # reading

    async def get(self, alert_id: str) -> Alert:
        alert = await self.store.get_alert(alert_id)
        if alert is None:
            raise not_found(f"alert {alert_id}")
        return alert

    async def list(self, statuses: Iterable[str] | None = None) -> list[Alert]:
        return await self.store.list_alerts(statuses)

    async def find_by_origin(self, kind: str, ref: str) -> Alert | None:
        return await self.store.find_by_origin(kind, ref)

    async def history(self, alert_id: str) -> list[dict]:
        await self.get(alert_id)
        return await self.store.history(alert_id)

    # changing

    async def create(self, data: dict, actor: Actor) -> Alert:
        """A new draft by a staff member; the policy rules apply at once."""
        content = await self._checked(data, lenient=False, actor=actor)
        return await self._insert(content, actor, Origin("staff", None), (),
                                  _override_note(content.policy_override, actor.name))

    async def create_ingested(self, data: dict, actor: Actor, origin: Origin, *,
                              warnings: Iterable[dict] = (),
                              note: dict | None = None) -> tuple[Alert, bool]:
        """A draft from ingest (CAP, an upstream list), which may break policy rules until
        publish, and True; or, when an alert with this origin exists (an ingest racing this
        one, or the same message sent again), that alert and False. `warnings`: what ingest
        could not take in (a photo that could not be fetched); `note`: what the history records
        of the message (how it was signed)."""
        content = await self._checked(data, lenient=True)
        try:
            return await self._insert(content, actor, origin, warnings, note), True
        except DuplicateOrigin:
            existing = await self.find_by_origin(origin.kind, origin.ref or "")
            if existing is None:  # the other alert was written and is gone: cannot happen
                raise
            return existing, False

    async def _insert(self, content: Alert, actor: Actor, origin: Origin,
                      warnings: Iterable[dict], note: dict | None) -> Alert:
        now = self.clock()
        alert = content.changed(
            id=new_alert_id(), status="draft", version=1, headline={},
            created_at=format_time(now), updated_at=format_time(now), published_at=None,
            ended_at=None, resolution=None, cancel_reason=None, origin=origin, warnings=(),
            created_by=actor.name, edited_by=actor.name)
        return await self._commit(alert, None, Change(actor.name, "created", now, None, note),
                                  warnings)

    async def patch(self, alert_id: str, patch: dict, actor: Actor, *,
                    lenient: bool = False, trusted: bool = False,
                    warnings: Iterable[dict] = (), if_match: Collection[int] | None = None,
                    note: dict | None = None) -> Alert:
        """`trusted`: mirrored from the national feed, already judged by the police, so the
        local policy rules are not applied, even to an active alert. `note` goes into the
        history (e.g. how an ingested message was signed)."""
        async with self._lock:
            current = await self.get(alert_id)
            check_if_match(current, if_match)
            status = current.status
            if status not in ("draft", "active"):
                raise conflict(f"a {status} alert cannot be changed")
            if status == "active" and not actor.has("publisher"):
                raise ApiError(403, "forbidden", "changing an active alert needs the publisher "
                                                 f"role; you are {actor.role}")
            self._check_read_only(patch, current)
            editable = {k: v for k, v in patch.items() if k not in SERVER_FIELDS}
            merged = merge_patch(current.input_fields(), editable)
            content = await self._checked(merged,
                                          lenient=(lenient and status == "draft") or trusted,
                                          actor=actor, current=current)
            if status == "active" and content.expires_at is None:
                raise validation_failed([FieldError(
                    "expires_at", "a live alert must have an expiry: give a new time "
                                  "instead of removing it")])
            if content.input_fields() == current.input_fields():
                return current
            alert = current.changed(**_input_values(content), edited_by=actor.name)
            event = "alert.updated" if status == "active" else None
            given = content.policy_override \
                if content.policy_override != current.policy_override else None
            change = Change(actor.name, "edited", self.clock(), event,
                            {**(_override_note(given, actor.name) or {}), **(note or {})} or None)
            return await self._commit(alert, current, change, warnings)

    async def authors(self, alert: Alert) -> dict[str, str]:
        """Who created the alert and who last changed its content; alerts stored before these
        were recorded in the document take them from the history."""
        if alert.created_by is not None and alert.edited_by is not None:
            return {"created_by": alert.created_by, "edited_by": alert.edited_by}
        changes = [c for c in await self.store.history(alert.id)
                   if c["action"] in ("created", "edited")]
        return {"created_by": changes[0]["actor"], "edited_by": changes[-1]["actor"]}

    async def may_not_publish(self, alert: Alert) -> list[str]:
        """Under four eyes, the staff members a draft needs a second publisher besides."""
        if not self.settings.four_eyes or alert.status != "draft":
            return []
        return sorted(set((await self.authors(alert)).values()))

    async def publish(self, alert_id: str, actor: Actor, *, trusted: bool = False,
                      if_match: Collection[int] | None = None,
                      policy_override: object = None) -> Alert:
        """`policy_override`: given in the publish call's body, by this publisher. An override
        the draft holds counts only when a publisher's own create or edit gave it.
        `trusted` (the national feed, already judged by the police) skips policy and four
        eyes; every other publish of a draft under four eyes needs a second staff member."""
        override, errors = checked_override(policy_override)
        if errors:
            raise validation_failed(errors)
        async with self._lock:
            current = await self._in_state(alert_id, ("draft",), "published", if_match)
            authors = None
            if self.settings.four_eyes and not trusted:
                authors = await self.authors(current)
                if actor.name in authors.values():
                    raise ApiError(403, "four_eyes", f"four eyes: {actor.name} created or last "
                                   "edited this draft, so another publisher must publish it")
            now = self.clock()
            giver = actor.name if override else await self._override_giver(current)
            alert = current.changed(
                status="active", published_at=format_time(now),
                expires_at=current.expires_at or format_time(
                    now + DEFAULT_LIFETIME[current.kind]),
                policy_override=override or (None if giver is None else current.policy_override))
            if not trusted:
                await self._check_policy(alert)
            note = _override_note(alert.policy_override, giver)
            if authors is not None:
                note = {**(note or {}), "four_eyes": authors}
            return await self._commit(
                alert, current, Change(actor.name, "published", now, "alert.published", note))

    async def resolve(self, alert_id: str, message: dict, actor: Actor, *,
                      if_match: Collection[int] | None = None,
                      note: dict | None = None) -> Alert:
        async with self._lock:
            current = await self._in_state(alert_id, ("active",), "resolved", if_match)
            check = Checker()
            check.languages = current.languages
            text = check.text(message, "message")
            if check.errors:
                raise validation_failed(check.errors)
            now = self.clock()
            alert = current.changed(status="resolved", ended_at=format_time(now),
                                    resolution=Resolution(text, format_time(now)))
            return await self._commit(
                alert, current, Change(actor.name, "resolved", now, "alert.resolved", note))

    async def cancel(self, alert_id: str, reason: str, actor: Actor, *,
                     if_match: Collection[int] | None = None,
                     note: dict | None = None) -> Alert:
        async with self._lock:
            current = await self._in_state(alert_id, ("draft", "active"), "cancelled", if_match)
            now = self.clock()
            alert = current.changed(status="cancelled", ended_at=format_time(now),
                                    cancel_reason=reason)
            # A draft never reached a screen, so its cancellation is history, not an event.
            event = "alert.cancelled" if current.status == "active" else None
            return await self._commit(alert, current, Change(actor.name, "cancelled", now, event,
                                                             {"reason": reason, **(note or {})}))

    async def expire_due(self) -> list[Alert]:
        """Expire every active alert whose expires_at has passed; called by the clock."""
        expired = []
        async with self._lock:
            now = self.clock()
            for current in await self.store.list_alerts(["active"]):
                if current.expires_at and parse_time(current.expires_at) <= now:
                    alert = current.changed(status="expired", ended_at=current.expires_at)
                    expired.append(await self._commit(
                        alert, current, Change(SYSTEM.name, "expired", now, "alert.expired")))
        return expired

    async def purge_due(self, purge_after: timedelta) -> tuple[list[str], datetime | None]:
        """Purge the personal data of every ended alert that left the screens more than
        `purge_after` ago; called by the clock. Answers the purged alerts' ids and when the
        next one is due."""
        done, upcoming = [], []
        now = self.clock()
        for alert in await self.store.list_alerts(ENDED):
            if alert.is_purged:
                continue
            due = off_screens_at(alert, self.settings) + purge_after
            if due > now:
                upcoming.append(due)
                continue
            history = await self.store.history(alert.id)
            reach = [await self.store.receipts(alert.id, entry["version"])
                     for entry in history]
            notes = {entry["version"]: scrubbed(entry.get("note")) for entry in history}
            clean = purged(alert, reach, now)
            await self.store.purge(alert.id, clean, notes)
            self.bus.emit(clean, None)  # caches (renders on disk among them) drop their copies
            done.append(alert.id)
        return done, min(upcoming, default=None)

    # internals

    async def _in_state(self, alert_id: str, allowed: tuple[str, ...], target: str,
                        if_match: Collection[int] | None = None) -> Alert:
        alert = await self.get(alert_id)
        check_if_match(alert, if_match)
        if alert.status not in allowed:
            raise conflict(f"a {alert.status} alert cannot be {target}; "
                           f"only a {' or '.join(allowed)} one can")
        return alert

    async def _override_giver(self, alert: Alert) -> str | None:
        """The publisher whose create or edit gave the alert's current override, if any."""
        if not alert.policy_override:
            return None
        for entry in reversed(await self.store.history(alert.id)):
            note = entry.get("note") or {}
            if "given_by" in note:
                return note["given_by"] if note["policy_override"] == alert.policy_override \
                    else None
        return None

    @staticmethod
    def _check_read_only(patch: dict, current: Alert) -> None:
        document = current.to_document()
        errors = [FieldError(key, "is set by the server and cannot be changed")
                  for key in patch if key in SERVER_FIELDS and patch[key] != document.get(key)]
        if errors:
            raise validation_failed(errors)

    async def _checked(self, data: dict, *, lenient: bool, actor: Actor | None = None,
                       current: Alert | None = None) -> Alert:
        """Shape, then who may give an override (`actor` set: a staff action), then policy."""
        document, errors = normalise(data, self.settings.default_contact)
        if errors:
            raise validation_failed(errors)
        content = Alert.from_document(document)
        override = content.policy_override
        if actor is not None and override and not actor.has("publisher") \
                and override != (current and current.policy_override):
            raise ApiError(403, "forbidden", "policy_override: only a publisher may override a "
                           f"policy rule; you are {actor.role}",
                           [FieldError("policy_override", "needs the publisher role")])
        if not lenient:
            await self._check_policy(content)
        return content

    async def _policy_errors(self, alert: Alert) -> list[FieldError]:
        return policy_errors(alert, self.clock(), await self.store.photo_ids(alert.photo_ids()))

    async def _check_policy(self, alert: Alert) -> None:
        errors = await self._policy_errors(alert)
        if errors:
            raise validation_failed(errors)

    async def problems(self, data: dict) -> tuple[dict, list[FieldError]]:
        """A dry run: the alert's input normalised, and every rule it breaks (shape first,
        then policy), without writing anything; staff see them while still typing."""
        content, errors = normalise(data, self.settings.default_contact)
        if errors:
            return content, errors
        return content, await self._policy_errors(Alert.from_document(content))

    async def _commit(self, alert: Alert, current: Alert | None, change: Change,
                      warnings: Iterable[dict] = ()) -> Alert:
        alert = alert.changed(version=current.version + 1 if current else 1,
                              updated_at=format_time(change.at))
        alert = alert.changed(headline=headline(alert),
                              warnings=(*translation_warnings(alert), *warnings))
        try:
            event = await self.store.save(alert, change, current.version if current else None)
        except VersionConflict as exc:
            raise conflict("the alert changed meanwhile; read it again and retry") from exc
        self.bus.emit(alert, event)
        if event is not None:
            # Another process's earlier event may be applied first; the answer waits for it,
            # so whoever made the change reads it back from every feed of this process.
            await self.bus.reached(event.seq)
        return alert
