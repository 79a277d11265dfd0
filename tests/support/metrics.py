"""Reading `/metrics` as Prometheus does: samples by name and labels, parsed by
prometheus-client's own text parser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from support.api import auth
from support.config import ADMIN


class Scrape:
    """One exposition: `value(name, **labels)` sums the samples that carry those labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [sample for family in text_string_to_metric_families(text)
                        for sample in family.samples]

    def value(self, name: str, **labels: str) -> float:
        return sum(s.value for s in self.samples if s.name == name
                   and all(s.labels.get(k) == v for k, v in labels.items()))

    def label_values(self) -> set[str]:
        return {value for sample in self.samples for value in sample.labels.values()}


async def scrape(session: aiohttp.ClientSession | object, path: str = "/metrics",
                 token: str = ADMIN) -> Scrape:
    """GET /metrics with the admin token (a TestClient or a ClientSession with a base URL)."""
    response = await session.get(path, headers=auth(token) if token else {})
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return Scrape(await response.text())


async def scrape_until(session: aiohttp.ClientSession | object,
                       condition: Callable[[Scrape], bool], timeout: float = 15.0,
                       **kwargs: str) -> Scrape:
    """Scrape again until `condition` holds (what another task or worker does takes a
    moment to show); fails with the last scrape when it never does."""
    last = await scrape(session, **kwargs)
    try:
        async with asyncio.timeout(timeout):
            while not condition(last):
                await asyncio.sleep(0.1)
                last = await scrape(session, **kwargs)
    except TimeoutError:
        raise AssertionError(f"the metrics never got there:\n{last.text}") from None
    return last
