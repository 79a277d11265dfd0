"""Who a request comes from: the peer of the connection, or behind a trusted reverse proxy the
address that proxy says it forwarded for.

X-Forwarded-For is anyone's to write, so it is read only on connections from
`limits.trusted_proxies`, from its right end (where each proxy appends the peer it saw): the
first hop that is not a trusted proxy is the client. Behind nginx (`deploy/nginx.conf` sets
`$proxy_add_x_forwarded_for`) that is the screen's address, whatever the screen itself put in
the header. IPv6 clients count per /64: one home or host holds a whole /64.

This runs on every poll, so addresses are compared as integers against precomputed ranges
(`ipaddress` objects cost microseconds each) and what was worked out once is remembered.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Hashable
from typing import TypeVar

from feedserver.config import Addresses

Number = tuple[int, int]  # (4 or 6, the address as an integer)
Ranges = tuple[tuple[int, int, int], ...]  # (version, first, last)
MEMORY = 65536  # addresses remembered; past it the memory starts afresh
K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def remembered(work_out: Callable[[K], T]) -> Callable[[K], T]:
    """`work_out` once per address, in a bounded dict (a hit costs one lookup, less than
    `functools.lru_cache` bookkeeping on every poll)."""
    memory: dict[K, T] = {}

    def lookup(key: K) -> T:
        try:
            return memory[key]
        except KeyError:
            if len(memory) >= MEMORY:
                memory.clear()
            memory[key] = work_out(key)
            return memory[key]

    return lookup


MAPPED, MAPPED_MASK = 0xFFFF << 32, (1 << 128) - (1 << 32)  # ::ffff:0:0/96


def number(text: str) -> Number | None:
    """An address as (version, integer), or None when `text` is not one; an IPv4 address
    mapped into IPv6 (a dual-stack socket's peer) is the IPv4 address."""
    text = text.strip()
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError:
        pass
    try:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET6, text.strip("[]")), "big")
    except OSError:
        return None
    return (4, value & 0xFFFFFFFF) if value & MAPPED_MASK == MAPPED else (6, value)


def ranges(networks: Addresses) -> Ranges:
    return tuple((n.version, int(n.network_address), int(n.broadcast_address))
                 for n in networks)


def within(address: Number, among: Ranges) -> bool:
    version, value = address
    return any(v == version and first <= value <= last for v, first, last in among)


class ClientAddresses:
    def __init__(self, trusted_proxies: Addresses) -> None:
        self.trusted = ranges(trusted_proxies)

    def of(self, peer: str, forwarded: str | None) -> str:
        """The client's address as text: the connection's `peer`, or, when that is a trusted
        proxy, the client its X-Forwarded-For value (`forwarded`) names."""
        address = number(peer)
        if not forwarded or address is None or not within(address, self.trusted):
            return peer
        client = peer
        for hop in reversed(forwarded.split(",")):
            address = number(hop)
            if address is None:
                break  # what lies left of a hop no proxy wrote is the client's own say
            client = hop.strip().strip("[]")
            if not within(address, self.trusted):
                break
        return client


def counted_as(client: str) -> str:
    """The key an address is counted under: itself, or its /64 for IPv6 (an IPv4 address
    mapped into IPv6 counts as the IPv4 address)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return client
