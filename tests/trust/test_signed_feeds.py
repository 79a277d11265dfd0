"""Feeds, push and renders, signed: each verifies with the JWKS at /v1/keys (checked here with
joserfc and rfc8785 directly, not with the server's own code), and one changed byte fails."""

from __future__ import annotations

import base64
import json

import rfc8785
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from support.alerts import amber_alert
from support.api import publish
from support.config import KEY_A, config_data
from support.push import SseReader
from support.webhooks import serve_receiver

from feedserver.app import create_app
from feedserver.config import parse_config

FEED = "/v1/feeds/net-a/landscape"


async def jwks(client) -> KeySet:
    return KeySet.import_key_set(await (await client.get("/v1/keys")).json())


def verifies(signature: str, payload: bytes, keys: KeySet) -> bool:
    try:
        jws.deserialize_compact(signature, keys, payload=payload)
    except BadSignatureError:
        return False
    return True


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


async def test_feed_document_and_its_renders_carry_a_detached_jws(client):
    await publish(client, amber_alert())
    keys = await jwks(client)
    response = await client.get(FEED, params={"key": KEY_A})
    body, signature = await response.read(), response.headers["Feedserver-JWS"]
    header, payload, _ = signature.split(".")
    assert payload == ""  # detached: the body is the payload
    protected = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    assert protected == {"alg": "ES256", "kid": keys.keys[0].kid}
    assert verifies(signature, body, keys)
    assert not verifies(signature, flipped(body, body.index(b"Fleur") + 1), keys)
    not_modified = await client.get(FEED, params={"key": KEY_A},
                                    headers={"If-None-Match": response.headers["ETag"]})
    assert not_modified.status == 304
    for url in json.loads(body)["alerts"][0]["renders"].values():
        render = await client.get(url.removeprefix("http://feeds.test"))
        data = await render.read()
        assert verifies(render.headers["Feedserver-JWS"], data, keys)
        assert not verifies(render.headers["Feedserver-JWS"], flipped(data, len(data) // 2), keys)


async def test_push_snapshot_and_envelopes_carry_their_jws(client):
    keys = await jwks(client)
    response = await client.get(FEED + "/events", params={"key": KEY_A})
    sse = SseReader(response)
    _, kind, snapshot = await sse.next()
    assert kind == "snapshot"
    alert = await publish(client, amber_alert())
    _, kind, envelope = await sse.next()
    assert kind == "alert.published" and envelope["alert"]["id"] == alert["id"]
    for message in (snapshot, envelope):
        signature = message.pop("jws")
        assert verifies(signature, rfc8785.dumps(message), keys)
        message["alert" if "alert" in message else "state"] = "tampered"
        assert not verifies(signature, rfc8785.dumps(message), keys)


async def test_webhook_envelopes_are_signed_too(aiohttp_client, aiohttp_server, tmp_path):
    receiver, url = await serve_receiver(aiohttp_server)
    data = config_data(tmp_path / "data")
    data["networks"][0]["webhook"] = {"url": url, "secret": "hook-secret-0001"}
    client = await aiohttp_client(create_app(parse_config(data)))
    await publish(client, amber_alert())
    await receiver.wait_for(lambda: receiver.delivered)
    envelope = json.loads(receiver.delivered[0]["body"])
    assert verifies(envelope.pop("jws"), rfc8785.dumps(envelope), await jwks(client))
