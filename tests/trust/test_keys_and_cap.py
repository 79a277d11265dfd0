"""Signed CAP out and the keys screens verify with: made on first start, kept private,
published as a JWKS, rotated with an overlap."""

from __future__ import annotations

import logging
import stat
import subprocess
import sys

import capvalidator
import pytest
import yaml
from cryptography import x509
from lxml import etree
from signxml import XMLVerifier
from support.alerts import amber_alert
from support.api import auth, publish
from support.config import KEY_A, VIEWER, config_data

from feedserver.app import create_app
from feedserver.appkeys import SIGNING_KEYS
from feedserver.config import parse_config
from feedserver.signing.jws import sign_detached, verify_detached
from feedserver.signing.keys import KeyRing, new_key_pair, ring_of

DS = "{http://www.w3.org/2000/09/xmldsig#}"


async def test_keys_are_made_on_first_start_private_and_kept(aiohttp_client, tmp_path, caplog):
    config = parse_config(config_data(tmp_path / "data"))
    with caplog.at_level(logging.WARNING, "feedserver.signing"):
        first = await aiohttp_client(create_app(config))
    ring = first.app[SIGNING_KEYS]
    assert ring.current.fingerprint in caplog.text
    key_file = tmp_path / "data" / "signing" / "current.key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    second = await aiohttp_client(create_app(config))
    assert second.app[SIGNING_KEYS].current.kid == ring.current.kid


async def test_jwks_is_public_and_names_the_current_key(client):
    response = await client.get("/v1/keys")
    assert response.status == 200
    jwks = await response.json()
    current = client.app[SIGNING_KEYS].current
    assert [k["kid"] for k in jwks["keys"]] == [current.kid]
    assert jwks["keys"][0]["kty"] == "EC" and "d" not in jwks["keys"][0]


async def test_cap_out_passes_strict_wmo_validation_and_an_independent_verify(client):
    alert = await publish(client, amber_alert())
    for url, credentials in ((f"/v1/cap/{alert['id']}.xml", {"key": KEY_A}),
                             (f"/v1/alerts/{alert['id']}/cap.xml", {})):
        response = await client.get(url, params=credentials, headers=auth(VIEWER))
        body = await response.read()
        result = capvalidator.validate_cap_message(body, strict=True)
        assert result.passed, result.message
        cert = x509.load_pem_x509_certificate(client.app[SIGNING_KEYS].current.cert_pem)
        root = etree.fromstring(body)
        verified = XMLVerifier().verify(root, x509_cert=cert)
        assert etree.QName(verified.signed_xml).localname == "alert"
        assert root[-1].tag == DS + "Signature"  # CAP 1.2: the signature is the last child


async def test_one_changed_byte_of_a_cap_message_fails_verification(client):
    alert = await publish(client, amber_alert())
    body = await (await client.get(f"/v1/cap/{alert['id']}.xml", params={"key": KEY_A})).read()
    at = body.index(b"<headline>") + len(b"<headline>")
    tampered = body[:at] + bytes([body[at] ^ 1]) + body[at + 1:]
    result = capvalidator.validate_cap_message(tampered, strict=True)
    assert not result.passed and "tampered" in result.message


async def test_the_same_alert_version_is_signed_to_the_same_bytes(client):
    """Deterministic signatures: ETags of CAP documents stay stable across requests."""
    alert = await publish(client, amber_alert())
    url = f"/v1/cap/{alert['id']}.xml"
    first = await client.get(url, params={"key": KEY_A})
    second = await client.get(url, params={"key": KEY_A})
    assert await first.read() == await second.read()
    assert first.headers["ETag"] == second.headers["ETag"]


def test_rotation_keeps_the_previous_key_in_the_jwks(tmp_path):
    """`feedserver keys rotate`: what the old key signed still verifies with the new JWKS."""
    data = config_data(tmp_path / "data")
    config_file = tmp_path / "feedserver.yaml"
    config_file.write_text(yaml.safe_dump(data))
    config = parse_config(data)

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "feedserver", "keys", *args, "--config",
                               str(config_file)], capture_output=True, text=True, check=True)
        return done.stdout

    old = ring_of(config)
    signed_before = sign_detached(b"a feed document", old.current)
    assert old.current.kid in run("show")
    run("rotate")
    rotated = ring_of(config)
    assert rotated.previous is not None and rotated.previous.kid == old.current.kid
    assert rotated.current.kid != old.current.kid
    assert [k["kid"] for k in rotated.jwks()["keys"]] == [rotated.current.kid, old.current.kid]
    assert verify_detached(signed_before, b"a feed document", rotated)
    run("rotate")
    assert not verify_detached(signed_before, b"a feed document", ring_of(config))


async def test_configured_key_and_cert_are_used(aiohttp_client, tmp_path):
    pair = new_key_pair("signing.example")
    (tmp_path / "k.pem").write_bytes(pair.private_pem)
    (tmp_path / "c.pem").write_bytes(pair.cert_pem)
    data = config_data(tmp_path / "data")
    data["signing"] = {"key": str(tmp_path / "k.pem"), "cert": str(tmp_path / "c.pem")}
    client = await aiohttp_client(create_app(parse_config(data)))
    assert client.app[SIGNING_KEYS].current.kid == pair.kid
    assert not (tmp_path / "data" / "signing").exists()
    assert verify_detached(sign_detached(b"x", pair), b"x", KeyRing(pair))


def test_a_configured_cert_of_another_key_stops_the_start(tmp_path):
    pair, other = new_key_pair("a.example"), new_key_pair("b.example")
    (tmp_path / "k.pem").write_bytes(pair.private_pem)
    (tmp_path / "c.pem").write_bytes(other.cert_pem)
    data = config_data(tmp_path / "data")
    data["signing"] = {"key": str(tmp_path / "k.pem"), "cert": str(tmp_path / "c.pem")}
    with pytest.raises(ValueError, match=r"c\.pem: the certificate is not for the key"):
        create_app(parse_config(data))
