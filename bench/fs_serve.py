"""`feedserver serve` with one knob turned: uvloop and/or SO_REUSEPORT, for the poll experiments.

Run as `python -m bench.fs_serve [--uvloop] [--reuse-port] serve --config FILE --listen H:P`.
Everything else (app, logging, access log) is the real CLI's, so a difference in the figures
is the knob's; these are the two switches the lead would add to `serve` if they pay off.
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
    args, serve_args = parser.parse_known_args()
    if args.uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if args.reuse_port:
        # web.run_app is looked up on the module at call time, so the CLI picks this up.
        web.run_app = functools.partial(web.run_app, reuse_port=True)
    return cli.main(serve_args)


if __name__ == "__main__":
    sys.exit(main())
