"""Fan-out of committed events to every connected screen, never waiting for the slowest.

Each event becomes wire bytes once per (network, profile, type heard) and goes to every
(network, profile, place) group that hears it: an SSE message as an
HTTP chunk (or plain, for HTTP/1.0 proxies) and a WebSocket text frame. One synchronous pass
writes those shared bytes straight to each client's transport: no task wakes up per client.
A transport holding more than `send_buffer_bytes` unsent is a client that cannot keep up; it
is disconnected at once and reconnects with Last-Event-ID to catch up from the store.
Keepalives go out in slices, so the whole crowd is never written to in the same instant.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime

from feedserver.alerts.model import Alert
from feedserver.config import Config, Network, Profile, PushSettings
from feedserver.errors import rate_limited
from feedserver.feeds.document import FeedCache
from feedserver.feeds.receipts import ReceiptBook
from feedserver.geo.reach import Place
from feedserver.push import frames
from feedserver.push.envelopes import (
    WEBSOCKET_PING,
    envelope,
    heard_as,
    heard_entry,
    http_chunk,
    sse_frame,
    websocket_text,
)
from feedserver.signing.jws import Signatures
from feedserver.store.base import Event, Store

log = logging.getLogger(__name__)

SSE_CHUNKED, SSE_PLAIN, WS = 0, 1, 2
KEEPALIVE_SLICES = 15
CATCH_UP_SLICE = 50  # missed events made ready between two turns of the event loop
Drain = Callable[[], Awaitable[None]]  # waits until a connection's unsent bytes went out


class Outgoing:
    """One message as every client of a group gets it, as wire bytes per kind of connection."""

    __slots__ = ("frames", "receipt")

    def __init__(self, frames: tuple[bytes, bytes, bytes],
                 receipt: tuple[str, int] | None) -> None:
        self.frames = frames
        self.receipt = receipt

    @classmethod
    def plain(cls, sse: bytes) -> Outgoing:
        """SSE bytes that are no event (a comment, a `retry:`); WebSockets get nothing."""
        return cls((http_chunk(sse), sse, b""), None)


def _message(seq: int, event_type: str, data: bytes,
             receipt: tuple[str, int] | None) -> Outgoing:
    sse = sse_frame(seq, event_type, data)
    return Outgoing((http_chunk(sse), sse, websocket_text(data)), receipt)


def event_message(event: Event, heard: str, network: Network, profile: Profile,
                  feeds: FeedCache, now: datetime, signatures: Signatures) -> Outgoing:
    """The event as this profile hears it, signed; a withdrawal is no receipt of the alert."""
    entry = heard_entry(event, heard, network, profile, feeds, now)
    receipt = (entry["id"], entry["version"]) if heard == event.type else None
    data = signatures.message(envelope(event, network, profile, entry, heard))
    return _message(event.seq, heard, data, receipt)


def snapshot_message(seq: int, document: bytes, etag: str, signatures: Signatures) -> Outgoing:
    return _message(seq, "snapshot", signatures.snapshot(document, etag), None)


_COMMENT = b": keepalive\n\n"
KEEPALIVE = Outgoing((http_chunk(_COMMENT), _COMMENT, WEBSOCKET_PING), None)
END = (b"0\r\n\r\n", b"", b"")  # what ends a stream, per kind: the last chunk, or the close


class Admission:
    """The open streams of one key (`limits.streams_per_key`), shared by its clients."""

    __slots__ = ("key_id", "open")

    def __init__(self, key_id: bytes) -> None:
        self.key_id = key_id
        self.open = 0


class Group:
    __slots__ = ("clients", "hub", "network", "place", "profile")

    def __init__(self, hub: Hub, network: Network, profile: Profile, place: Place) -> None:
        self.hub = hub
        self.network = network
        self.profile = profile
        self.place = place
        self.clients: set[Client] = set()

    def broadcast(self, message: Outgoing, limit: int) -> tuple[list[Client], list[Client]]:
        """Write the message to every live client, hold it for those still catching up.

        The loop every event runs once per connection, so it does only what must be done per
        connection: one write of bytes shared by the group. Gives back the clients that could
        not keep up (to drop) and those with a screen id (for receipts).
        """
        frames = message.frames
        stalled: list[Client] = []
        named: list[Client] = []
        for client in self.clients:
            if client.pending is None:
                transport = client.transport
                if transport.is_closing() or transport.get_write_buffer_size() > limit:
                    stalled.append(client)
                    continue
                transport.write(frames[client.kind])
            elif not client.hold(message):
                stalled.append(client)
                continue
            if client.screen is not None:
                named.append(client)
        return stalled, named


class Client(asyncio.Protocol):
    """A connected screen: its transport, and until it has caught up, what waits for it.

    A live stream needs nothing of aiohttp any more (the hub writes to its transport), so its
    connection is handed over to the client itself as its protocol (`streams.hand_over`):
    aiohttp's request, response, parser and the two tasks that held them go, about 8 KB a
    connection. What a WebSocket screen sends is read here (`frames.Reader`: pings and the
    closing handshake); nothing an SSE screen sends matters.
    """

    __slots__ = ("admission", "gone", "group", "kind", "limit", "pending", "pending_limit",
                 "reader", "screen", "slot", "transport")

    def __init__(self, group: Group, screen: str | None, transport: asyncio.Transport,
                 kind: int, slot: int, settings: PushSettings, admission: Admission) -> None:
        self.group = group
        self.screen = screen
        self.transport = transport
        self.kind = kind
        self.slot = slot
        self.limit = settings.send_buffer_bytes
        self.pending_limit = settings.queue_limit
        self.pending: list[Outgoing] | None = []
        self.gone = False  # left the hub: a catch-up under way stops
        self.admission = admission  # counts it among its key's open streams until it leaves
        self.reader: frames.Reader | None = None  # a WebSocket's, from the first bytes it sends

    def send(self, message: Outgoing) -> bool:
        """Write (or hold, while catching up); False when the client cannot keep up."""
        if self.gone:
            return False
        if self.pending is not None:
            return self.hold(message)
        return self._write(message)

    def hold(self, message: Outgoing) -> bool:
        """Keep a message for after the catch-up; False when too many are waiting."""
        assert self.pending is not None
        if len(self.pending) >= self.pending_limit:
            return False
        self.pending.append(message)
        return True

    def _write(self, message: Outgoing) -> bool:
        transport = self.transport
        if transport.is_closing() or transport.get_write_buffer_size() > self.limit:
            return False
        transport.write(message.frames[self.kind])
        return True

    async def go_live(self, opening: list[Outgoing], drain: Drain, patience: float) -> bool:
        """Write what it missed, then what arrived meanwhile; from now on, write directly.

        The catch-up goes out as fast as the client reads it: past `limit` unsent bytes, it
        waits for the transport to drain, at most `patience` seconds (else False: a client
        that reads nothing is let go). Events arriving meanwhile are held (up to
        `pending_limit`, else the hub drops the client, which then starts afresh).
        """
        transport = self.transport
        for message in opening:
            if transport.is_closing() or self.gone:
                return False
            transport.write(message.frames[self.kind])
            if transport.get_write_buffer_size() > self.limit:
                try:
                    async with asyncio.timeout(patience):
                        await drain()
                except (ConnectionError, TimeoutError):
                    return False
        if transport.is_closing() or self.gone:
            return False
        held, self.pending = self.pending or [], None
        return all(self._write(message) for message in held)

    def part(self, delay_ms: int) -> bool:
        """The goodbye of a graceful stop to a live client: come back in `delay_ms`. SSE gets
        `retry:` and the stream's proper end, a WebSocket a close frame 1012 (service restart)
        naming the delay; the connection is closed once that is written. False (nothing
        written) when the client cannot take it."""
        transport = self.transport
        if transport.is_closing() or transport.get_write_buffer_size() > self.limit:
            return False
        if self.kind == WS:
            transport.write(self._reader().close(frames.SERVICE_RESTART,
                                                 f"service restart; reconnect in {delay_ms} ms"))
        else:
            transport.write(Outgoing.plain(b"retry: %d\n\n" % delay_ms).frames[self.kind]
                            + END[self.kind])
        transport.close()
        return True

    def drop(self) -> None:
        """Disconnect now: abort rather than close, since a stalled peer never drains."""
        self.gone = True
        self.transport.abort()

    def _reader(self) -> frames.Reader:
        if self.reader is None:
            self.reader = frames.Reader()
        return self.reader

    # As the protocol of a handed-over connection: a screen only listens, and its
    # connection's end is its leaving.
    def data_received(self, data: bytes) -> None:
        if self.kind != WS:
            return
        reply, ending = self._reader().answer(data)
        transport = self.transport
        if ending:
            transport.write(reply)
            transport.close()
        elif reply and transport.get_write_buffer_size() <= self.limit:
            # (one that pings without reading gets no pong: the hub finds it stalled)
            transport.write(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.group.hub.leave(self)


class Hub:
    """Every connected push client, grouped by what they receive."""

    def __init__(self, store: Store, feeds: FeedCache, receipts: ReceiptBook,
                 signatures: Signatures, settings: PushSettings, clock: Callable[[], datetime],
                 last_seq: int, streams_per_key: int, retry_after: int) -> None:
        self.store = store
        self.feeds = feeds
        self.receipts = receipts
        self.signatures = signatures
        self.settings = settings
        self.clock = clock
        self.last_seq = last_seq
        self.dropped = 0
        self._joined = 0
        self._groups: dict[tuple[str, str, Place], Group] = {}
        self.closed = False
        self.streams_per_key = streams_per_key
        self.retry_after = retry_after  # a refused screen polls meanwhile
        self._streams: dict[bytes, Admission] = {}

    def admit(self, key_id: bytes) -> Admission:
        """One more open stream for this key, until `release` (the client's leaving); past
        `streams_per_key`, 429 with Retry-After before the stream opens (still plain JSON)."""
        admission = self._streams.get(key_id)
        if admission is None:
            admission = self._streams[key_id] = Admission(key_id)
        if admission.open >= self.streams_per_key:
            raise rate_limited("limits.streams_per_key",
                               f"{admission.open} streams are open with this key",
                               self.retry_after)
        admission.open += 1
        return admission

    def release(self, admission: Admission) -> None:
        admission.open -= 1
        if not admission.open:
            self._streams.pop(admission.key_id, None)

    @property
    def connected(self) -> int:
        return sum(len(g.clients) for g in self._groups.values())

    def streams(self) -> Iterator[tuple[str, str, int, str | None]]:
        """(network, profile, kind, screen) of every connected client, for the metrics."""
        for group in self._groups.values():
            for client in group.clients:
                yield group.network.id, group.profile.id, client.kind, client.screen

    def join(self, network: Network, profile: Profile, place: Place, screen: str | None,
             transport: asyncio.Transport, kind: int, admission: Admission) -> Client:
        """Register an admitted client; from now on it is sent every event after
        `self.last_seq`, and its leaving releases its admission."""
        key = (network.id, profile.id, place)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = Group(self, network, profile, place)
        self._bound_buffers(transport)
        self._joined += 1
        client = Client(group, screen, transport, kind, self._joined % KEEPALIVE_SLICES,
                        self.settings, admission)
        group.clients.add(client)
        return client

    def _bound_buffers(self, transport: asyncio.Transport) -> None:
        """A small kernel buffer: an idle connection costs little, a stalled one shows soon;
        the transport asks its writer to wait (pause_writing) past the same limit."""
        transport.set_write_buffer_limits(high=self.settings.send_buffer_bytes)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.settings.send_buffer_bytes)

    def leave(self, client: Client) -> None:
        """The client is gone (once, however often it is called)."""
        client.gone = True
        group = client.group
        if client not in group.clients:
            return
        group.clients.remove(client)
        self.release(client.admission)
        if not group.clients:
            self._groups.pop((group.network.id, group.profile.id, group.place), None)

    def _drop(self, clients: list[Client]) -> None:
        for client in clients:
            self.dropped += 1
            client.drop()
            self.leave(client)

    def on_change(self, alert: Alert, event: Event | None) -> None:
        """The bus listener: one pass over the groups; a message is built once per profile and
        type heard, and a group gets it when the event reaches its place."""
        if event is None:
            return
        self.last_seq = event.seq
        now = self.clock()
        messages: dict[tuple[str, str, str], Outgoing | None] = {}
        for group in list(self._groups.values()):
            # Reach by kind, place and test, never by status: a cancel must reach exactly the
            # screens that had the alert, and a narrowing tells those it leaves.
            heard = heard_as(event, group.profile, group.place)
            if heard is None:
                continue
            key = (group.network.id, group.profile.id, heard)
            if key not in messages:
                messages[key] = self._event_message(event, heard, group, now)
            message = messages[key]
            if message is None:
                self._drop(list(group.clients))
                continue
            stalled, named = group.broadcast(message, self.settings.send_buffer_bytes)
            self._drop(stalled)
            self._record(group, named, message)

    def _event_message(self, event: Event, heard: str, group: Group,
                       now: datetime) -> Outgoing | None:
        try:
            return event_message(event, heard, group.network, group.profile, self.feeds, now,
                                 self.signatures)
        except Exception:
            # The change is committed; its publisher must not get an error for it. These
            # screens are dropped, reconnect and catch up from the store.
            log.exception("could not build event %d for %s/%s", event.seq,
                          group.network.id, group.profile.id)
            return None

    def _record(self, group: Group, clients: list[Client], message: Outgoing) -> None:
        """Receipts for what named screens have now been sent."""
        if message.receipt is None:
            return
        for client in clients:
            self.receipts.record(group.network.id, group.profile.id, client.screen,
                                 (message.receipt,))

    def keepalive(self, slot: int) -> None:
        for group in list(self._groups.values()):
            self._drop([client for client in group.clients
                        if client.slot == slot and not client.send(KEEPALIVE)])

    async def run_keepalive(self) -> None:
        """Every client hears something at least every `keepalive_seconds`, one slice a tick."""
        slot = 0
        while True:
            await asyncio.sleep(self.settings.keepalive_seconds / KEEPALIVE_SLICES)
            self.keepalive(slot)
            slot = (slot + 1) % KEEPALIVE_SLICES

    def reconfigure(self, config: Config) -> None:
        """After a reload: groups take their network and profile as now configured, and their
        connections stay. Screens of a network or profile that is gone are disconnected (they
        reconnect and are refused), and so are a network's screens when one of its keys was
        withdrawn: those with a key still valid come back and catch up with Last-Event-ID."""
        for group in list(self._groups.values()):
            network = config.network(group.network.id)
            profile = network.profile(group.profile.id) if network else None
            if network is None or profile is None or set(group.network.keys) - set(network.keys):
                for client in list(group.clients):
                    client.drop()
                    self.leave(client)
            else:
                group.network, group.profile = network, profile

    def say_goodbye(self) -> None:
        """At a graceful shutdown: every screen is told to come back, each after its own delay
        within `reconnect_spread_seconds`, so thousands of screens do not return in the same
        second (`Client.part`). They reconnect with Last-Event-ID and miss nothing. A client
        that cannot take the words (a full buffer), or is still catching up, is cut off; it
        reconnects all the same."""
        self.closed = True
        spread = self.settings.reconnect_spread_seconds
        for group in list(self._groups.values()):
            for client in list(group.clients):
                delay_ms = round(random.uniform(1.0, max(1.0, spread)) * 1000)
                if client.pending is None and client.part(delay_ms):
                    self.leave(client)
                else:
                    self._drop([client])

    def close_all(self) -> None:
        """At shutdown: end every stream and take no new ones (a browser may reuse a kept-alive
        connection for its reconnect while the server waits for handlers to finish)."""
        self.closed = True
        for group in list(self._groups.values()):
            for client in list(group.clients):
                client.drop()
                self.leave(client)

    async def opening(self, client: Client, since: int | None) -> list[Outgoing]:
        """What a client gets first: the events it missed, or a snapshot of the feed.

        Called right after `join`: events after `seq` are held for the client meanwhile, so
        nothing is sent twice or lost in between.
        """
        seq = self.last_seq
        group = client.group
        if since is not None and since <= seq:
            missed = await self.store.events_since(since, self.settings.replay_limit + 1)
            missed = [e for e in missed if e.seq <= seq]
            if len(missed) <= self.settings.replay_limit:
                now = self.clock()
                replay = []
                for i, event in enumerate(missed):
                    if i and i % CATCH_UP_SLICE == 0:
                        await asyncio.sleep(0)  # each message is signed: let others in between
                    kind = heard_as(event, group.profile, group.place)
                    if kind is not None:
                        replay.append(event_message(event, kind, group.network, group.profile,
                                                    self.feeds, now, self.signatures))
                if client.screen is not None:
                    for message in replay:
                        self._record(group, [client], message)
                return replay
        document = self.feeds.document(group.network, group.profile, group.place)
        if client.screen is not None:
            self.receipts.record(group.network.id, group.profile.id, client.screen,
                                 ((e["id"], e["version"]) for e in document.entries))
        body, etag = document.variant(client.screen or "")
        return [snapshot_message(seq, body, etag, self.signatures)]

    async def go_live(self, client: Client, opening: list[Outgoing], drain: Drain) -> bool:
        """Send the opening as fast as the client takes it and switch to direct writes; False
        if the client was dropped (one that takes nothing for two keepalive periods is)."""
        if await client.go_live(opening, drain, 2 * self.settings.keepalive_seconds):
            return True
        self._drop([client])
        return False
