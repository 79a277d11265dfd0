"""`feedserver serve` with a knob turned, for the poll experiments: uvloop, SO_REUSEPORT, or
no access log.

Run as `python -m bench.fs_serve [--uvloop] [--reuse-port] [--no-access-log] serve ...`.
Everything else (app, logging) is the real CLI's, so a difference in the figures is the
knob's; they are switches the lead could add to `serve` if they pay off.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys

from aiohttp import web

from feedserver import cli


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--reuse-port", action="store_true")
    parser.add_argument("--no-access-log", action="store_true")
    args, serve_args = parser.parse_known_args()
    if args.uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    # The CLI looks web.run_app up at call time, so it runs with these extra arguments.
    extra = {"reuse_port": True} if args.reuse_port else {}
    if args.no_access_log:
        extra["access_log"] = None
    web.run_app = functools.partial(web.run_app, **extra)
    return cli.main(serve_args)


if __name__ == "__main__":
    sys.exit(main())
