"""Push messages and webhook bodies as a running server sends them match their schemas in
openapi.yaml: SSE events (`SseEvent`, its data a `PushSnapshot` or `PushEnvelope`), WebSocket
messages (`PushMessage`) and `json` webhook bodies and headers (`webhooks: alertEvent`)."""

from __future__ import annotations

import json

import yaml
from support.openapi import SPEC_PATH, schema_at
from support.push import KEY, Staff, feed_path, open_sse

WEBHOOK = "#/webhooks/alertEvent/post"


async def test_streamed_and_posted_messages_match_their_schemas(aiohttp_client, make_app,
                                                                receiver):
    spec = yaml.safe_load(SPEC_PATH.read_text())
    hook, url = receiver
    client = await aiohttp_client(make_app(webhook_url=url))
    staff = Staff(client)
    sse = await open_sse(client, "hall")
    ws = await client.ws_connect(feed_path("hall", "/ws"), params={"key": KEY})
    delivered = 0

    async def settled(posts: int) -> None:
        """Each change reaches the receiver before the next: an end supersedes what is still
        pending about its alert, and every kind of body is to be seen."""
        nonlocal delivered
        delivered += posts
        await hook.wait_for(lambda: len(hook.delivered) == delivered)

    first = await staff.publish_new("Testkind Een")  # reaches hall and utrecht
    await settled(2)
    await staff.update(first["id"], message={"nl": "Nieuwe informatie"})
    await settled(2)
    await staff.update(first["id"], regions=["NL-UT"])  # withdrawn from hall
    await settled(2)
    second = await staff.publish_new("Testkind Twee")
    await settled(2)
    await staff.resolve(second["id"])
    await settled(2)
    third = await staff.publish_new("Testkind Drie")
    await settled(2)
    await staff.cancel(third["id"])
    await settled(2)

    expected = ["snapshot", "alert.published", "alert.updated", "alert.withdrawn",
                "alert.published", "alert.resolved", "alert.published", "alert.cancelled"]
    sse_event, envelope, snapshot = (schema_at(spec, f"#/components/schemas/{name}")
                                     for name in ("SseEvent", "PushEnvelope", "PushSnapshot"))
    heard = []
    for _ in expected:
        seq, kind, data = await sse.next()
        heard.append(kind)
        sse_event.validate({"id": str(seq), "event": kind, "data": json.dumps(data)})
        (snapshot if kind == "snapshot" else envelope).validate(data)
    assert heard == expected

    message = schema_at(spec, "#/components/schemas/PushMessage")
    messages = [await ws.receive_json(timeout=5) for _ in expected]
    for data in messages:
        message.validate(data)
    assert [m.get("type", "snapshot") for m in messages] == expected
    await ws.close()

    body = schema_at(spec, WEBHOOK + "/requestBody/content/application~1json/schema")
    headers = {p["name"]: schema_at(spec, f"{WEBHOOK}/parameters/{i}/schema")
               for i, p in enumerate(spec["webhooks"]["alertEvent"]["post"]["parameters"])}
    types = set()
    for request in hook.delivered:
        posted = json.loads(request["body"])
        body.validate(posted)
        types.add(posted["type"])
        assert request["headers"]["Content-Type"] == "application/json"
        for name, validator in headers.items():
            validator.validate(request["headers"][name])
    assert types == set(expected) - {"snapshot"}
