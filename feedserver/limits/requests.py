"""The per-address limits: requests a minute on every route, and failed console sign-ins an
hour. Checked before a route's access check, so refused requests cost no token lookup."""

from __future__ import annotations

from functools import lru_cache

from aiohttp import web

from feedserver.config import LimitsConfig
from feedserver.errors import rate_limited
from feedserver.limits.addresses import ClientAddresses, counted_as, parsed, within
from feedserver.limits.allowance import Allowance
from feedserver.timeutil import Clock

MINUTE, HOUR = 60.0, 3600.0


class RequestLimits:
    def __init__(self, config: LimitsConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.addresses = ClientAddresses(config.trusted_proxies)
        self.per_address = Allowance(config.requests_per_minute_per_address, MINUTE)
        self.overrides = [(o.addresses, Allowance(o.requests_per_minute, MINUTE)
                           if o.requests_per_minute else None) for o in config.overrides]
        self.sign_in_failures = Allowance(config.sign_in_failures_per_hour, HOUR)
        self.rule = lru_cache(maxsize=65536)(self._rule)

    def _rule(self, client: str) -> tuple[str, Allowance | None]:
        """What an address is counted under and against which allowance (None: no limit)."""
        address = parsed(client)
        if address is None:
            return client, self.per_address
        if within(address, self.config.exempt):
            return client, None
        for networks, allowance in self.overrides:
            if within(address, networks):
                return counted_as(client), allowance
        return counted_as(client), self.per_address

    def check(self, request: web.BaseRequest) -> None:
        """One request from its address: 429 with Retry-After when over the allowance."""
        key, allowance = self.rule(self.addresses.of(request))
        if allowance is None:
            return
        wait = allowance.take(key, self.clock().timestamp())
        if wait is not None:
            raise rate_limited(
                "limits.requests_per_minute_per_address",
                f"more than {allowance.count} requests a minute from this address", wait)

    def sign_in_wait(self, request: web.BaseRequest) -> float | None:
        """Seconds until this address may try to sign in again, or None when it may now."""
        return self.sign_in_failures.wait(self._sign_in_key(request), self.clock().timestamp())

    def sign_in_failed(self, request: web.BaseRequest) -> None:
        self.sign_in_failures.take(self._sign_in_key(request), self.clock().timestamp())

    def _sign_in_key(self, request: web.BaseRequest) -> str:
        return counted_as(self.addresses.of(request))
