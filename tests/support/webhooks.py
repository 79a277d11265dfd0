"""A webhook receiver for the tests, and the checks a real receiver makes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from support.push import HOOK_SECRET


@dataclass
class Receiver:
    """A webhook endpoint that answers 503 to its first `failures` requests, and `refuse`'s
    status to every envelope `refuse` picks (a receiver that rejects one body for good); a
    failure says `Retry-After: retry_after` when that is set."""

    failures: int = 0
    retry_after: str | None = None
    refuse: Callable[[dict], int | None] = lambda envelope: None
    requests: list[dict] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        refusal = self.refuse(json.loads(body)) if request.content_type == "application/json" \
            else None
        ok = len(self.requests) >= self.failures and refusal is None
        self.requests.append({"headers": dict(request.headers), "body": body, "ok": ok})
        self.arrived.set()
        headers = {"Retry-After": self.retry_after} if self.retry_after and not ok else None
        return web.Response(status=204 if ok else refusal or 503, headers=headers)

    @property
    def delivered(self) -> list[dict]:
        return [r for r in self.requests if r["ok"]]

    async def wait_for(self, condition, timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.arrived.clear()
                await self.arrived.wait()


def verified(request: dict) -> dict:
    """The envelope, after checking the signature as a receiver would."""
    headers = request["headers"]
    parts = dict(part.split("=", 1) for part in headers["Feedserver-Signature"].split(","))
    expected = hmac.new(HOOK_SECRET.encode(), parts["t"].encode() + b"." + request["body"],
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    envelope = json.loads(request["body"])
    assert headers["Feedserver-Event"] == envelope["type"]
    assert headers["Content-Type"] == "application/json"
    return envelope


async def serve_receiver(aiohttp_server, receiver: Receiver | None = None) -> tuple[Receiver, str]:
    """A receiver on a real port (the `aiohttp_server` fixture), and its URL."""
    receiver = receiver or Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app)
    return receiver, str(server.make_url("/hook"))


class DeliveryIds:
    """A webhook receiver that records each delivery id it is sent (to count sends)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.ids.append(request.headers["Feedserver-Delivery"])
        return web.Response(status=204)
