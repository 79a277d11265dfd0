"""CAP helpers: the OASIS files, an XSD check independent of the server's, element lookup,
messages as real feeds send them."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import xmlschema
from lxml import etree

from support.api import auth
from support.config import PUBLISHER

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


def message(*, msg_type="Alert", identifier="NL-POL-1", sent="2026-11-28T14:00:00Z",
            references="", infos=("nl",), expires="2026-11-29T14:00:00+00:00",
            event="Vermist Kind", status="Actual") -> bytes:
    """A Vermist Kind CAP message with one info block per language, as a police feed sends."""
    blocks = "".join(f"""
      <info><language>{lang}</language><category>Rescue</category><event>{event}</event>
        <urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
        <expires>{expires}</expires><headline>Kop {lang}</headline>
        <description>Tekst {lang}</description><contact>0800-6070</contact>
        <area><areaDesc>Utrecht</areaDesc>
          <geocode><valueName>ISO3166-2</valueName><value>NL-UT</value></geocode></area>
      </info>""" for lang in infos)
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
    <alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
      <identifier>{identifier}</identifier><sender>politie.nl</sender><sent>{sent}</sent>
      <status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}
      {blocks}
    </alert>""".encode()


def with_child_and_photo(resource: str) -> bytes:
    """A message() with one structured child and a photo resource (`<uri>` or `<derefUri>`)."""
    child = ("<parameter><valueName>children[0].name</valueName><value>Lotte Bedacht</value>"
             "</parameter><parameter><valueName>children[0].age</valueName><value>6</value>"
             "</parameter>")
    photo = (f"<resource><resourceDesc>children[0].photo</resourceDesc>"
             f"<mimeType>image/jpeg</mimeType>{resource}</resource>")
    return message().replace(b"<area>", (child + photo).encode() + b"<area>")


async def ingest(client, body: bytes, status: int, content_type: str = "application/cap+xml"):
    """POST the message to /v1/ingest/cap as the publisher; the answer, its status checked."""
    response = await client.post("/v1/ingest/cap", data=body,
                                 headers={**auth(PUBLISHER), "Content-Type": content_type})
    answer = await response.json()
    assert response.status == status, answer
    return answer
