"""`GET /v1/feeds/{network}/{profile}/player`: a reference player any kiosk browser can open.

One page, no build step: it follows the SSE stream, polls the feed document as a fallback and
to refresh `valid_until`, and takes an alert down by itself at `valid_until` when the server
is gone. The key, screen, region and at (position) of the page's URL are passed on to every request;
`rotate` sets the seconds per alert when several are active.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web

from feedserver.appkeys import CONFIG, SIGNING_KEYS
from feedserver.errors import ApiError, FieldError
from feedserver.feeds.views import screen_profile
from feedserver.http import package_files, screen_facts

ROTATE_SECONDS = 10
ROTATE_RANGE = range(1, 301)
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("feedserver.push", "templates"),
    autoescape=jinja2.select_autoescape(default=True),
)
HEADERS = {
    "Cache-Control": "no-cache",
    # The page's URL holds the network key: never send it on as a Referer to render hosts.
    "Referrer-Policy": "no-referrer",
}


def security_policy(public_url: str) -> str:
    """The page runs only the player's own script and style (no inline code); renders are
    fetched (to verify them) from the public URL, then shown from blob URLs; an html render is
    a sandboxed frame whose fonts and images are inline."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(public_url))
    return ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"connect-src 'self' {origin}; img-src blob: data:; font-src data:; frame-src blob:")


static = package_files("feedserver.push", {"player.js": "text/javascript",
                                           "player.css": "text/css"})


async def player(request: web.Request) -> web.Response:
    network, profile = screen_profile(request)
    screen_facts(request)
    rotate = request.query.get("rotate", str(ROTATE_SECONDS))
    if not (rotate.isascii() and rotate.isdigit() and int(rotate) in ROTATE_RANGE):
        raise ApiError(400, "invalid_query", "rotate: must be 1 to 300 seconds",
                       [FieldError("rotate", "must be an integer from 1 to 300")])
    passed = {name: request.query[name] for name in ("key", "screen", "region", "at")
              if name in request.query}
    feed = f"/v1/feeds/{network.id}/{profile.id}"
    query = "?" + urlencode(passed) if passed else ""
    settings = {
        "feed": feed + query,
        "events": feed + "/events" + query,
        "poll_seconds": request.app[CONFIG].current.alerts.poll_after_seconds,
        "rotate_seconds": int(rotate),
        "languages": list(profile.languages),
        # the keys this page trusts: a document or render signed by another is refused
        "keys": request.app[SIGNING_KEYS].jwks()["keys"],
        "keys_url": "/v1/keys",
    }
    page = TEMPLATES.get_template("player.html").render(
        title=f"{network.name} — {profile.id}", settings=settings)
    policy = security_policy(request.app[CONFIG].current.server.public_url)
    return web.Response(text=page, content_type="text/html", charset="utf-8",
                        headers={**HEADERS, "Content-Security-Policy": policy})
