"""feedserver under test: a temporary config and data dir, the server process, and its API.

The server is the real `feedserver serve --config FILE --listen 127.0.0.1:PORT`, with
`--workers N` for several processes on the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import yaml
from PIL import Image, ImageDraw
from prometheus_client.parser import text_string_to_metric_families

from bench import sizes
from bench.procs import free_port, started, wait_for_text

NETWORK = "bench"
START_TIMEOUT = 120.0  # seconds; workers start side by side on a machine that may be busy
KEY = "bench-network-key"
TOKEN = "bench-publisher-token"
ADMIN_TOKEN = "bench-admin-token"  # reads /metrics
FEED_ROUTE = "/v1/feeds/{network}/{profile}"
FLUSH_WAIT = 1.2  # seconds: workers add their tallies to the shared metrics every second


def config(data_dir: Path, port: int, profiles: int, formats: tuple[str, ...]) -> dict:
    """A config with one network of `profiles` profiles (p000 is 1920x1080, each a different
    size, so each is its own render)."""
    profile = {
        "layout": "auto",
        "formats": list(formats),
        "kinds": ["amber", "missing_child"],
        "regions": ["NL"],
        "languages": ["nl", "en"],
    }
    return {
        "server": {
            "listen": f"127.0.0.1:{port}",
            "public_url": f"http://127.0.0.1:{port}",
            "data_dir": str(data_dir),
        },
        "storage": "sqlite",
        "alerts": {
            "resolved_display_seconds": 3600,
            "offline_grace_seconds": 900,
            "default_contact": {"phone": "0800-6070", "url": "https://www.politie.nl/amberalert"},
        },
        "staff": [{"name": "bench-publisher", "role": "publisher", "token": TOKEN},
                  {"name": "bench-admin", "role": "admin", "token": ADMIN_TOKEN}],
        "networks": [
            {
                "id": NETWORK,
                "name": "Bench network",
                "keys": [KEY],
                "profiles": [
                    {"id": f"p{i:03d}", "size": size, **profile}
                    for i, size in enumerate(sizes.distinct(profiles))
                ],
            }
        ],
    }


def alert_body(number: int, photo: str | None) -> dict:
    """An AMBER alert with invented data (a drawn photo, no real person)."""
    expires = (datetime.now(UTC) + timedelta(hours=12)).isoformat(timespec="seconds")
    seen = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    return {
        "kind": "amber",
        "circumstance": "stranger_abduction",
        "test": False,
        "regions": ["NL"],
        "languages": ["nl", "en"],
        "children": [
            {
                "name": f"Testkind Bench {number}",
                "age": 9,
                "sex": "female",
                "height_cm": 134,
                "description": {"nl": "Blond haar, blauwe ogen", "en": "Blond hair, blue eyes"},
                "clothing": {"nl": "Rode jas, spijkerbroek", "en": "Red coat, jeans"},
                "photo": photo,
            }
        ],
        "vehicles": [
            {
                "make": "Volkswagen",
                "model": "Golf",
                "colour": {"nl": "blauw", "en": "blue"},
                "plate": "00-BEN-1",
                "country": "NL",
            }
        ],
        "last_seen": {"place": "Utrecht, Vredenburg", "at": seen},
        "message": {"nl": "Bel 112 als u haar ziet.", "en": "Call 112 if you see her."},
        "expires_at": expires,
    }


def drawn_photo() -> bytes:
    """A 600x800 portrait-like picture drawn with Pillow."""
    image = Image.new("RGB", (600, 800), (180, 200, 220))
    draw = ImageDraw.Draw(image)
    draw.ellipse((180, 120, 420, 400), fill=(230, 190, 160))
    draw.rectangle((120, 420, 480, 800), fill=(200, 40, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class FeedServerError(RuntimeError):
    """feedserver did not start or refused a bench request."""


@dataclass
class FeedServer:
    """A running feedserver and a staff/screen client for it."""

    port: int
    pids: tuple[int, ...]
    profiles: int
    session: aiohttp.ClientSession

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def feed_url(self, profile: str = "p000", suffix: str = "") -> str:
        return self.url(f"/v1/feeds/{NETWORK}/{profile}{suffix}?key={KEY}")

    async def feed_answers(self, status: int) -> int:
        """How many GETs of a feed document the server (all its workers) answered with
        `status`, read from /metrics once every worker has added its tally (two readings
        FLUSH_WAIT apart agree)."""
        last = None
        for _ in range(10):
            async with self.session.get(self.url("/metrics"), headers={
                    "Authorization": f"Bearer {ADMIN_TOKEN}"}) as response:
                if response.status != 200:
                    raise FeedServerError(f"/metrics answered {response.status}")
                text = await response.text()
            count = sum(sample.value for family in text_string_to_metric_families(text)
                        for sample in family.samples
                        if sample.name == "feedserver_http_requests_total"
                        and sample.labels.get("route") == FEED_ROUTE
                        and sample.labels.get("method") == "GET"
                        and sample.labels.get("status") == str(status))
            if count == last:
                return int(count)
            last = count
            await asyncio.sleep(FLUSH_WAIT)
        raise FeedServerError("the feed's answer counts in /metrics never settled")

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
        async with self.session.request(
            method, self.url(path), headers=headers, **kwargs
        ) as response:
            if response.status >= 300:
                raise FeedServerError(
                    f"{method} {path}: {response.status} {(await response.text())[:300]}"
                )
            return await response.json()

    async def upload_photo(self) -> str:
        reply = await self._call(
            "POST", "/v1/photos", data=drawn_photo(), headers={"Content-Type": "image/jpeg"}
        )
        return reply["id"]

    async def create(self, number: int, photo: str | None, **fields) -> str:
        """A draft of the bench alert, `fields` replacing its own (e.g. an `area`)."""
        body = {**alert_body(number, photo), **fields}
        return (await self._call("POST", "/v1/alerts", json=body))["id"]

    async def publish(self, alert_id: str) -> None:
        await self._call("POST", f"/v1/alerts/{alert_id}/publish")

    async def publish_alerts(self, count: int, first: int = 0) -> list[str]:
        """Create and publish `count` alerts (one shared drawn photo); their ids."""
        photo = await self.upload_photo()
        ids = []
        for number in range(first, first + count):
            ids.append(await self.create(number, photo))
            await self.publish(ids[-1])
        return ids

    async def cancel(self, alert_id: str) -> None:
        await self._call("POST", f"/v1/alerts/{alert_id}/cancel", json={"reason": "bench"})


def serve_command(config_path: Path, port: int, workers: int) -> list[str]:
    """The real CLI."""
    return [str(Path(sys.executable).with_name("feedserver")), "serve", "--config",
            str(config_path), "--listen", f"127.0.0.1:{port}", "--workers", str(workers)]


@contextlib.asynccontextmanager
async def feedserver(
    workdir: Path,
    *,
    port: int | None = None,
    profiles: int = 1,
    formats: tuple[str, ...] = ("jpg",),
    cpus: str | None = None,
    workers: int = 1,
) -> AsyncIterator[FeedServer]:
    """feedserver on the config and data in `workdir` (written on first use, then reused, so
    that workers can start on data a single process published); `workers` > 1 share the port
    (`serve --workers N`: a supervisor and N processes). `--listen` overrides the config's port
    (public_url keeps the first)."""
    port = port or free_port()
    config_path = workdir / "feedserver.yaml"
    if not config_path.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        config_path.write_text(yaml.safe_dump(config(workdir / "data", port, profiles, formats)))
    log = workdir / "server.log"
    log.write_bytes(b"")
    async with contextlib.AsyncExitStack() as stack:
        proc = await stack.enter_async_context(
            started(serve_command(config_path, port, workers), cpus=cpus, log=log)
        )
        await wait_for_text(log, "Running on", proc, START_TIMEOUT, count=workers)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        yield FeedServer(port=port, pids=(proc.pid,), profiles=profiles, session=session)
