"""CAP helpers: the OASIS files, an XSD check independent of the server's, element lookup."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import xmlschema
from lxml import etree

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "interop" / "fixtures"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
CAP_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def fixture(name: str) -> bytes:
    """A file from ../shared/fixtures/cap beside the clone, or the copy kept in the repo."""
    shared = REPO.parent / "shared" / "fixtures" / "cap" / name
    return (shared if shared.exists() else FIXTURES / name).read_bytes()


@cache
def oasis_schema() -> xmlschema.XMLSchema:
    """The OASIS XSD read by xmlschema, a validator independent of the server's lxml one."""
    shared = REPO.parent / "shared" / "fixtures" / "cap" / "cap12.xsd"
    path = shared if shared.exists() else REPO / "feedserver" / "interop" / "cap12.xsd"
    return xmlschema.XMLSchema(str(path))


def assert_valid_cap(body: bytes) -> etree._Element:
    """Valid against the XSD, every time with an offset and never Z; the parsed root."""
    oasis_schema().validate(io.BytesIO(body))
    root = etree.fromstring(body)
    for tag in ("sent", "expires", "effective", "onset"):
        for element in root.iter(CAP + tag):
            assert CAP_TIME_RE.match(element.text), element.text
    return root


def text(root: etree._Element, path: str) -> str | None:
    found = root.find(path.replace("cap:", CAP))
    return None if found is None else found.text

