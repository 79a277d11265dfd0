"""Reading untrusted XML safely, and the OASIS CAP 1.2 schema every message is checked against.

The parser never resolves entities, never loads a DTD and never touches the network, and any
document that carries a DTD at all is refused: that rules out XXE (reading files or URLs)
and entity expansion ("billion laughs") before anything is expanded.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from lxml import etree

from feedserver.interop.vocabulary import CAP_NS, cap_time
from feedserver.timeutil import parse_time

ATOM_NS = "http://www.w3.org/2005/Atom"
TIME_TAGS = ("sent", "effective", "onset", "expires")


class CapError(Exception):
    """A message refused: the HTTP status, why, and the places (field, message) it names."""

    def __init__(self, status: int, message: str, place: str = "",
                 details: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or ([(place, message)] if place else [])

    def __reduce__(self):
        """Picklable, since messages are read in the process pool."""
        return CapError, (self.status, self.message, "", self.details)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_pis=True,
                           remove_comments=True)


@cache
def cap_schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 XSD shipped with the package (loaded once)."""
    xsd = resources.files("feedserver.interop").joinpath("cap12.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd, _parser()))


def parse_untrusted(data: bytes) -> etree._Element:
    """The document's root element; refuses malformed XML and any DTD."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise CapError(400, f"not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise CapError(400, "a DOCTYPE is not allowed: CAP messages carry no DTD or entities")
    return root


def find_cap_alert(root: etree._Element) -> etree._Element:
    """The CAP alert element: the root itself, or the one inside an Atom entry or feed."""
    if root.tag == f"{{{CAP_NS}}}alert":
        return root
    if root.tag in (f"{{{ATOM_NS}}}entry", f"{{{ATOM_NS}}}feed"):
        alerts = root.findall(f".//{{{CAP_NS}}}alert")
        if len(alerts) == 1:
            return alerts[0]
        raise CapError(422, f"the Atom document holds {len(alerts)} CAP messages; "
                            "post exactly one", "alert")
    raise CapError(422, f"the root element {root.tag!r} is not a CAP 1.2 alert "
                        f"(namespace {CAP_NS})", "alert")


def normalise_times(alert: etree._Element) -> None:
    """Rewrite `Z`, `+00:00` and fractional-second times into the form the schema accepts."""
    for tag in TIME_TAGS:
        for element in alert.iter(f"{{{CAP_NS}}}{tag}"):
            try:
                element.text = cap_time(parse_time((element.text or "").strip()))
            except ValueError:
                continue  # left as sent: the schema check names it


def validate(alert: etree._Element) -> None:
    """Check against the OASIS schema; 422 naming each place that breaks it."""
    schema = cap_schema()
    document = etree.ElementTree(etree.fromstring(etree.tostring(alert), _parser()))
    if schema.validate(document):
        return
    details = [(_place(document, entry.path) or f"line {entry.line}", entry.message)
               for entry in schema.error_log]
    raise CapError(422, f"not a valid CAP 1.2 message: {details[0][1]}", details[0][0], details)


def _place(document: etree._ElementTree, xpath: str | None) -> str | None:
    """libxml2's `/*/*[7]/*[4]` as `alert/info[0]/urgency`."""
    found = document.xpath(xpath) if xpath else None
    if not found or not isinstance(found[0], etree._Element):
        return None
    steps = []
    for element in (found[0], *found[0].iterancestors()):
        name = etree.QName(element).localname
        parent = element.getparent()
        same = parent.findall(element.tag) if parent is not None else [element]
        steps.append(f"{name}[{same.index(element)}]" if len(same) > 1 or name == "info"
                     else name)
    return "/".join(reversed(steps))
