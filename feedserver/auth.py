"""Credentials and access: staff tokens with roles, network keys for screens, and the access
each route declares in the routes table (`staff("editor", handler)`, `network_key(handler)`,
`public(handler)`), checked before its handler runs.

Signage players often can only be given a URL, so feed endpoints also take `?key=` — network
keys only: a staff token in a URL lands in page source, browser history and proxy logs, so
staff tokens count only in the `Authorization` header. Tokens are looked up by their SHA-256,
so how long a lookup takes says nothing about how much of a guess was right.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from feedserver.appkeys import CONFIG, CREDENTIALS, LIMITS
from feedserver.config import ROLES, Config, Network
from feedserver.errors import ApiError, not_found
from feedserver.liveconfig import LiveConfig


@dataclass(frozen=True)
class Actor:
    name: str
    role: str

    def has(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


SYSTEM = Actor("system", "admin")
# The staff member of a valid console session (feedserver.console.sessions checks the cookie
# and, for changes, the CSRF header, before any handler runs).
SESSION_ACTOR = web.RequestKey("session_actor", Actor)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _unknown() -> ApiError:
    return ApiError(401, "unauthorized", "unknown key", headers={"WWW-Authenticate": "Bearer"})


class Credentials:
    """Looks up who a token belongs to, in the config in force (a reload swaps the tables)."""

    def __init__(self, live: LiveConfig) -> None:
        self.reindex(live.current)
        live.subscribe(self.reindex)

    def reindex(self, config: Config) -> None:
        self.staff = {_digest(s.token): Actor(s.name, s.role) for s in config.staff}
        self.networks = {_digest(key): n for n in config.networks for key in n.keys}

    @staticmethod
    def _token(request: web.Request, allow_query: bool) -> tuple[bytes, bool]:
        """The presented token's digest, and whether it came in the URL."""
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <token>'")
            return _digest(token.strip()), False
        if allow_query and request.query.get("key"):
            return _digest(request.query["key"]), True
        raise ApiError(401, "unauthorized", "credentials required: Authorization: Bearer <token>"
                       + (" or ?key=<network key>" if allow_query else ""),
                       headers={"WWW-Authenticate": "Bearer"})

    def _staff(self, token: bytes, in_url: bool) -> Actor | None:
        return None if in_url else self.staff.get(token)

    def staff_member(self, request: web.Request, role: str) -> Actor:
        """The staff member behind the request, who must have at least `role`."""
        actor = request.get(SESSION_ACTOR)
        if actor is None:
            token, _ = self._token(request, allow_query=False)
            actor = self.staff.get(token)
        if actor is None:
            raise ApiError(401, "unauthorized", "unknown token",
                           headers={"WWW-Authenticate": "Bearer"})
        if not actor.has(role):
            raise ApiError(403, "forbidden", f"this needs the {role} role; you are {actor.role}")
        return actor

    def any_key(self, request: web.Request) -> Actor | Network:
        """The staff member or the network behind any known token, key or console session."""
        if request.get(SESSION_ACTOR) is not None:
            return request[SESSION_ACTOR]
        token, in_url = self._token(request, allow_query=True)
        found = self._staff(token, in_url) or self.networks.get(token)
        if found is None:
            raise _unknown()
        return found

    def screen_access(self, request: web.Request, network: Network | None) -> bytes:
        """A key of `network`, or any staff token or console session (staff may look at every
        feed). A `network` of None (no such network) answers as a known network does to the
        same key (401, 403), so network ids cannot be probed; only staff learn it is unknown.
        Answers what names the credential (a digest of the key or token), for per-key limits."""
        actor = request.get(SESSION_ACTOR)
        if actor is not None:
            return _digest("session:" + actor.name)  # a console session is staff
        token, in_url = self._token(request, allow_query=True)
        owner = self.networks.get(token)
        if owner is not None:
            if network is None or owner.id != network.id:
                raise ApiError(403, "forbidden", "this key belongs to another network")
            return token
        if self._staff(token, in_url) is None:
            raise _unknown()
        return token


ACTOR = web.RequestKey("actor", Actor)
"""The staff member a `staff(...)` route was called by (or an `any_key` route, by staff)."""
NETWORK = web.RequestKey("network", Network)
"""The network of a `network_key` route's path (or of the key an `any_key` route was given)."""
KEY_ID = web.RequestKey("key_id", bytes)
"""What names the credential a `network_key` route was called with (never the key itself)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guarded(handler: Handler, access: str, check: Callable[[web.Request], None]) -> Handler:
    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        request.app[LIMITS].check(request)  # before the credentials: a flood costs no lookup
        check(request)
        return await handler(request)

    guarded.access = access  # type: ignore[attr-defined]  # read by the routes-table test
    return guarded


def access_of(handler: Handler) -> str | None:
    """What a route's handler declared, or None when it declared nothing."""
    return getattr(handler, "access", None)


def staff(role: str, handler: Handler) -> Handler:
    """Staff with at least `role`; the handler finds them at `request[ACTOR]`."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def check(request: web.Request) -> None:
        request[ACTOR] = request.app[CREDENTIALS].staff_member(request, role)

    return _guarded(handler, f"staff:{role}", check)


def network_key(handler: Handler) -> Handler:
    """A key of the `{network}` in the path, or any staff token (staff may look at every feed);
    an unknown network is 404 to staff and looks like any other to a key. The handler finds
    it at `request[NETWORK]`."""

    def check(request: web.Request) -> None:
        name = request.match_info["network"]
        network = request.app[CONFIG].current.network(name)
        key_id = request.app[CREDENTIALS].screen_access(request, network)
        if network is None:  # only staff get this far
            raise not_found(f"network {name}")
        request[NETWORK] = network
        request[KEY_ID] = key_id

    return _guarded(handler, "network_key", check)


def any_key(handler: Handler) -> Handler:
    """Any network's key or any staff token: `request[ACTOR]` or `request[NETWORK]` is set."""

    def check(request: web.Request) -> None:
        found = request.app[CREDENTIALS].any_key(request)
        if isinstance(found, Actor):
            request[ACTOR] = found
        else:
            request[NETWORK] = found

    return _guarded(handler, "any_key", check)


def public(handler: Handler) -> Handler:
    """No credentials: health, the API description, and what screens fetch by unguessable URL."""
    return _guarded(handler, "public", lambda request: None)
