"""`python -m bench`: run the benchmarks, print one table, put it on top of bench/RESULTS.md.

Only against 127.0.0.1; every loop is bounded in count and time (the default run takes a few
minutes, well under ten).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime

from bench import place, poll, push, results
from bench.creatives import render_rows
from bench.probe import Settings
from bench.procs import PINNING, raise_nofile
from bench.table import Row, markdown

SECTIONS = ("poll", "place", "push", "render")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", choices=SECTIONS, action="append", help="run only this section (repeatable)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one short repetition, 1k clients: to try the harness, not to quote",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    chosen = args.only or SECTIONS
    settings = Settings(seconds=1, repetitions=1) if args.quick else Settings()
    steps, publishes = ((1000,), 2) if args.quick else ((1000, 5000, 10000), 5)
    rows: list[Row] = []
    notes: list[str] = []
    for name in chosen:
        started = time.monotonic()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        match name:
            case "poll":
                rows += await poll.section(settings)
                notes.append(
                    f"poll: wrk -t1 -c64, median of {settings.repetitions} x "
                    f"{settings.seconds} s after a {settings.warmup} s warm-up"
                    + ("; servers pinned to core 0, wrk to core 1" if PINNING else "")
                )
            case "place":
                rows += await place.section(settings)
                notes.append(
                    f"place: wrk -t1 -c64, median of {settings.repetitions} x "
                    f"{settings.seconds} s; ?at= polls against plain ones on the same server"
                )
            case "push":
                rows += await push.section(steps, publishes)
                notes.append(
                    f"push: {publishes} publishes per client count, median of their "
                    "p50/p99/last; swarm on core 1, server on core 0"
                )
            case "render":
                more, note = await render_rows()
                rows += more
                notes += [note] * bool(note)
        print(f"bench: {name} took {time.monotonic() - started:.0f} s", file=sys.stderr)
    return rows, notes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    started, when = time.monotonic(), datetime.now(UTC)
    rows, notes = asyncio.run(run(args))
    table = markdown(rows)
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    entry = results.entry(
        table, when=when, command=command.strip(), seconds=time.monotonic() - started, notes=notes
    )
    print(entry)
    if not args.no_write:
        results.prepend(entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
