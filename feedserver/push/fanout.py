"""Fan-out of committed events to every connected screen, never waiting for the slowest.

Each event is turned into bytes once per (network, profile, region) group and offered to each
client in one synchronous pass. A client is a small mailbox: a bounded list of shared frames
and one waiter. A client whose mailbox is full cannot keep up and is disconnected at once; it
reconnects with Last-Event-ID and catches up from the store. One timer sends keepalives to all.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from feedserver.config import Network, Profile
from feedserver.feeds.document import FeedCache, reaches
from feedserver.feeds.receipts import ReceiptBook
from feedserver.push.envelopes import dump, envelope, event_entry, sse_frame
from feedserver.store.base import Event, Store

SSE, WS = 0, 1


@dataclass(frozen=True)
class PushSettings:
    queue_limit: int = 64             # frames a client may have waiting before it is dropped
    send_buffer_bytes: int = 64 * 1024  # kernel and transport buffer per connection
    keepalive_seconds: float = 15.0
    replay_limit: int = 1000          # more missed events than this: a fresh snapshot instead


class Outgoing:
    """One message as every client of a group gets it: the same bytes, shared, per transport."""

    __slots__ = ("frames", "receipt", "seq")

    def __init__(self, seq: int | None, frames: tuple[bytes, bytes],
                 receipt: tuple[str, int] | None) -> None:
        self.seq = seq
        self.frames = frames
        self.receipt = receipt


KEEPALIVE = Outgoing(None, (b": keepalive\n\n", b""), None)


def event_message(event: Event, network: Network, profile: Profile, entry: dict) -> Outgoing:
    data = dump(envelope(event, network, profile, entry))
    return Outgoing(event.seq, (sse_frame(event.seq, event.type, data), data),
                    (entry["id"], entry["version"]))


def snapshot_message(seq: int, document: bytes) -> Outgoing:
    return Outgoing(seq, (sse_frame(seq, "snapshot", document), document), None)


class ClientGone(Exception):
    """The client was disconnected (too slow, or the server is closing)."""


class Group:
    __slots__ = ("clients", "network", "profile", "region")

    def __init__(self, network: Network, profile: Profile, region: str | None) -> None:
        self.network = network
        self.profile = profile
        self.region = region
        self.clients: set[Client] = set()


class Client:
    """A connected screen's mailbox; its connection's handler drains it."""

    __slots__ = ("_frames", "_transport", "_waiter", "closed", "group", "limit", "screen")

    def __init__(self, group: Group, screen: str | None, limit: int,
                 transport: asyncio.Transport | None) -> None:
        self.group = group
        self.screen = screen
        self.limit = limit
        self.closed = False
        self._frames: list[Outgoing] = []
        self._waiter: asyncio.Future[None] | None = None
        self._transport = transport

    def offer(self, message: Outgoing) -> bool:
        """Queue a message; False when the client is too far behind to take it."""
        if self.closed or len(self._frames) >= self.limit:
            return False
        self._frames.append(message)
        self._wake()
        return True

    def drop(self) -> None:
        """Disconnect now: abort rather than close, since a stalled peer never drains."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def take(self) -> list[Outgoing]:
        """Everything queued, waiting until there is something."""
        while not self._frames:
            if self.closed:
                raise ClientGone
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.closed:
            raise ClientGone
        batch, self._frames = self._frames, []
        return batch


class Hub:
    """Every connected push client, grouped by what they receive."""

    def __init__(self, store: Store, feeds: FeedCache, receipts: ReceiptBook,
                 settings: PushSettings, clock: Callable[[], datetime], last_seq: int) -> None:
        self.store = store
        self.feeds = feeds
        self.receipts = receipts
        self.settings = settings
        self.clock = clock
        self.last_seq = last_seq
        self.dropped = 0
        self._groups: dict[tuple[str, str, str | None], Group] = {}

    @property
    def connected(self) -> int:
        return sum(len(g.clients) for g in self._groups.values())

    def join(self, network: Network, profile: Profile, region: str | None, screen: str | None,
             transport: asyncio.Transport | None) -> Client:
        """Register a client; from now on it receives every event after `self.last_seq`."""
        key = (network.id, profile.id, region)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = Group(network, profile, region)
        if transport is not None:
            self._bound_buffers(transport)
        client = Client(group, screen, self.settings.queue_limit, transport)
        group.clients.add(client)
        return client

    def _bound_buffers(self, transport: asyncio.Transport) -> None:
        """Small buffers: an idle connection costs little, and a stalled one fills up soon."""
        size = self.settings.send_buffer_bytes
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        transport.set_write_buffer_limits(high=size)

    def leave(self, client: Client) -> None:
        client.closed = True
        group = client.group
        group.clients.discard(client)
        if not group.clients:
            self._groups.pop((group.network.id, group.profile.id, group.region), None)

    def on_change(self, alert: dict, event: Event | None) -> None:
        """The bus listener: one pass over the groups, one message per group that it reaches."""
        if event is None:
            return
        self.last_seq = event.seq
        now = self.clock()
        for group in list(self._groups.values()):
            # The profile's filters by kind, regions and test, never by status: a cancel
            # must reach exactly the screens that had the alert.
            if not reaches(event.alert, group.profile, group.region):
                continue
            entry = event_entry(event.alert, group.network, group.profile, self.feeds, now)
            self._offer(group, event_message(event, group.network, group.profile, entry))

    def _offer(self, group: Group, message: Outgoing) -> None:
        slow = [client for client in group.clients if not client.offer(message)]
        for client in slow:
            self.dropped += 1
            client.drop()
            self.leave(client)

    def keepalive(self) -> None:
        for group in list(self._groups.values()):
            self._offer(group, KEEPALIVE)

    async def run_keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.settings.keepalive_seconds)
            self.keepalive()

    def close_all(self) -> None:
        for group in list(self._groups.values()):
            for client in list(group.clients):
                client.drop()
                self.leave(client)

    async def opening(self, client: Client, since: int | None) -> list[Outgoing]:
        """What a client gets first: the events it missed, or a snapshot of the feed.

        Called right after `join`, so everything after `seq` arrives through the mailbox and
        nothing is sent twice or lost in between.
        """
        seq = self.last_seq
        group = client.group
        if since is not None and since <= seq:
            missed = await self.store.events_since(since, self.settings.replay_limit + 1)
            missed = [e for e in missed if e.seq <= seq]
            if len(missed) <= self.settings.replay_limit:
                now = self.clock()
                return [
                    event_message(e, group.network, group.profile,
                                  event_entry(e.alert, group.network, group.profile,
                                              self.feeds, now))
                    for e in missed if reaches(e.alert, group.profile, group.region)
                ]
        document = self.feeds.document(group.network, group.profile, group.region)
        if client.screen is not None:
            self.receipts.record(group.network.id, group.profile.id, client.screen,
                                 ((e["id"], e["version"]) for e in document.entries))
        body, _ = document.variant(client.screen or "")
        return [snapshot_message(seq, body)]

    def delivered(self, client: Client, batch: list[Outgoing]) -> None:
        """Receipts for what a named screen has now been sent."""
        if client.screen is None:
            return
        group = client.group
        self.receipts.record(group.network.id, group.profile.id, client.screen,
                             (m.receipt for m in batch if m.receipt is not None))
