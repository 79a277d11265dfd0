"""`python -m bench`: run the benchmarks, print one table, put it on top of bench/RESULTS.md.

Only against 127.0.0.1; every loop is bounded in count and time (the default run takes a few
minutes, well under ten). A measurement that fails or times out fails the run: exit 1, and
RESULTS.md is left as it was. `--quick` runs are for trying the harness and are never written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import traceback
from datetime import UTC, datetime

from bench import place, poll, push, render, results
from bench.probe import Settings
from bench.procs import raise_nofile
from bench.table import Row, markdown

SECTIONS = ("poll", "workers", "place", "push", "push-workers", "render")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", choices=SECTIONS, action="append", help="run only this section (repeatable)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one short repetition, 1k clients: to try the harness; never written to RESULTS.md",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> list[Row]:
    settings = Settings(seconds=1, repetitions=1) if args.quick else Settings()
    steps, publishes = ((1000,), 2) if args.quick else ((1000, 5000, 10000), 5)
    rows: list[Row] = []
    for name in args.only or SECTIONS:
        started = time.monotonic()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        match name:
            case "poll":
                rows += await poll.section(settings)
            case "workers":
                rows += await poll.workers_section(settings)
            case "place":
                rows += await place.section(settings)
            case "push":
                rows += await push.section(steps, publishes)
            case "push-workers":
                # connecting the clients takes most of it; 3 publishes keep the run short
                rows += await push.workers_section(5000 if args.quick else 50_000,
                                                   min(publishes, 3))
            case "render":
                rows += await render.section()
        print(f"bench: {name} took {time.monotonic() - started:.0f} s", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    started, when = time.monotonic(), datetime.now(UTC)
    try:
        rows = asyncio.run(run(args))
    except Exception:
        traceback.print_exc()
        print("bench: a measurement failed; RESULTS.md left as it was", file=sys.stderr)
        return 1
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    entry = results.entry(
        markdown(rows), when=when, command=command.strip(), seconds=time.monotonic() - started
    )
    print(entry)
    if args.quick:
        print("bench: a --quick run is not written to RESULTS.md", file=sys.stderr)
    elif not args.no_write:
        results.prepend(entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
