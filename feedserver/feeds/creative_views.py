"""Render endpoints: creatives by digest, a profile's current creative, and staff previews."""

from __future__ import annotations

import re

from aiohttp import web

from feedserver.appkeys import ALERTS, CONFIG, RENDERER, SIGNATURES
from feedserver.config import Profile
from feedserver.errors import ApiError, not_found
from feedserver.feeds.views import screen_view
from feedserver.formats import CONTENT_TYPES
from feedserver.http import etag_matches, json_response
from feedserver.render.creative import Creative
from feedserver.render.pool import WorkerLost
from feedserver.signing.jws import HEADER as JWS_HEADER
from feedserver.signing.jws import PUBLIC_READ

DIGEST_RE = re.compile(r"^[0-9a-f]{40}$")
IMMUTABLE = "public, max-age=31536000, immutable"
# an html creative is one self-contained page: inline styles, fonts and images, no script;
# ATM and signage pages frame it, so framing stays open
HTML_CREATIVE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                        "font-src data:; sandbox")


def _respond(
    request: web.Request,
    creative: Creative,
    digest: str,
    cache_control: str,
) -> web.Response:
    etag = f'"{digest}"'
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if etag_matches(request, etag):
        return web.Response(status=304, headers=headers)
    # signed, so a player can tell a creative a cache or proxy changed from the real one
    signature = request.app[SIGNATURES].header(creative.body, digest)
    kind = {"Content-Type": creative.content_type, JWS_HEADER: signature}
    if creative.content_type.startswith("text/html"):
        kind["Content-Security-Policy"] = HTML_CREATIVE_POLICY
    return web.Response(body=creative.body, headers={**headers, **PUBLIC_READ, **kind})


def _extension(request: web.Request) -> str:
    fmt = request.match_info["ext"]
    if fmt not in CONTENT_TYPES:
        raise not_found(f"format {fmt!r} (known: {', '.join(CONTENT_TYPES)})")
    return fmt


def _format(request: web.Request, profile: Profile) -> str:
    fmt = _extension(request)
    if fmt not in profile.formats:
        raise not_found(f"format {fmt} of profile {profile.id}")
    return fmt


async def creative_by_digest(request: web.Request) -> web.Response:
    """A creative of a published alert; no credentials, cacheable forever."""
    digest = request.match_info["digest"]
    fmt = _extension(request)
    creative = await request.app[RENDERER].get(digest) if DIGEST_RE.match(digest) else None
    if creative is None or creative.content_type != CONTENT_TYPES[fmt]:
        raise not_found(f"render {digest}")
    return _respond(request, creative, digest, IMMUTABLE)


async def current_creative(request: web.Request) -> web.Response:
    """The profile's first alert as a creative; 404 no_active_alert when the profile is idle."""
    network, profile, _, _, document = screen_view(request)
    fmt = _format(request, profile)
    if not document.entries:
        raise ApiError(404, "no_active_alert", f"no alert is shown on {network.id}/{profile.id}")
    alert = await request.app[ALERTS].get(document.entries[0]["id"])
    digest = request.app[RENDERER].job(alert, profile, fmt).digest
    creative = await request.app[RENDERER].get(digest)
    if creative is None:
        raise not_found(f"render {digest}")
    return _respond(request, creative, digest, "no-cache")


def _preview_target(request: web.Request) -> tuple[Profile, str]:
    network = request.app[CONFIG].current.network(request.match_info["network"])
    if network is None:
        raise not_found(f"network {request.match_info['network']}")
    profile = network.profile(request.match_info["profile"])
    if profile is None:
        raise not_found(f"profile {request.match_info['profile']}")
    return profile, request.match_info["alert_id"]


def _cannot_render(exc: MemoryError | WorkerLost) -> ApiError:
    """A render the workers could not finish: the server's limits, not the request, so 503."""
    # a worker that runs out of memory mid-render may die rather than raise MemoryError
    reason = ("it needs more memory than a worker may use (render.worker_memory_mb)"
              if isinstance(exc, MemoryError) else
              "its worker died twice (too little memory for this size? render.worker_memory_mb)")
    return ApiError(503, "render_unavailable", f"the creative could not be rendered: {reason}",
                    headers={"Retry-After": "10"})


async def preview_creative(request: web.Request) -> web.Response:
    """Staff: the alert in any state as the profile would get it."""
    profile, alert_id = _preview_target(request)
    fmt = _extension(request)
    alert = await request.app[ALERTS].get(alert_id)
    service = request.app[RENDERER]
    try:
        creative = await service.preview(alert, profile, fmt)
    except (MemoryError, WorkerLost) as exc:
        raise _cannot_render(exc) from exc
    return _respond(request, creative, service.job(alert, profile, fmt).digest, "private, no-cache")


async def preview_report(request: web.Request) -> web.Response:
    """Staff: the layout report of the alert on the profile (what fit, sizes, drops, contrast)."""
    profile, alert_id = _preview_target(request)
    alert = await request.app[ALERTS].get(alert_id)
    try:
        report = await request.app[RENDERER].report(alert, profile)
    except (MemoryError, WorkerLost) as exc:
        raise _cannot_render(exc) from exc
    return json_response(
        {"alert": alert.id, "version": alert.version, "profile": profile.id, **report}
    )

