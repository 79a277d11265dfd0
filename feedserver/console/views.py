"""`/console`: the staff console's pages. Server-rendered Jinja2 with plain JavaScript on top
(no build step, no front-end library: the form, the wall and the dialogs need nothing that
the browser's own DOM, `fetch` and `<dialog>` do not give). Every page is CSP-strict: scripts
and styles come only from /console/static."""

from __future__ import annotations

import logging
import math
from datetime import datetime
from importlib import resources

import jinja2
from aiohttp import web

from feedserver.alerts.model import Alert
from feedserver.appkeys import ALERTS, CONFIG, LIMITS, STORE
from feedserver.config import Config
from feedserver.http import body_deadline
from feedserver.timeutil import parse_time, utcnow

from .charts import HEIGHT, WIDTH, reach_series
from .sessions import SESSION, SESSIONS, Session
from .texts import TEXTS, Words, ui_language

log = logging.getLogger(__name__)
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("feedserver.console", "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
)
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' blob: data:; connect-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
STATIC = {"console.js": "text/javascript", "console.css": "text/css"}
ENDED = ("resolved", "cancelled", "expired")
ENDED_SHOWN = 20
PERSONS = 3  # children, suspects and vehicles per alert (alerts/fields.MAX_PERSONS)


def _words(request: web.Request) -> Words:
    return Words(ui_language(request.headers.get("Accept-Language")))


def _render(request: web.Request, template: str, session: Session | None, status: int = 200,
            **context: object) -> web.Response:
    words = _words(request)
    csrf = request.app[SESSIONS].csrf_token(session) if session else ""
    page = TEMPLATES.get_template(template).render(
        t=words, lang=words.lang, session=session, csrf=csrf,
        actor=session.actor if session else None, **context)
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8",
                        headers={**HEADERS, "Content-Language": words.lang})


def _same_origin(request: web.Request) -> bool:
    """A form post from another site (login CSRF) carries its own Origin."""
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}" or \
        origin == request.app[CONFIG].current.server.public_url


def _next(request: web.Request, value: str | None) -> str:
    return value if value and value.startswith("/console") and "//" not in value else "/console"


async def sign_in_page(request: web.Request) -> web.Response:
    if request.app[SESSIONS].session(request) is not None:
        raise web.HTTPSeeOther(_next(request, request.query.get("next")))
    return _render(request, "sign_in.html", None, next=_next(request, request.query.get("next")),
                   error=None, signed_out="signed_out" in request.query)


async def sign_in(request: web.Request) -> web.Response:
    async with body_deadline(request):
        form = await request.post()
    if not _same_origin(request):
        raise web.HTTPForbidden(text="sign-in from another site refused")
    token = form.get("token")
    target = _next(request, form.get("next") if isinstance(form.get("next"), str) else None)
    if not isinstance(token, str) or not token.strip():
        return _render(request, "sign_in.html", None, status=400, next=target,
                       error=_words(request).token_missing, signed_out=False)
    # failed sign-ins per address (limits.sign_in_failures_per_hour): while paused, even a
    # right token is refused, or guessing would go on at full speed and learn when it hit
    limits = request.app[LIMITS]
    wait = limits.sign_in_wait(request)
    if wait is not None:
        log.warning("console sign-in paused for %s: too many failures", request.remote)
        retry = max(1, math.ceil(wait))
        paused = _render(request, "sign_in.html", None, status=429, next=target,
                         error=_words(request)("sign_in_paused", minutes=math.ceil(retry / 60)),
                         signed_out=False)
        paused.headers["Retry-After"] = str(retry)
        return paused
    signed = request.app[SESSIONS].sign_in(token.strip())
    if signed is None:
        limits.sign_in_failed(request)
        log.warning("console sign-in refused: unknown token from %s", request.remote)
        words = _words(request)
        return _render(request, "sign_in.html", None, status=401, next=target,
                       error=words.unknown_token, signed_out=False)
    session, cookie = signed
    log.info("console sign-in: %s (%s)", session.actor.name, session.actor.role)
    response = web.HTTPSeeOther(target)
    request.app[SESSIONS].set_cookie(response, request, cookie)
    raise response


async def sign_out(request: web.Request) -> web.Response:
    async with body_deadline(request):
        form = await request.post()
    sessions = request.app[SESSIONS]
    session = sessions.session(request)
    csrf = form.get("csrf")
    if session is not None:
        if not sessions.csrf_ok(session, csrf if isinstance(csrf, str) else None):
            raise web.HTTPForbidden(text="sign-out needs the page's CSRF token")
        sessions.signed_out.add(session)
        log.info("console sign-out: %s", session.actor.name)
    response = web.HTTPSeeOther("/console/sign-in?signed_out=1")
    sessions.clear_cookie(response, request)
    raise response


def _age(words: Words, moment: str | None, now: datetime) -> str:
    if not moment:
        return ""
    minutes = max(int((now - parse_time(moment)).total_seconds() // 60), 0)
    if minutes < 120:
        return words("ago_minutes", n=minutes)
    if minutes < 48 * 60:
        return words("ago_hours", n=minutes // 60)
    return words("ago_days", n=minutes // 1440)


async def _row(request: web.Request, alert: Alert, words: Words, now: datetime) -> dict:
    store = request.app[STORE]
    reach = await store.receipts(alert.id, alert.version)
    status = alert.status
    if status == "draft":
        since, moment = words.created, alert.created_at
    elif status == "active":
        since, moment = words.published, alert.published_at
    else:
        since, moment = words.ended_word, alert.ended_at
    series = reach_series(await store.receipts_timeline(alert.id), now) \
        if status == "active" else []
    return {
        "alert": alert,
        "headline": alert.headline.get(words.lang) or next(iter(alert.headline.values()),
                                                           alert.id),
        "status": words(f"status_{status}"),
        "age": f"{since} {_age(words, moment, now)}",
        "age_at": moment,
        "screens": sum(r["screens"] for r in reach),
        "networks": len({r["network"] for r in reach}),
        "series": series,
        "chart_label": words("chart_label", summary=", ".join(
            f"{s.network} {s.total}" for s in series)),
        "may_not_publish": await request.app[ALERTS].may_not_publish(alert),
    }


async def alerts_page(request: web.Request) -> web.Response:
    session = request[SESSION]
    words = _words(request)
    now = utcnow()
    service = request.app[ALERTS]
    groups = [
        ("active", words.active, await service.list(["active"])),
        ("drafts", words.drafts, await service.list(["draft"])),
        ("ended", words.ended, (await service.list(ENDED))[:ENDED_SHOWN]),
    ]
    sections = [(key, title, [await _row(request, a, words, now) for a in alerts])
                for key, title, alerts in groups]
    return _render(request, "alerts.html", session, sections=sections, chart_width=WIDTH,
                   chart_height=HEIGHT)


def _languages(config: Config) -> list[str]:
    """The languages the configured profiles show, Dutch first."""
    seen = ["nl"]
    for network in config.networks:
        for profile in network.profiles:
            seen.extend(lang for lang in profile.languages if lang not in seen)
    return seen


def _alert_page(request: web.Request, alert_id: str | None) -> web.Response:
    session = request[SESSION]
    config = request.app[CONFIG].current
    words = _words(request)
    languages = _languages(config)
    settings = {
        "alert": alert_id, "name": session.actor.name, "role": session.actor.role,
        "languages": languages, "texts": TEXTS[words.lang],
        "can_edit": session.actor.has("editor"), "can_publish": session.actor.has("publisher"),
    }
    return _render(request, "alert.html", session, alert_id=alert_id, languages=languages,
                   persons=range(PERSONS), networks=config.networks, settings=settings)


async def new_alert_page(request: web.Request) -> web.Response:
    return _alert_page(request, None)


async def alert_page(request: web.Request) -> web.Response:
    alert_id = request.match_info["alert_id"]
    await request.app[ALERTS].get(alert_id)  # 404 for an unknown alert
    return _alert_page(request, alert_id)


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    body = (resources.files("feedserver.console") / "static" / name).read_bytes()
    return web.Response(body=body, content_type=STATIC[name],
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

