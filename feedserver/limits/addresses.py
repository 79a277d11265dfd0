"""Who a request comes from: the peer of the connection, or behind a trusted reverse proxy the
address that proxy says it forwarded for.

X-Forwarded-For is anyone's to write, so it is read only on connections from
`limits.trusted_proxies`, from its right end (where each proxy appends the peer it saw): the
first hop that is not a trusted proxy is the client. Behind nginx (`deploy/nginx.conf` sets
`$proxy_add_x_forwarded_for`) that is the screen's address, whatever the screen itself put in
the header. IPv6 clients count per /64: one home or host holds a whole /64.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from aiohttp import web

from feedserver.config import Addresses

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parsed(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def within(address: Address, networks: Addresses) -> bool:
    return any(address in network for network in networks)


class ClientAddresses:
    def __init__(self, trusted_proxies: Addresses) -> None:
        self.trusted_proxies = trusted_proxies
        self.is_proxy = lru_cache(maxsize=4096)(self._is_proxy)

    def _is_proxy(self, peer: str) -> bool:
        address = parsed(peer)
        return address is not None and within(address, self.trusted_proxies)

    def of(self, request: web.BaseRequest) -> str:
        """The client's address as text: the peer, or what trusted proxies forwarded for."""
        peer = request.remote or ""
        if not self.is_proxy(peer):
            return peer
        forwarded = request.headers.get("X-Forwarded-For")
        if not forwarded:
            return peer
        client = peer
        for hop in reversed(forwarded.split(",")):
            address = parsed(hop)
            if address is None:
                break  # what lies left of a hop no proxy wrote is the client's own say
            client = str(address)
            if not within(address, self.trusted_proxies):
                break
        return client


@lru_cache(maxsize=65536)
def counted_as(client: str) -> str:
    """The key an address is counted under: itself, or its /64 for IPv6."""
    address = parsed(client)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped) if isinstance(address, ipaddress.IPv6Address) \
        else client
