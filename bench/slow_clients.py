"""`python -m bench.slow_clients`: what slow-header and slow-body clients do to a server.

Starts `feedserver serve` on 127.0.0.1, measures screen polls alone, then opens `--slow`
connections that send their headers a byte every two seconds and `--slow-bodies` that send a
body the same way, measures the polls again while they are held, and follows each slow
connection until the server cuts it off or `--seconds` pass. Prints when they were cut off,
the polls' latency and failures, and the server's open files and memory meanwhile.

Not part of `python -m bench` (it waits for deadlines rather than measuring speed). The
`limits` section is written only when `--limits` is given, so the same command measures a
server from before the limits: `PYTHONPATH=/path/to/old/checkout python -m bench.slow_clients`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

from bench.procs import free_port, raise_nofile, wait_for_port
from bench.stats import median, percentile

KEY = "bench-network-key"
EDITOR = "bench-editor-token"
HEADER = b"GET /healthz HTTP/1.1\r\nHost: feeds.test\r\nX-Padding: " + b"a" * 4000 + b"\r\n\r\n"
BODY = 10_000


def config(data_dir: Path, limits: dict | None) -> dict:
    data = {
        "server": {"data_dir": str(data_dir)},
        "staff": [{"name": "bench-editor", "role": "editor", "token": EDITOR}],
        "networks": [{"id": "bench", "name": "Bench", "keys": [KEY],
                      "profiles": [{"id": "landscape", "size": "1920x1080"}]}],
    }
    if limits is not None:
        data["limits"] = limits
    return data


async def polls(url: str, count: int) -> tuple[list[float], int]:
    """`count` sequential polls: their latencies (s) and how many failed."""
    times, failed = [], 0
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(count):
            start = time.perf_counter()
            try:
                async with session.get(url, params={"key": KEY}) as response:
                    await response.read()
                    failed += response.status != 200
            except (aiohttp.ClientError, TimeoutError):
                failed += 1
            times.append(time.perf_counter() - start)
    return times, failed


class Slow:
    """One connection sending `head` at once, then trickling `data` a byte every two seconds
    until the server hangs up."""

    def __init__(self, data: bytes, head: bytes = b"") -> None:
        self.head = head
        self.data = data
        self.cut_after: float | None = None

    async def run(self, port: int, until: float) -> None:
        start = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            self.cut_after = 0.0  # refused at once
            return
        with contextlib.suppress(ConnectionError):
            writer.write(self.head)
            for byte in self.data:
                if time.monotonic() > until:
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2):
                        if not await reader.read(65536) or reader.at_eof():
                            break
            else:
                return
        if time.monotonic() <= until:
            self.cut_after = time.monotonic() - start
        writer.close()


def state_line(name: str, pid: int) -> str:
    """Open files and resident memory of the server process."""
    files = len(os.listdir(f"/proc/{pid}/fd"))
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return f"{name}: {files} open files, {rss // 1024} MiB resident"


def summary(name: str, slow: list[Slow], seconds: float) -> str:
    cut = [s.cut_after for s in slow if s.cut_after is not None]
    held = len(slow) - len(cut)
    return (f"{name}: {len(slow)} connections, {len(cut)} cut off (median after "
            f"{median(cut) or 0:.1f} s, last after {max(cut, default=0):.1f} s), "
            f"{held} still open after {seconds:.0f} s")


def poll_line(name: str, times: list[float], failed: int) -> str:
    return (f"{name}: {len(times)} polls, p50 {1000 * (median(times) or 0):.1f} ms, "
            f"p99 {1000 * (percentile(times, 99) or 0):.1f} ms, {failed} failed")


async def measure(args: argparse.Namespace) -> None:
    raise_nofile()
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        path = Path(workdir) / "feedserver.yaml"
        limits = json.loads(args.limits) if args.limits else None
        path.write_text(yaml.safe_dump(config(Path(workdir) / "data", limits)))
        log = (Path(workdir) / "server.log").open("wb")
        server = subprocess.Popen([sys.executable, "-m", "feedserver", "serve", "--config",
                                   str(path), "--listen", f"127.0.0.1:{port}"],
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            await wait_for_port(port, 60)
            url = f"http://127.0.0.1:{port}/v1/feeds/bench/landscape"
            print(poll_line("polls alone", *await polls(url, args.polls)))
            print(state_line("server alone", server.pid))
            until = time.monotonic() + args.seconds
            post = (b"POST /v1/alerts HTTP/1.1\r\nHost: feeds.test\r\nAuthorization: Bearer "
                    + EDITOR.encode() + b"\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % BODY)
            headers = [Slow(HEADER) for _ in range(args.slow)]
            bodies = [Slow(b" " * BODY, post) for _ in range(args.slow_bodies)]
            tasks = [asyncio.create_task(s.run(port, until)) for s in headers + bodies]
            await asyncio.sleep(3)
            print(state_line("server under attack", server.pid))
            print(poll_line("polls meanwhile", *await polls(url, args.polls)))
            await asyncio.gather(*tasks)
            print(summary("slow headers", headers, args.seconds))
            print(summary("slow bodies", bodies, args.seconds))
        finally:
            server.terminate()
            server.wait(30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.slow_clients", description=__doc__)
    parser.add_argument("--slow", type=int, default=1000, help="slow-header connections")
    parser.add_argument("--slow-bodies", type=int, default=200, help="slow-body connections")
    parser.add_argument("--seconds", type=float, default=100.0, help="follow them this long")
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--limits", help='the limits section as JSON, e.g. '
                                         '\'{"header_timeout_seconds": 10}\'')
    asyncio.run(measure(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
