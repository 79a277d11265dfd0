"""Mirroring upstream alert lists (the national JSON feed) into alerts.

Each configured upstream is polled with conditional requests. An entry that appears becomes
an alert (published at once in `publish` mode: the police judged it already; a draft for staff
in `draft` mode); a changed entry updates it; an entry that leaves the list, or says Cancel,
ends it (cancel: the list does not say whether the child was found). While listed, the alert's
expiry is kept a lifetime ahead, so it still leaves screens if the upstream goes silent. A
failed or malformed answer keeps the last good state, logs one line, and backs off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor

import aiohttp

from feedserver.alerts.model import Alert, Origin
from feedserver.alerts.service import DEFAULT_LIFETIME, AlertService
from feedserver.auth import Actor
from feedserver.config import Upstream
from feedserver.errors import ApiError
from feedserver.interop.fetching import FetchRules
from feedserver.interop.images import (
    ImageUnavailable,
    fetch_image,
    photo_warning,
    read_capped,
    store_image,
)
from feedserver.interop.national import Listed, Malformed, ParsedList, parse_list
from feedserver.store.base import Store
from feedserver.timeutil import Clock, format_time, parse_time

log = logging.getLogger(__name__)

MAX_LIST_BYTES = 4 * 1024 * 1024
MAX_BACKOFF_SECONDS = 900
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=10)
LIVE = ("draft", "active")
# what a poll came to, for the metrics: one of these, per upstream
OK, UNCHANGED, MALFORMED, REFUSED, UNREACHABLE, FAILED = (
    "ok", "unchanged", "malformed", "http_error", "unreachable", "failed")
Reported = Callable[[str, str], None]  # (upstream id, result)


class Poller:
    """One upstream: fetch, compare, mirror. `poll_once` is the whole job, run on a timer."""

    def __init__(self, upstream: Upstream, session: aiohttp.ClientSession, alerts: AlertService,
                 store: Store, pool: Executor, clock: Clock, fetch_rules: FetchRules,
                 report: Reported = lambda upstream, result: None) -> None:
        self.upstream = upstream
        self.report = report
        self.session = session
        self.fetch_rules = fetch_rules
        self.alerts = alerts
        self.store = store
        self.pool = pool
        self.clock = clock
        self.actor = Actor(f"upstream:{upstream.id}", "publisher")
        self.failures = 0
        self.polled = asyncio.Event()
        self._validators: dict[str, str] = {}
        self._applied: dict[str, str | None] = {}
        self._lock = asyncio.Lock()

    def ref(self, alert_id: str) -> str:
        return f"{self.upstream.id}:{alert_id}"

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception:
                log.exception("upstream %s: mirroring failed", self.upstream.id)
                self._failed("mirroring failed", FAILED)
            await asyncio.sleep(self.delay())

    def delay(self) -> float:
        """Seconds to the next poll: the interval, doubled per failure in a row, capped."""
        if not self.failures:
            return self.upstream.interval_seconds
        return min(MAX_BACKOFF_SECONDS, self.upstream.interval_seconds * 2 ** self.failures)

    async def poll_once(self) -> bool:
        """One poll; True when the upstream answered with a usable list (or 304)."""
        async with self._lock:
            try:
                parsed = await self._fetch()
                if parsed is not None:
                    await self._mirror(parsed)
            except Malformed as exc:
                return self._failed(f"malformed answer ({exc}); keeping the last good state",
                                    MALFORMED)
            except aiohttp.ClientResponseError as exc:
                return self._failed(f"answered HTTP {exc.status}; keeping the last good state",
                                    REFUSED)
            except (aiohttp.ClientError, TimeoutError) as exc:
                return self._failed(f"unreachable ({type(exc).__name__}); keeping the last "
                                    "good state", UNREACHABLE)
            finally:
                self.polled.set()
            self.failures = 0
            self.report(self.upstream.id, OK if parsed is not None else UNCHANGED)
            return True

    def _failed(self, why: str, result: str) -> bool:
        self.report(self.upstream.id, result)
        self.failures += 1
        log.warning("upstream %s: %s; retry %d", self.upstream.id, why, self.failures)
        return False

    async def _fetch(self) -> ParsedList | None:
        """The list, or None when unchanged (304). Parsed in the process pool: a list of
        4 MB takes a while to read, and the event loop serves the screens meanwhile."""
        async with self.session.get(self.upstream.url, headers=self._validators,
                                    timeout=REQUEST_TIMEOUT) as response:
            if response.status == 304:
                return None
            if response.status != 200:
                raise aiohttp.ClientResponseError(response.request_info, (),
                                                  status=response.status)
            body = await read_capped(response.content, MAX_LIST_BYTES)
            if body is None:
                raise Malformed(f"larger than {MAX_LIST_BYTES} bytes")
            loop = asyncio.get_running_loop()
            parsed = await loop.run_in_executor(self.pool, parse_list, body)
            validators = {"ETag": "If-None-Match", "Last-Modified": "If-Modified-Since"}
            self._validators = {request: response.headers[answer]
                                for answer, request in validators.items()
                                if answer in response.headers}
            return parsed

    async def _mirror(self, parsed: ParsedList) -> None:
        for skipped in parsed.skipped:
            log.warning("upstream %s: entry %s skipped: %s; its alert stays as it was",
                        self.upstream.id, skipped.alert_id, skipped.why)
        for entry in parsed.listed:
            try:
                await self._apply(entry)
            except ApiError as exc:
                log.warning("upstream %s: entry %s not mirrored: %s", self.upstream.id,
                            entry.alert_id, exc.message)
        present = {self.ref(entry.alert_id) for entry in [*parsed.listed, *parsed.skipped]}
        prefix = self.ref("")
        for alert in await self.alerts.list(LIVE):
            origin = alert.origin
            if origin.kind == "upstream" and origin.ref and origin.ref.startswith(prefix) \
                    and origin.ref not in present:
                await self.alerts.cancel(alert.id, "no longer in the upstream list",
                                         self.actor)
                self._applied.pop(origin.ref, None)

    async def _apply(self, entry: Listed) -> None:
        alerts = self.alerts
        ref = self.ref(entry.alert_id)
        alert = await alerts.find_by_origin("upstream", ref)
        if entry.cancelled:
            if alert is not None and alert.status in LIVE:
                await alerts.cancel(alert.id, "cancelled by the upstream list", self.actor)
            return
        if alert is not None and alert.status not in LIVE:
            return  # ended here (by staff, or expired): the mirror does not bring it back
        if alert is not None and self._applied.get(ref) == entry.message_id \
                and entry.message_id is not None and not self._expiry_due(alert):
            return
        children, warnings = await self._children(entry, alert)
        fields = {**entry.fields, "children": children}
        lifetime = DEFAULT_LIFETIME[fields["kind"]]
        if alert is None:
            fields["expires_at"] = format_time(self.clock() + lifetime)
            alert, created = await alerts.create_ingested(
                fields, self.actor, Origin("upstream", ref), warnings=warnings)
            if not created:
                return  # another instance mirrored it meanwhile: the next poll updates it
            if self.upstream.mode == "publish":
                await alerts.publish(alert.id, self.actor, trusted=True)
        else:
            if self._expiry_due(alert):
                fields["expires_at"] = format_time(self.clock() + lifetime)
            await alerts.patch(alert.id, fields, self.actor, lenient=True, trusted=True,
                               warnings=warnings)
        self._applied[ref] = entry.message_id

    def _expiry_due(self, alert: Alert) -> bool:
        """Less than half a lifetime left: push the expiry a lifetime ahead again."""
        if not alert.expires_at:
            return False
        left = parse_time(alert.expires_at) - self.clock()
        return left < DEFAULT_LIFETIME[alert.kind] / 2

    async def _children(self, entry: Listed, alert: Alert | None,
                        ) -> tuple[list[dict], list[dict]]:
        """The entry's children, the first with the entry's photo (kept when a fetch fails),
        and the warning when it failed."""
        children = [dict(child) for child in entry.fields["children"]]
        if not children or not entry.photo_url:
            return children, []
        try:
            children[0]["photo"] = await store_image(
                self.store, self.pool, await fetch_image(self.fetch_rules, entry.photo_url))
        except ImageUnavailable as exc:
            log.warning("upstream %s: photo of entry %s left out: %s", self.upstream.id,
                        entry.alert_id, exc)
            kept = alert.children[0].photo if alert and alert.children else None
            if kept:
                children[0]["photo"] = kept
            return children, [photo_warning("children[0].photo", exc, kept=bool(kept))]
        return children, []


@contextlib.asynccontextmanager
async def upstream_pollers(upstreams: tuple[Upstream, ...], alerts: AlertService, store: Store,
                           pool: Executor, clock: Clock, fetch_rules: FetchRules,
                           report: Reported = lambda upstream, result: None,
                           ) -> AsyncIterator[dict[str, Poller]]:
    """One poller per configured upstream, for as long as the block runs (not yet polling:
    see `run_pollers`); `report` hears what each poll came to (the metrics)."""
    async with aiohttp.ClientSession() as session:
        yield {u.id: Poller(u, session, alerts, store, pool, clock, fetch_rules, report)
               for u in upstreams}


async def run_pollers(pollers: dict[str, Poller]) -> None:
    """Poll every upstream until cancelled: run by the leading process only."""
    async with asyncio.TaskGroup() as group:
        for poller in pollers.values():
            group.create_task(poller.run(), name=f"upstream-{poller.upstream.id}")
