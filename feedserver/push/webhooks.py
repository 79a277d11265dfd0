"""Signed webhooks from a durable outbox: every event reaches every hooked network, in order.

The store writes a network's deliveries in the event's own transaction (see `targets`), so a
crash never loses one. One sender per network posts its deliveries and retries each with
exponential backoff and jitter until the receiver answers 2xx, refuses it for good (a 4xx
other than 408 and 429, `refusal_tries` times), or the retry period (more than 24 h) has
passed. Events about one alert reach a receiver in order; a delivery that keeps failing holds
back only later ones about its own alert, and the end of an alert supersedes those (the store
gives them up as it queues the end), so a cancel is never stuck behind a refusal.

Bodies are made per format by a `BodyFormat`; `json` posts the push envelope per profile, `cap`
the CAP 1.2 message of the event's alert version once per network (built by the interop module).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from standardwebhooks import Webhook as StandardWebhook

from feedserver.alerts.model import Alert
from feedserver.config import Config, Network, Profile, Webhook, WebhookSettings
from feedserver.formats import compact_json
from feedserver.geo.reach import screen_place
from feedserver.interop.capservice import DocumentSources, cap_delivery_body
from feedserver.interop.vocabulary import CAP_CONTENT_TYPE
from feedserver.liveconfig import LiveConfig
from feedserver.push.envelopes import envelope, heard_as, heard_entry
from feedserver.signing.jws import signed_message
from feedserver.store.base import Delivery, DeliveryTargets, Event
from feedserver.tasks import wait_at_most

log = logging.getLogger(__name__)

USER_AGENT = "feedserver-webhooks/1"
CLAIM_RETRY_SECONDS = 0.5
LEASE_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class BodyFormat:
    content_type: str
    per_profile: bool  # one delivery per profile the event reaches, or one per network
    build: Callable[[DocumentSources, Event, Network, Profile | None], Awaitable[bytes]]


async def json_body(sources: DocumentSources, event: Event, network: Network,
                    profile: Profile | None) -> bytes:
    """The push envelope: the alert as this profile's feed showed it when the event happened
    (`valid_until` counts from the event), so every retry carries the same bytes; a profile
    the change took the alert away from gets its withdrawal."""
    if profile is None:
        raise ValueError("the json format needs a profile")
    heard = delivery_type(event, profile)
    entry = heard_entry(event, heard, network, profile, sources.feeds, event.at)
    return compact_json(signed_message(envelope(event, network, profile, entry, heard),
                                       sources.signing_keys.current))


FORMATS: dict[str, BodyFormat] = {
    "json": BodyFormat("application/json", True, json_body),
    "cap": BodyFormat(CAP_CONTENT_TYPE, False, cap_delivery_body),
}


def profile_heard(event: Event, profile: Profile) -> str | None:
    """What a profile's webhook hears of an event, its screens placed by the profile's
    `location`, else its `regions` (a webhook has no `?at=`)."""
    return heard_as(event, profile, screen_place(profile, None, None))


def delivery_type(event: Event, profile: Profile | None) -> str:
    """The type a delivery carries (`Feedserver-Event`); per network (CAP) it is the event's."""
    return (profile_heard(event, profile) if profile else None) or event.type


def targets(live: LiveConfig) -> DeliveryTargets:
    """For the store: which (network, profile) pairs get a delivery of an event: the profiles
    it reaches, and those it is withdrawn from, in the networks configured now."""

    def event_targets(event: Event) -> Iterator[tuple[str, str | None, str]]:
        for network in live.current.networks:
            if network.webhook is None:
                continue
            heard = [(p.id, kind) for p in network.profiles
                     if (kind := profile_heard(event, p)) is not None]
            body = FORMATS.get(network.webhook.format)
            if body is not None and body.per_profile:
                yield from ((network.id, profile, kind) for profile, kind in heard)
            elif heard:
                yield network.id, None, event.type

    return event_targets


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, as receivers verify it."""
    mac = hmac.new(secret.encode(), b"%d." % timestamp + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signature_headers(webhook: Webhook, delivery_id: str, sent_at: datetime,
                      body: bytes) -> dict[str, str]:
    """`Feedserver-Signature`, or with `scheme: standard` the Standard Webhooks headers made
    by its own library, so a CMS verifies with any `standardwebhooks` package."""
    if webhook.scheme == "standard":
        signed = StandardWebhook(webhook.secret).sign(delivery_id, sent_at, body.decode())
        return {"webhook-id": delivery_id, "webhook-timestamp": str(int(sent_at.timestamp())),
                "webhook-signature": signed}
    return {"Feedserver-Signature": signature(webhook.secret, int(sent_at.timestamp()), body)}


def backoff(attempts: int, settings: WebhookSettings, retry_after: float | None) -> float:
    """Seconds until the next try: doubling, capped, with jitter so receivers are not stormed."""
    delay = min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** (attempts - 1))
    delay = delay / 2 + random.uniform(0, delay / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.backoff_max_seconds))
    return delay


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After", "").strip()
    # ASCII digits only: "²" passes str.isdigit() but not float(); the backoff caps the value.
    return float(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


@dataclass(frozen=True)
class Outcome:
    status: int | None
    error: str | None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def refused(self) -> bool:
        """The receiver says this delivery will never be accepted (not: later, or slower)."""
        return self.status is not None and 400 <= self.status < 500 \
            and self.status not in (408, 429)


class Sender:
    """Delivers one network's outbox, oldest first, one delivery at a time."""

    def __init__(self, network: Network, body: BodyFormat, sources: DocumentSources,
                 session: aiohttp.ClientSession, settings: WebhookSettings,
                 on_failure: Callable[[str], None]) -> None:
        self.network = network
        self.on_failure = on_failure
        self.body = body
        self.sources = sources
        self.session = session
        self.settings = settings
        self.wake = asyncio.Event()
        self.stopping = False
        self.attempting: Delivery | None = None  # claimed and being posted

    async def run(self) -> None:
        """Until told to stop: an attempt under way when the stop comes is finished (posted
        and its outcome recorded), then nothing new is claimed."""
        store = self.sources.store
        while not self.stopping:
            self.wake.clear()
            try:
                # claimed (a lease, SKIP LOCKED): with several instances, each delivery is
                # sent by one of them, even while two believe they lead
                claimed = await store.claim_delivery(self.network.id, self._lease_seconds())
                if claimed is not None:
                    self.attempting = claimed
                    try:
                        await self._attempt(claimed)
                    finally:
                        self.attempting = None
                    continue
                delivery = await store.next_delivery(self.network.id, self.sources.clock())
            except Exception:
                log.exception("webhook sender for %s failed; retrying", self.network.id)
                delivery = None
            # not due yet, or due but leased to another sender: look again when it may be ours
            due_in = None if delivery is None else self._due_in(delivery)
            wait = self.settings.idle_check_seconds if due_in is None \
                else due_in if due_in > 0 else CLAIM_RETRY_SECONDS
            await wait_at_most(self.wake, wait)

    def _lease_seconds(self) -> float:
        """Long enough to post (at most `timeout_seconds`) and record the outcome, and no
        longer: a lease that lapses (its sender died) lets another sender take the delivery."""
        return self.settings.timeout_seconds + LEASE_MARGIN_SECONDS

    def _due_in(self, delivery: Delivery) -> float:
        if delivery.next_at is None:
            return 0.0
        return (delivery.next_at - self.sources.clock()).total_seconds()

    async def _attempt(self, delivery: Delivery) -> None:
        store = self.sources.store
        events = await store.events_since(delivery.seq - 1, 1)
        profile = self.network.profile(delivery.profile) if delivery.profile else None
        if not events or events[0].seq != delivery.seq or (delivery.profile and not profile):
            await store.mark_delivery(delivery.id, state="failed", at=self.sources.clock(),
                                      status=None, error="event or profile no longer exists",
                                      next_at=None)
            return
        event = events[0]
        body = await self.body.build(self.sources, event, self.network, profile)
        outcome = await self._post(delivery, event, body)
        now = self.sources.clock()
        if outcome.ok:
            await store.mark_delivery(delivery.id, state="delivered", at=now,
                                      status=outcome.status, error=None, next_at=None)
            return
        self.on_failure(self.network.id)
        attempts = delivery.attempts + 1
        expired = now - delivery.created_at >= timedelta(seconds=self.settings.retry_for_seconds)
        refused = outcome.refused and attempts >= self.settings.refusal_tries
        give_up = expired or refused
        next_at = None if give_up else now + timedelta(
            seconds=backoff(attempts, self.settings, outcome.retry_after))
        await store.mark_delivery(delivery.id, state="failed" if give_up else "pending", at=now,
                                  status=outcome.status, error=outcome.error, next_at=next_at)
        log.warning("webhook delivery %s to %s failed (attempt %d): %s", delivery.id,
                    self.network.id, attempts, outcome.error)

    async def _post(self, delivery: Delivery, event: Event, body: bytes) -> Outcome:
        webhook = self.network.webhook
        profile = self.network.profile(delivery.profile) if delivery.profile else None
        sent_at = self.sources.clock()
        headers = {
            "Content-Type": self.body.content_type,
            "User-Agent": USER_AGENT,
            "Feedserver-Event": delivery_type(event, profile),
            "Feedserver-Delivery": delivery.id,
            **signature_headers(webhook, delivery.id, sent_at, body),
        }
        try:
            async with self.session.post(
                webhook.url, data=body, headers=headers, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds),
            ) as response:
                await response.read()
                error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
                return Outcome(response.status, error, _retry_after(response.headers))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:300])


class Webhooks:
    """One sender per network with a webhook, woken by every committed event."""

    def __init__(self, sources: DocumentSources, live: LiveConfig,
                 session: aiohttp.ClientSession, settings: WebhookSettings,
                 on_failure: Callable[[str], None] = lambda network: None) -> None:
        """`on_failure` hears the network of each attempt not answered 2xx (the metrics)."""
        self.sources = sources
        self.on_failure = on_failure
        self.session = session
        self.settings = settings
        self.senders: dict[str, Sender] = {}
        self._group: asyncio.TaskGroup | None = None  # while run() runs (in the leader)
        self._idle = asyncio.Event()  # cleared while run() runs
        self._idle.set()
        self.stopping = False
        self.reconfigure(live.current)
        live.subscribe(self.reconfigure)

    def reconfigure(self, config: Config) -> None:
        """A sender per hooked network as configured now: a changed webhook (URL, secret,
        format) is used from its next attempt, a removed one's sender stops after the attempt
        under way; what is in the outbox stays there."""
        wanted = {n.id: n for n in config.networks if n.webhook is not None}
        for network_id in self.senders.keys() - wanted.keys():
            self._stop(self.senders.pop(network_id))
        for network in wanted.values():
            body = FORMATS.get(network.webhook.format)
            sender = self.senders.get(network.id)
            if sender is not None and sender.body is body:
                sender.network = network
                continue
            if sender is not None:
                self._stop(self.senders.pop(network.id))
            if body is None:
                log.error("network %s: webhook format %r is not available in this build; its "
                          "deliveries stay pending", network.id, network.webhook.format)
                continue
            sender = Sender(network, body, self.sources, self.session, self.settings,
                            self.on_failure)
            self.senders[network.id] = sender
            if self._group is not None and not self.stopping:
                self._group.create_task(sender.run(), name=f"webhooks-{network.id}")

    def on_change(self, alert: Alert, event: Event | None) -> None:
        if event is not None:
            for sender in self.senders.values():
                sender.wake.set()

    async def run(self) -> None:
        self._idle.clear()
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                for sender in self.senders.values():
                    sender.stopping = self.stopping
                    group.create_task(sender.run(), name=f"webhooks-{sender.network.id}")
        finally:
            self._group = None
            self._idle.set()

    @staticmethod
    def _stop(sender: Sender) -> None:
        sender.stopping = True
        sender.wake.set()

    def stop(self) -> None:
        """A graceful stop begins: finish the attempts under way, start no new one."""
        self.stopping = True
        for sender in self.senders.values():
            self._stop(sender)

    async def stopped(self, timeout: float) -> None:
        """Wait (at most `timeout`) for the attempts under way. One still waiting for its
        receiver then is recorded as unanswered, its lease ended, so the next leader (after
        the restart, or another instance) sends it again at once rather than when the lease
        would lapse; receivers dedupe by its id. The POST itself is cancelled after this."""
        if await wait_at_most(self._idle, timeout):
            return
        for sender in self.senders.values():
            delivery = sender.attempting
            if delivery is None:
                continue
            log.warning("webhook delivery %s to %s had no answer when the shutdown grace ended;"
                        " it is sent again after the restart", delivery.id, sender.network.id)
            try:
                await self.sources.store.mark_delivery(
                    delivery.id, state="pending", at=self.sources.clock(), status=None,
                    error="no answer before the server stopped", next_at=None)
            except Exception as exc:  # its lease lapses by itself all the same
                log.warning("could not record delivery %s as unanswered: %s", delivery.id, exc)
