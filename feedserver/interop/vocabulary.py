"""The CAP 1.2 vocabulary feedserver speaks, shared by CAP out and CAP in so round trips are exact.

Structured alert fields travel as CAP `parameter`s whose `valueName` is the field's path in the
alert document (`children[0].name`, `vehicles[1].plate`, `last_seen.at`, `circumstance`).
Localised fields carry, in each `info` block, the text of that block's language; the others
are repeated in every block so that each block stands on its own. Photos travel as `resource`s
whose `resourceDesc` is the photo's path (`children[0].photo`). The kind travels as an
`eventCode` (`feedserver` = amber | missing_child; an AMBER Alert also has SAME `CAE`), the
regions as `geocode`s named `ISO3166`; a test alert has `code` `feedserver:test` besides
its status Test (a draft's status is Draft).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from feedserver.timeutil import parse_time

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_CONTENT_TYPE = "application/cap+xml"

# Per list of persons/objects: field -> "text" (localised), "int" or "str".
GROUP_FIELDS: dict[str, dict[str, str]] = {
    "children": {"name": "str", "age": "int", "sex": "str", "height_cm": "int",
                 "description": "text", "clothing": "text"},
    "suspects": {"name": "str", "description": "text"},
    "vehicles": {"make": "str", "model": "str", "colour": "text", "plate": "str",
                 "country": "str"},
}
PHOTO_GROUPS = ("children", "suspects")
LAST_SEEN_FIELDS = ("place", "at")
PARAMETER_RE = re.compile(r"^(children|suspects|vehicles)\[(\d)\]\.([a-z_]+)$")
PHOTO_DESC_RE = re.compile(r"^(children|suspects)\[(\d)\]\.photo$")

KIND_CODE_NAME = "feedserver"
SAME_CHILD_ABDUCTION = "CAE"
GEOCODE_NAME = "ISO3166"
TEST_CODE = "feedserver:test"

REGION_NAMES = {
    "NL": "Nederland", "NL-DR": "Drenthe", "NL-FL": "Flevoland", "NL-FR": "Fryslân",
    "NL-GE": "Gelderland", "NL-GR": "Groningen", "NL-LI": "Limburg", "NL-NB": "Noord-Brabant",
    "NL-NH": "Noord-Holland", "NL-OV": "Overijssel", "NL-UT": "Utrecht", "NL-ZE": "Zeeland",
    "NL-ZH": "Zuid-Holland",
}


NOT_XML_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Text without the control characters XML 1.0 cannot carry (a stray ESC from a paste)."""
    return NOT_XML_RE.sub("", text)


def message_identifier(alert_id: str, version: int) -> str:
    """One CAP message per alert version: the identifier names both, so it never changes."""
    return f"feedserver-{alert_id}-v{version}"


def cap_time(moment: datetime | str) -> str:
    """CAP's form: seconds, an explicit offset, and UTC written `-00:00` (CAP 1.2 §3.3.2)."""
    if isinstance(moment, str):
        moment = parse_time(moment.strip())
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"

