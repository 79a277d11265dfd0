"""`feedserver serve` with SO_REUSEPORT, so several processes can share the poll port.

Run as `python -m bench.fs_serve --reuse-port serve ...`. Everything else (app, loop, logging)
is the real CLI's, so a difference in the figures is the knob's.
"""

from __future__ import annotations

import argparse
import functools
import sys

from aiohttp import web

from feedserver import cli


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reuse-port", action="store_true")
    args, serve_args = parser.parse_known_args()
    if args.reuse_port:
        # The CLI looks web.run_app up at call time, so it runs with the extra argument.
        web.run_app = functools.partial(web.run_app, reuse_port=True)
    return cli.main(serve_args)


if __name__ == "__main__":
    sys.exit(main())
