"""The police criteria an alert must meet before it reaches a screen.

An AMBER Alert is for a child under 18 very likely abducted by a stranger or in danger of
life, with enough information for the public to act on, and national. Abduction by a parent
is a Vermist Kind Alert unless a publisher overrides that with a recorded reason.
"""

from __future__ import annotations

from datetime import datetime

from feedserver.alerts.model import Alert
from feedserver.errors import FieldError
from feedserver.timeutil import parse_time

AMBER_CIRCUMSTANCES = ("stranger_abduction", "life_threatening")
MAX_CHILD_AGE = 17


def policy_errors(alert: Alert, now: datetime, known_photos: set[str]) -> list[FieldError]:
    """Every rule the alert breaks, each naming its field; empty when it may be published."""
    errors: list[FieldError] = []
    fail = errors.append
    if not alert.children:
        fail(FieldError("children", "at least one child is required"))
    for i, child in enumerate(alert.children):
        if not child.name:
            fail(FieldError(f"children[{i}].name", "is required"))
        age = child.age
        if age is None:
            fail(FieldError(f"children[{i}].age", "is required"))
        elif age > MAX_CHILD_AGE:
            fail(FieldError(f"children[{i}].age", f"must be from 0 to {MAX_CHILD_AGE}: "
                                                  "alerts are for children under 18"))
    for group, people in (("children", alert.children), ("suspects", alert.suspects)):
        for i, person in enumerate(people):
            photo = person.photo
            if photo and photo not in known_photos:
                fail(FieldError(f"{group}[{i}].photo", f"no photo with id {photo}"))
    if alert.kind == "amber":
        errors.extend(_amber_errors(alert))
    expires_at = alert.expires_at
    if expires_at and parse_time(expires_at) <= now:
        fail(FieldError("expires_at", "must be in the future"))
    return errors


def _amber_errors(alert: Alert) -> list[FieldError]:
    errors = []
    overridden = alert.policy_override is not None
    circumstance = alert.circumstance
    if circumstance not in AMBER_CIRCUMSTANCES and not overridden:
        why = (
            "a family abduction is a Vermist Kind Alert (kind missing_child) unless a "
            "publisher gives policy_override with a reason"
            if circumstance == "family_abduction"
            else "an AMBER Alert needs stranger_abduction or life_threatening"
        )
        errors.append(FieldError("circumstance", why))
    if not (alert.suspects or alert.vehicles or alert.last_seen):
        errors.append(FieldError(
            "suspects", "an AMBER Alert needs at least one suspect, vehicle or last_seen"))
    for i, region in enumerate(alert.regions):
        if "-" in region:
            errors.append(FieldError(
                f"regions[{i}]", "an AMBER Alert is national: use a country code such as NL"))
    return errors
