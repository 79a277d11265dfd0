"""The event loop a benchmarked server runs on: asyncio's default, or uvloop."""

from __future__ import annotations

import asyncio


def new_loop(*, uvloop: bool) -> asyncio.AbstractEventLoop:
    """A fresh loop; uvloop only when asked, so a missing uvloop fails loudly there and only."""
    if uvloop:
        import uvloop as _uvloop

        return _uvloop.new_event_loop()
    return asyncio.new_event_loop()
