"""`scheme: standard` webhooks, verified by the `standardwebhooks` library as a CMS would."""

from __future__ import annotations

import base64
import json

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from support.alerts import amber_alert
from support.api import publish
from support.config import config_data
from support.webhooks import serve_receiver

from feedserver.app import create_app
from feedserver.config import ConfigError, parse_config

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()


@pytest.mark.parametrize("body_format", ["json", "cap"])
async def test_deliveries_verify_with_the_standardwebhooks_library(
        aiohttp_client, aiohttp_server, tmp_path, body_format):
    receiver, url = await serve_receiver(aiohttp_server)
    data = config_data(tmp_path / "data")
    data["networks"][0]["webhook"] = {"url": url, "secret": SECRET, "scheme": "standard",
                                      "format": body_format}
    client = await aiohttp_client(create_app(parse_config(data)))
    alert = await publish(client, amber_alert())
    await receiver.wait_for(lambda: receiver.delivered)
    headers, body = receiver.delivered[0]["headers"], receiver.delivered[0]["body"]
    assert "Feedserver-Signature" not in headers
    assert headers["webhook-id"] == headers["Feedserver-Delivery"]
    Webhook(SECRET).verify(body, headers, json_parse=False)
    if body_format == "json":
        assert json.loads(body)["alert"]["id"] == alert["id"]
    tampered = body.replace(b"Fleur", b"Fleus", 1)
    assert tampered != body
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, headers, json_parse=False)
    other = "whsec_" + base64.b64encode(b"another secret, 24 bytes").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers, json_parse=False)


def test_a_standard_scheme_needs_a_whsec_secret(tmp_path):
    data = config_data(tmp_path / "data")
    data["networks"][0]["webhook"] = {"url": "https://cms.example/hook", "secret": "plain-text",
                                      "scheme": "standard"}
    with pytest.raises(ConfigError, match=r"networks\[0\]\.webhook\.secret: a Standard"):
        parse_config(data)
