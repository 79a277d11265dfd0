"""Staff endpoints for alerts: list, read, create, edit, publish, resolve, cancel, history."""

from __future__ import annotations

import re

from aiohttp import web

from feedserver.alerts.model import Alert
from feedserver.alerts.service import STATUSES, alert_etag
from feedserver.appkeys import ALERTS, CONFIG, RENDERER, STORE
from feedserver.auth import ACTOR
from feedserver.errors import FieldError, validation_failed
from feedserver.http import PATCH_TYPES, json_response, query_list, read_json


async def _answer(request: web.Request, alert: Alert, status: int = 200,
                  headers: dict | None = None) -> web.Response:
    """The alert as it stands, its warnings joined by what the layouts had to leave out, with
    its version as ETag for a later If-Match."""
    layout = [{"field": "layout", "message": text}
              for text in request.app[RENDERER].layout_warnings(alert)]
    return json_response({**alert.to_document(), "warnings": [*alert.warnings, *layout],
                          "may_not_publish": await request.app[ALERTS].may_not_publish(alert)},
                         status, {**(headers or {}), "ETag": alert_etag(alert)})


ETAG_RE = re.compile(r'"v([0-9]{1,12})"')


def if_match(request: web.Request) -> set[int] | None:
    """The versions `If-Match` accepts; None when absent or `*` (any version). Tags are
    compared strongly, so a weak or foreign tag matches nothing (412)."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    return {int(match.group(1)) for tag in raw.split(",")
            if (match := ETAG_RE.fullmatch(tag.strip()))}


async def list_alerts(request: web.Request) -> web.Response:
    statuses = query_list(request, "status", STATUSES)
    service = request.app[ALERTS]
    alerts = [{**alert.to_document(), "may_not_publish": await service.may_not_publish(alert)}
              for alert in await service.list(statuses)]
    return json_response({"alerts": alerts})


async def create_alert(request: web.Request) -> web.Response:
    actor = request[ACTOR]
    data = await read_json(request)
    alert = await request.app[ALERTS].create(data, actor)
    return await _answer(request, alert, 201, {"Location": f"/v1/alerts/{alert.id}"})


async def get_alert(request: web.Request) -> web.Response:
    return await _answer(request, await request.app[ALERTS].get(request.match_info["alert_id"]))


async def patch_alert(request: web.Request) -> web.Response:
    actor = request[ACTOR]
    patch = await read_json(request, PATCH_TYPES)
    alert = await request.app[ALERTS].patch(request.match_info["alert_id"], patch, actor,
                                            if_match=if_match(request))
    return await _answer(request, alert)


async def publish_alert(request: web.Request) -> web.Response:
    actor = request[ACTOR]
    body = await read_json(request, optional=True)
    unknown = [FieldError(key, "unknown field") for key in body if key != "policy_override"]
    if unknown:
        raise validation_failed(unknown)
    alert = await request.app[ALERTS].publish(request.match_info["alert_id"], actor,
                                              if_match=if_match(request),
                                              policy_override=body.get("policy_override"))
    return await _answer(request, alert)


async def resolve_alert(request: web.Request) -> web.Response:
    actor = request[ACTOR]
    body = await read_json(request, optional=True)
    alert = await request.app[ALERTS].resolve(request.match_info["alert_id"],
                                              body.get("message"), actor,
                                              if_match=if_match(request))
    return await _answer(request, alert)


async def cancel_alert(request: web.Request) -> web.Response:
    actor = request[ACTOR]
    body = await read_json(request)
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
        raise validation_failed([FieldError("reason", "is required: say why, in at most 2000 "
                                                      "characters")])
    alert = await request.app[ALERTS].cancel(request.match_info["alert_id"], reason.strip(), actor,
                                             if_match=if_match(request))
    return await _answer(request, alert)


async def alert_history(request: web.Request) -> web.Response:
    alert_id = request.match_info["alert_id"]
    return json_response({"alert": alert_id,
                          "history": await request.app[ALERTS].history(alert_id)})


async def alert_receipts(request: web.Request) -> web.Response:
    """The reach of the alert's latest version, per network and profile."""
    alert = await request.app[ALERTS].get(request.match_info["alert_id"])
    rows = await request.app[STORE].receipts(alert.id, alert.version)
    networks: dict[str, dict] = {}
    for row in rows:
        network = networks.setdefault(row["network"], {"network": row["network"], "screens": 0,
                                                       "profiles": []})
        network["screens"] += row["screens"]
        network["profiles"].append({"profile": row["profile"], "screens": row["screens"],
                                    "last_at": row["last_at"]})
    # past the bound a network's new screens are served but not counted (limits)
    limit = request.app[CONFIG].current.limits.screens_per_network
    for network in networks.values():
        network["screen_limit_reached"] = network["screens"] >= limit
    return json_response({"alert": alert.id, "version": alert.version,
                          "screens": sum(n["screens"] for n in networks.values()),
                          "screen_limit": limit, "networks": list(networks.values())})
