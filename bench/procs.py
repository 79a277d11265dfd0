"""Processes under test: start, pin to a core, wait for the port, measure memory, stop.

Pinning: on a machine with two or more cores, servers run on core 0 and the load (wrk, the
SSE client swarm) on core 1, so that every server, ours or nginx, gets exactly one core and
the load generator never starves it. Multi-process experiments pass `cpus=None` and compare
with a single process also run unpinned.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PINNING = (os.cpu_count() or 1) >= 2
SERVER_CPUS = "0" if PINNING else None
LOAD_CPUS = "1" if PINNING else None


def pinned(args: Sequence[str], cpus: str | None) -> list[str]:
    """`args` run under `taskset -c cpus`, or as they are when not pinning."""
    return ["taskset", "-c", cpus, *args] if cpus else list(args)


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


NOFILE_WANTED = 131_072  # 50,000 clients and their server ends, with room to spare


def raise_nofile() -> int:
    """Lift this process's (and so its children's) open-file limit: to NOFILE_WANTED where
    allowed (root, or a hard limit that high), else to the hard limit. The limit reached."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in (max(NOFILE_WANTED, hard), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, limit), max(soft, limit)))
        except (ValueError, OSError):
            continue
        return max(soft, limit)
    return soft


def nofile_limit() -> int:
    """The open-file limit of this process (and of the children it starts)."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Return once something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s") from exc
            await asyncio.sleep(0.05)
        else:
            writer.close()
            return


def python(module: str, *args: str) -> list[str]:
    """Command line running `module` with this interpreter."""
    return [sys.executable, "-m", module, *args]


@contextlib.asynccontextmanager
async def started(
    args: Sequence[str],
    *,
    port: int | None = None,
    cpus: str | None = None,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process for the duration of the block: stopped (TERM, then KILL) on exit."""
    out = open(log, "ab") if log else asyncio.subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = await asyncio.create_subprocess_exec(
            *pinned(args, cpus),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            if port is not None:
                await wait_for_port(port)
            yield proc
        finally:
            await stop(proc)
    finally:
        if log:
            out.close()


async def stop(proc: asyncio.subprocess.Process, timeout: float = 10.0) -> None:
    """Ask a child to stop, and make sure it has."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in task.read_text().split()]
    return found


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (taskset execs in place, so the pid is the server's)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += _children(current)
    return tree


def server_tree(pids: Sequence[int]) -> list[int]:
    """Every process of a server (its workers and their children), each once."""
    return sorted({p for root in pids for p in process_tree(root)})


def rss_kib(pids: Sequence[int]) -> int:
    """Resident memory of these processes together, in KiB (from /proc/PID/status)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


async def wait_for_text(
    log: Path, text: str, proc: asyncio.subprocess.Process, timeout: float = 30.0,
    count: int = 1,
) -> None:
    """Return once the process (or its workers) wrote `text` to its log `count` times
    (aiohttp's "Running on" line, once per worker)."""
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count(text) < count:
        if proc.returncode is not None:
            raise RuntimeError(
                f"{log.name}: exited {proc.returncode}: {log.read_text(errors='replace')[-500:]}"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"{log.name}: no {text!r} after {timeout}s")
        await asyncio.sleep(0.05)


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime + stime of these processes and their descendants."""
    total = 0
    for pid in server_tree(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / TICKS


async def quiet(pids: Sequence[int], *, share: float = 0.05, timeout: float = 30.0) -> bool:
    """Wait until the server (process pool included) is idle: under `share` of a core over
    half a second, e.g. once renders a publish started are done. False if it never was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pids)
        await asyncio.sleep(0.5)
        if cpu_seconds(pids) - before < share * 0.5:
            return True
    return False
