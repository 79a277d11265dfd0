"""Running the application: aiohttp's `AppRunner` on one TCP site, screens' repeat polls first.

`web.run_app` builds its runner inside, out of reach, and the lean poll path
(`feedserver.feeds.polls`) must sit in front of the runner's request handler, ahead of the
router and the middleware chain. So this is `run_app` for one host and port, the same way:
aiohttp's runner with its signal handling (SIGINT and SIGTERM end the serving with
`GracefulExit`), then the runner's cleanup (shutdown hooks, grace for requests in flight,
`cleanup_ctx`) while the rest still runs, and only then whatever tasks are left cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import uvloop
from aiohttp import web

from feedserver.appkeys import POLLS


def answer_known_polls_first(runner: web.AppRunner) -> None:
    """Put the lean poll path in front of the application's handler: called after
    `runner.setup()` and before any site starts (tests call it on their TestServer too)."""
    server = runner.server
    assert server is not None, "the runner is set up first"
    server.request_handler = runner.app[POLLS].ahead_of(server.request_handler)


def run(app: web.Application, host: str, port: int, *, reuse_port: bool,
        announce: Callable[[str], None], **runner_options: Any) -> None:
    """Serve `app` on host:port until SIGINT or SIGTERM; errors of the start are raised."""
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(_serve(app, host, port, reuse_port, announce, runner_options))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            if not main.done():  # the runner's cleanup, with every other task still running
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):  # its errors are raised
                    loop.run_until_complete(main)
        finally:
            _cancel_the_rest(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


async def _serve(app: web.Application, host: str, port: int, reuse_port: bool,
                 announce: Callable[[str], None], runner_options: dict[str, Any]) -> None:
    runner = web.AppRunner(app, handle_signals=True, **runner_options)
    await runner.setup()
    try:
        answer_known_polls_first(runner)
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port)
        await site.start()
        announce(f"======== Running on {site.name} ========")
        await asyncio.Event().wait()  # until a signal raises GracefulExit out of the loop
    finally:
        await runner.cleanup()


def _cancel_the_rest(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler({"message": "unhandled exception during shutdown",
                                         "exception": task.exception(), "task": task})
