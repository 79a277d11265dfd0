"""Credentials and access: staff tokens with roles, network keys for screens, and the access
each route declares in the routes table (`staff("editor", handler)`, `network_key(handler)`,
`public(handler)`), checked before its handler runs.

Signage players often can only be given a URL, so feed endpoints also take `?key=`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from feedserver.appkeys import CONFIG, CREDENTIALS
from feedserver.config import ROLES, Config, Network
from feedserver.errors import ApiError, not_found


@dataclass(frozen=True)
class Actor:
    name: str
    role: str

    def has(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


SYSTEM = Actor("system", "admin")


class Credentials:
    """Looks up who a token belongs to; built once from the config."""

    def __init__(self, config: Config) -> None:
        self.staff = {s.token: Actor(s.name, s.role) for s in config.staff}
        self.networks = {key: n for n in config.networks for key in n.keys}

    @staticmethod
    def _token(request: web.Request, allow_query: bool) -> str:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <token>'")
            return token.strip()
        if allow_query and request.query.get("key"):
            return request.query["key"]
        raise ApiError(401, "unauthorized", "credentials required: Authorization: Bearer <token>"
                       + (" or ?key=<network key>" if allow_query else ""),
                       headers={"WWW-Authenticate": "Bearer"})

    def staff_member(self, request: web.Request, role: str) -> Actor:
        """The staff member behind the request, who must have at least `role`."""
        token = self._token(request, allow_query=False)
        actor = self.staff.get(token)
        if actor is None:
            raise ApiError(401, "unauthorized", "unknown token",
                           headers={"WWW-Authenticate": "Bearer"})
        if not actor.has(role):
            raise ApiError(403, "forbidden", f"this needs the {role} role; you are {actor.role}")
        return actor

    def any_key(self, request: web.Request) -> Actor | Network:
        """The staff member or the network behind any known token or key."""
        token = self._token(request, allow_query=True)
        found = self.staff.get(token) or self.networks.get(token)
        if found is None:
            raise ApiError(401, "unauthorized", "unknown key",
                           headers={"WWW-Authenticate": "Bearer"})
        return found

    def screen_access(self, request: web.Request, network: Network) -> None:
        """A key of `network`, or any staff token (staff may look at every feed)."""
        token = self._token(request, allow_query=True)
        owner = self.networks.get(token)
        if owner is not None:
            if owner.id != network.id:
                raise ApiError(403, "forbidden", "this key belongs to another network")
            return
        if token not in self.staff:
            raise ApiError(401, "unauthorized", "unknown key",
                           headers={"WWW-Authenticate": "Bearer"})


ACTOR = web.RequestKey("actor", Actor)
"""The staff member a `staff(...)` route was called by (or an `any_key` route, by staff)."""
NETWORK = web.RequestKey("network", Network)
"""The network of a `network_key` route's path (or of the key an `any_key` route was given)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guarded(handler: Handler, access: str, check: Callable[[web.Request], None]) -> Handler:
    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
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
    404 for an unknown network. The handler finds it at `request[NETWORK]`."""

    def check(request: web.Request) -> None:
        name = request.match_info["network"]
        network = request.app[CONFIG].network(name)
        if network is None:
            raise not_found(f"network {name}")
        request.app[CREDENTIALS].screen_access(request, network)
        request[NETWORK] = network

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
