"""`GET /v1/networks/{network}/deliveries` (admin): the state of each webhook delivery."""

from __future__ import annotations

from aiohttp import web

from feedserver.appkeys import CONFIG, STORE
from feedserver.errors import ApiError, FieldError, not_found
from feedserver.http import json_response
from feedserver.store.base import Delivery
from feedserver.timeutil import format_time

STATES = ("pending", "delivered", "failed")
MAX_LIMIT = 1000


def _time(moment) -> str | None:
    return format_time(moment) if moment else None


def delivery_json(delivery: Delivery) -> dict:
    return {
        "id": delivery.id, "event": delivery.seq, "profile": delivery.profile,
        "state": delivery.state, "attempts": delivery.attempts,
        "created_at": _time(delivery.created_at),
        "next_attempt_at": _time(delivery.next_at) if delivery.state == "pending" else None,
        "delivered_at": _time(delivery.delivered_at),
        "last_status": delivery.last_status, "last_error": delivery.last_error,
    }


def _query(request: web.Request) -> tuple[str | None, int]:
    state = request.query.get("state")
    if state is not None and state not in STATES:
        raise ApiError(400, "invalid_query", f"state: must be one of {', '.join(STATES)}",
                       [FieldError("state", "unknown value")])
    raw = request.query.get("limit", "100")
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT):
        raise ApiError(400, "invalid_query", f"limit: must be 1 to {MAX_LIMIT}",
                       [FieldError("limit", f"must be an integer from 1 to {MAX_LIMIT}")])
    return state, int(raw)


async def list_deliveries(request: web.Request) -> web.Response:
    network = request.app[CONFIG].current.network(request.match_info["network"])
    if network is None:
        raise not_found(f"network {request.match_info['network']}")
    state, limit = _query(request)
    deliveries = await request.app[STORE].deliveries(network.id, state, limit)
    return json_response({"network": network.id,
                          "webhook": network.webhook.url if network.webhook else None,
                          "deliveries": [delivery_json(d) for d in deliveries]})
