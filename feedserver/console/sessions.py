"""Console sessions: a staff token exchanged once for a signed, expiring session cookie.

Why signed rather than a table in memory: a restart (or a second worker) must not sign the
night shift out in the middle of an alert. The cookie holds a random session id, the staff
member's name and an expiry, signed with HMAC-SHA256 under a key kept in `data_dir`; the
staff member's token never leaves the sign-in request, but a digest of it is part of what is
signed, so changing a token in the config ends that member's sessions. Signing out adds the
session id to a small file in `data_dir` until the cookie would have expired anyway, so a
copied cookie is dead after sign-out, on every worker and across restarts.

Changes made with the cookie need the `X-CSRF-Token` header (derived from the session id):
another site can make a browser send the cookie, never read the token. `Authorization: Bearer`
requests are untouched.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from feedserver.auth import ACTOR, SESSION_ACTOR, Actor, Handler, _guarded
from feedserver.config import Config
from feedserver.errors import ApiError
from feedserver.liveconfig import LiveConfig

COOKIE = "feedserver_session"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME_SECONDS = 12 * 3600  # one shift
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
KEY_FILE = "console-session.key"
SIGNED_OUT_FILE = "console-signed-out.jsonl"


@dataclass(frozen=True)
class Session:
    id: str
    actor: Actor
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_key(path: Path) -> bytes:
    """The signing key, made on first start; O_EXCL so two workers agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
            out.flush()
            os.fsync(out.fileno())
    key = path.read_bytes()
    if len(key) < 32:
        raise RuntimeError(f"{path}: the console session key is shorter than 32 bytes")
    return key


class SignedOut:
    """Session ids signed out before their expiry, shared through a file in data_dir."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids: dict[str, int] = {}
        self._seen: int | None = None

    def _reload(self) -> None:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._seen:
            return
        self._seen = mtime
        now = time.time()
        for line in self.path.read_text().splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                entry = json.loads(line)
                if entry["expires"] > now:
                    self._ids[entry["id"]] = entry["expires"]

    def __contains__(self, session_id: str) -> bool:
        self._reload()
        return session_id in self._ids

    def add(self, session: Session) -> None:
        now = time.time()
        live = {sid: exp for sid, exp in self._ids.items() if exp > now}
        live[session.id] = session.expires
        lines = "".join(json.dumps({"id": sid, "expires": exp}) + "\n"
                        for sid, exp in live.items())
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(lines)
        temporary.replace(self.path)  # pruned and rewritten whole: never a torn line
        self._ids = live


class Sessions:
    def __init__(self, live: LiveConfig) -> None:
        config = live.current
        self.restaff(config)
        live.subscribe(self.restaff)
        self.key = _load_key(config.data_dir / KEY_FILE)
        self.signed_out = SignedOut(config.data_dir / SIGNED_OUT_FILE)
        self.https = config.server.public_url.startswith("https://")

    def restaff(self, config: Config) -> None:
        """The staff in force: a member removed or given a new token is signed out."""
        self.staff = {s.name: s for s in config.staff}
        self.by_token = {s.token: s for s in config.staff}

    def _mac(self, session_id: str, name: str, expires: int) -> str:
        token = self.staff[name].token.encode()
        message = f"{session_id}.{_b64(name.encode())}.{expires}.".encode()
        message += hashlib.sha256(token).digest()
        return _b64(hmac.new(self.key, message, hashlib.sha256).digest())

    def sign_in(self, token: str) -> tuple[Session, str] | None:
        """A new session and its cookie value for a staff token, or None for an unknown one."""
        staff = self.by_token.get(token)
        if staff is None:
            return None
        session = Session(secrets.token_urlsafe(18), Actor(staff.name, staff.role),
                          int(time.time()) + LIFETIME_SECONDS)
        value = ".".join((session.id, _b64(staff.name.encode()), str(session.expires),
                          self._mac(session.id, staff.name, session.expires)))
        return session, value

    def session(self, request: web.Request) -> Session | None:
        """The request's valid session, if its cookie carries one."""
        value = request.cookies.get(COOKIE)
        if not value or len(value) > 512:
            return None
        parts = value.split(".")
        if len(parts) != 4 or not (parts[2].isascii() and parts[2].isdigit()):  # not "²"
            return None
        session_id, name_b64, expires_text, mac = parts
        try:
            name = _unb64(name_b64).decode()
        except ValueError:
            return None
        expires = int(expires_text)
        if name not in self.staff or expires <= time.time():
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(session_id, name, expires).encode()):
            return None
        if session_id in self.signed_out:
            return None
        staff = self.staff[name]
        return Session(session_id, Actor(staff.name, staff.role), expires)

    def csrf_token(self, session: Session) -> str:
        return _b64(hmac.new(self.key, b"csrf." + session.id.encode(), hashlib.sha256).digest())

    def csrf_ok(self, session: Session, given: str | None) -> bool:
        # bytes: compare_digest refuses a str with non-ASCII characters (a TypeError, a 500)
        return given is not None and hmac.compare_digest(given.encode(),
                                                         self.csrf_token(session).encode())

    def set_cookie(self, response: web.StreamResponse, request: web.Request, value: str) -> None:
        response.set_cookie(COOKIE, value, max_age=LIFETIME_SECONDS, path="/", httponly=True,
                            samesite="Strict", secure=self.https or request.secure)

    def clear_cookie(self, response: web.StreamResponse, request: web.Request) -> None:
        response.del_cookie(COOKIE, path="/", httponly=True, samesite="Strict",
                            secure=self.https or request.secure)


SESSIONS = web.AppKey("sessions", Sessions)
SESSION = web.RequestKey("session", Session)


def signed_in(handler: Handler) -> Handler:
    """A console page: the staff member of a valid session at `request[ACTOR]` (and the
    session at `request[SESSION]`), else a redirect to sign in that comes back here."""

    def check(request: web.Request) -> None:
        session = request.app[SESSIONS].session(request)
        if session is None:
            raise web.HTTPSeeOther(f"/console/sign-in?next={quote(request.path_qs, safe='')}")
        request[SESSION] = session
        request[ACTOR] = session.actor

    return _guarded(handler, "console_session", check)


@web.middleware
def session_middleware(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """A console session stands in for `Authorization: Bearer` on the API, and a change made
    with it needs the CSRF header: a cookie-only change is refused.

    A plain function handing back the route's coroutine: it keeps no frame of its own on a
    request that lasts, such as a push stream (a few hundred bytes each)."""
    headers = request.headers  # screens send no cookie: their polls pass straight through
    if ("Cookie" in headers and "Authorization" not in headers
            and request.path.startswith("/v1/") and COOKIE in request.cookies):
        sessions = request.app[SESSIONS]
        session = sessions.session(request)
        if session is not None:
            if (request.method not in SAFE_METHODS
                    and not sessions.csrf_ok(session, request.headers.get(CSRF_HEADER))):
                raise ApiError(403, "csrf_failed", f"a change made with the console's session "
                               f"cookie needs the {CSRF_HEADER} header of that session")
            request[SESSION_ACTOR] = session.actor
    return handler(request)
