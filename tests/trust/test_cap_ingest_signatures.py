"""CAP in, verified: a signed message is checked against `cap_ingest.trusted_certs`, and
with `require_signature` an unsigned or tampered one is refused with 422 saying why.

The police's messages are signed here by signxml directly with an RSA key (not by the
server's own signing code), indented as many senders send them."""

from __future__ import annotations

import datetime as dt

import pytest
from aiohttp.test_utils import TestClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner
from support.api import auth
from support.cap import fixture
from support.config import PUBLISHER, VIEWER, config_data

from feedserver.app import create_app
from feedserver.config import parse_config


def signer(name: str) -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


POLICE = signer("Politie test-ondertekenaar")
STRANGER = signer("Someone else")


def signed(message: bytes, by: tuple[rsa.RSAPrivateKey, bytes]) -> bytes:
    root = etree.fromstring(message)
    result = XMLSigner().sign(root, key=by[0], cert=by[1].decode())
    return etree.tostring(result, xml_declaration=True, encoding="UTF-8")


def flip_one_byte(message: bytes, after: bytes) -> bytes:
    at = message.index(after) + len(after)
    return message[:at] + bytes([message[at] ^ 1]) + message[at + 1:]


@pytest.fixture
def ingest_client(aiohttp_client, tmp_path):
    async def make(**cap_ingest) -> TestClient:
        (tmp_path / "police.pem").write_bytes(POLICE[1])
        data = config_data(tmp_path / "data")
        data["cap_ingest"] = {"trusted_certs": [str(tmp_path / "police.pem")], **cap_ingest}
        return await aiohttp_client(create_app(parse_config(data)))
    return make


async def post(client: TestClient, body: bytes):
    response = await client.post("/v1/ingest/cap", data=body, headers={
        **auth(PUBLISHER), "Content-Type": "application/cap+xml"})
    return response.status, await response.json()


async def history_note(client: TestClient, alert_id: str) -> dict:
    response = await client.get(f"/v1/alerts/{alert_id}/history", headers=auth(VIEWER))
    return (await response.json())["history"][-1]["note"]


async def test_a_signed_message_is_accepted_and_the_history_names_the_signer(ingest_client):
    client = await ingest_client(require_signature=True)
    status, draft = await post(client, signed(fixture("oasis-appendix-a4-amber.xml"), POLICE))
    assert status == 201, draft
    signature = (await history_note(client, draft["id"]))["signature"]
    assert signature["signed"] and signature["verified"]
    assert signature["signer"] == "CN=Politie test-ondertekenaar"


@pytest.mark.parametrize("case", ["unsigned", "tampered", "untrusted signer"])
async def test_refused_with_422_saying_why(ingest_client, case):
    client = await ingest_client(require_signature=True)
    message = fixture("oasis-appendix-a4-amber.xml")
    body = {"unsigned": message,
            "tampered": flip_one_byte(signed(message, POLICE), b"<headline>"),
            "untrusted signer": signed(message, STRANGER)}[case]
    status, answer = await post(client, body)
    assert status == 422, answer
    why = answer["error"]["message"]
    assert {"unsigned": "not signed", "tampered": "Digest mismatch",
            "untrusted signer": "does not verify"}[case] in why
    assert answer["error"]["details"][0]["field"] == "Signature"
    listed = await client.get("/v1/alerts", headers=auth(VIEWER))
    assert (await listed.json())["alerts"] == []  # nothing half written


async def test_without_require_unsigned_passes_but_a_broken_signature_never_does(ingest_client):
    client = await ingest_client()
    message = fixture("oasis-appendix-a4-amber.xml")
    status, draft = await post(client, message)
    assert status == 201
    assert (await history_note(client, draft["id"]))["signature"] == {"signed": False}
    status, _ = await post(client, flip_one_byte(signed(message, POLICE), b"<headline>"))
    assert status == 422


def test_require_signature_without_trusted_certs_is_a_config_error(tmp_path):
    data = config_data(tmp_path / "data")
    data["cap_ingest"] = {"require_signature": True}
    with pytest.raises(ValueError, match=r"cap_ingest\.trusted_certs: require_signature needs"):
        parse_config(data)
