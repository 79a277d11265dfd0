"""Fetching images named by upstream data (national list `Media`, CAP `resource` `uri`).

Upstream text chooses the URL, so a fetch must not become a way into the server's own network:
only http(s); redirects followed by hand, a few at most, each hop checked like the first; and
every address a host name resolves to is checked by the connector's resolver right before it
connects, so a name that resolves to a public address when checked and to 127.0.0.1 when used
(DNS rebinding) cannot slip through. Loopback, private, link-local, multicast, reserved and
unspecified addresses are refused unless the URL's `host:port` is in `server.fetch_allow` or is
the origin of a configured upstream (the operator vouches for those).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from feedserver.config import Config

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchRefused(OSError):
    """The URL or an address it leads to may not be fetched; the message says why.
    An OSError, so aiohttp reports it from the resolver as a connection error."""


def host_port(host: str, port: int) -> str:
    """`host:port` as `server.fetch_allow` spells it (IPv6 in brackets, names lower-case)."""
    host = host.lower().strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class FetchRules:
    """Where fetches of upstream-named images may go besides public addresses."""

    allowed: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: Config) -> FetchRules:
        origins = set()
        for upstream in config.upstreams:
            parts = urlsplit(upstream.url)
            if parts.hostname:
                origins.add(host_port(parts.hostname,
                                      parts.port or DEFAULT_PORTS[parts.scheme.lower()]))
        return cls(frozenset(config.server.fetch_allow) | frozenset(origins))

    def check_url(self, url: URL) -> None:
        """Scheme and host; an IP-literal host is checked here (the connector skips the
        resolver for those), a name when the resolver answers."""
        if url.scheme not in DEFAULT_PORTS:
            raise FetchRefused(f"only http and https URLs are fetched, not {url.scheme or '?'}:")
        if not url.raw_host:
            raise FetchRefused("the URL has no host")
        try:
            address = ipaddress.ip_address(url.raw_host.strip("[]"))
        except ValueError:
            return
        self.check_address(url.raw_host, url.port or DEFAULT_PORTS[url.scheme], str(address))

    def check_address(self, host: str, port: int, address: str) -> None:
        if host_port(host, port) in self.allowed:
            return
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global):
            raise FetchRefused(f"{host_port(host, port)} resolves to {ip}, an address that is "
                               "not public (add it to server.fetch_allow to allow it)")


class CheckingResolver(AbstractResolver):
    """The default resolver, refusing the whole answer when any address is not allowed."""

    def __init__(self, rules: FetchRules) -> None:
        self.rules = rules
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            self.rules.check_address(host, port, result["host"])
        return results

    async def close(self) -> None:
        await self._resolver.close()


def checked_session(rules: FetchRules, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
    """A session whose every connection goes through the resolver check; no proxies from the
    environment, no cookies kept between fetches."""
    connector = aiohttp.TCPConnector(resolver=CheckingResolver(rules), limit=4,
                                     use_dns_cache=False)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False,
                                 cookie_jar=aiohttp.DummyCookieJar())


async def get_checked(session: aiohttp.ClientSession, rules: FetchRules, url: str,
                      ) -> aiohttp.ClientResponse:
    """The final response after following at most MAX_REDIRECTS redirects, each hop checked;
    the caller reads and releases it. Raises FetchRefused or aiohttp.ClientError."""
    target = URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        rules.check_url(target)
        response = await session.get(target, allow_redirects=False)
        if response.status not in REDIRECTS:
            return response
        location = response.headers.get("Location")
        response.release()
        if not location:
            raise FetchRefused(f"redirect ({response.status}) without a Location")
        target = target.join(URL(location))
    raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")
