"""Credentials: staff tokens with roles, and network keys for screens.

Signage players often can only be given a URL, so feed endpoints also take `?key=`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from feedserver.config import ROLES, Config, Network
from feedserver.errors import ApiError


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
        actor = request.get(SESSION_ACTOR)
        if actor is None:
            actor = self.staff.get(self._token(request, allow_query=False))
        if actor is None:
            raise ApiError(401, "unauthorized", "unknown token",
                           headers={"WWW-Authenticate": "Bearer"})
        if not actor.has(role):
            raise ApiError(403, "forbidden", f"this needs the {role} role; you are {actor.role}")
        return actor

    def screen_access(self, request: web.Request, network: Network) -> None:
        """A key of `network`, or any staff token or session (staff may look at every feed)."""
        if request.get(SESSION_ACTOR) is not None:
            return
        token = self._token(request, allow_query=True)
        owner = self.networks.get(token)
        if owner is not None:
            if owner.id != network.id:
                raise ApiError(403, "forbidden", "this key belongs to another network")
            return
        if token not in self.staff:
            raise ApiError(401, "unauthorized", "unknown key",
                           headers={"WWW-Authenticate": "Bearer"})
