"""The per-address limits: requests a minute on every route, and failed console sign-ins an
hour. Checked before a route's access check, so refused requests cost no token lookup; what
an address is counted under and against which allowance is worked out once per address."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from feedserver.config import LimitsConfig
from feedserver.errors import rate_limited
from feedserver.limits.addresses import (
    ClientAddresses,
    counted_as,
    number,
    ranges,
    remembered,
    within,
)
from feedserver.limits.allowance import Allowance
from feedserver.timeutil import Clock, utcnow

MINUTE, HOUR = 60.0, 3600.0
Rule = tuple[str, Allowance | None]  # the key an address counts under, its allowance (or none)


def seconds_of(clock: Clock) -> Callable[[], float]:
    """The clock as seconds: `time.monotonic` for the real clock (an aware datetime costs a
    few microseconds more on every request, and the wall clock may be stepped back by NTP,
    which would leave every recent address over its allowance), the injected clock's time in
    tests."""
    return time.monotonic if clock is utcnow else lambda: clock().timestamp()


class RequestLimits:
    def __init__(self, config: LimitsConfig, clock: Clock) -> None:
        self.config = config
        self.now = seconds_of(clock)
        self.addresses = ClientAddresses(config.trusted_proxies)
        self.exempt = ranges(config.exempt)
        self.per_address = Allowance(config.requests_per_minute_per_address, MINUTE)
        self.overrides = [(ranges(o.addresses), Allowance(o.requests_per_minute, MINUTE)
                           if o.requests_per_minute else None) for o in config.overrides]
        self.sign_in_failures = Allowance(config.sign_in_failures_per_hour, HOUR)
        # per (peer, X-Forwarded-For): the whole check is one lookup and one allowance
        self.rule = remembered(self._rule_of)

    def _rule_of(self, origin: tuple[str, str | None]) -> Rule:
        """What a request from `origin` (peer, X-Forwarded-For) is counted under and against
        which allowance (None: no limit)."""
        client = self.addresses.of(*origin)
        address = number(client)
        if address is None:
            return client, self.per_address
        if within(address, self.exempt):
            return client, None
        for among, allowance in self.overrides:
            if within(address, among):
                return counted_as(client), allowance
        return counted_as(client), self.per_address

    def check(self, request: web.BaseRequest) -> None:
        """One request from its address: 429 with Retry-After when over the allowance."""
        key, allowance = self.rule(origin(request))
        if allowance is None:
            return
        wait = allowance.take(key, self.now())
        if wait is not None:
            raise rate_limited(
                "limits.requests_per_minute_per_address",
                f"more than {allowance.count} requests a minute from this address", wait)

    def client(self, request: web.BaseRequest) -> str:
        """Who the request comes from, as counted (behind a trusted proxy, its client)."""
        return self.rule(origin(request))[0]

    def sign_in_wait(self, request: web.BaseRequest) -> float | None:
        """Seconds until this address may try to sign in again, or None when it may now."""
        return self.sign_in_failures.wait(self._sign_in_key(request), self.now())

    def sign_in_failed(self, request: web.BaseRequest) -> None:
        self.sign_in_failures.take(self._sign_in_key(request), self.now())

    def _sign_in_key(self, request: web.BaseRequest) -> str:
        return counted_as(self.addresses.of(*origin(request)))


def origin(request: web.BaseRequest) -> tuple[str, str | None]:
    """The connection's peer and the X-Forwarded-For it came with."""
    return request.remote or "", request.headers.get("X-Forwarded-For")
