"""Run wrk (Debian's package) and read its summary."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from bench.procs import pinned

_RATE = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_BAD_STATUS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


class WrkError(RuntimeError):
    """wrk failed, or measured error responses instead of the answer under test."""


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    requests: int
    bad_status: int
    socket_errors: int


def parse(output: str) -> WrkResult:
    """The figures of one wrk summary; WrkError when it has none."""
    rate, total = _RATE.search(output), _TOTAL.search(output)
    if not rate or not total:
        raise WrkError(f"no wrk summary in: {output.strip()[:300]!r}")
    bad = _BAD_STATUS.search(output)
    errors = _SOCKET_ERRORS.search(output)
    return WrkResult(
        requests_per_second=float(rate.group(1)),
        requests=int(total.group(1)),
        bad_status=int(bad.group(1)) if bad else 0,
        socket_errors=sum(map(int, errors.groups())) if errors else 0,
    )


async def run(
    url: str,
    *,
    seconds: int,
    headers: dict[str, str] | None = None,
    connections: int = 64,
    cpus: str | None = None,
    script: str | None = None,
) -> WrkResult:
    """One wrk run with a single thread (so it leaves the other core to the server); a Lua
    `script` may vary the requests.

    A run that got any non-2xx/3xx answer is refused: it measured an error page.
    """
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    args += ["-s", script] if script else []
    args.append(url)
    proc = await asyncio.create_subprocess_exec(
        *pinned(args, cpus),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=seconds + 30)
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise WrkError(f"wrk exited {proc.returncode}: {text.strip()[:300]}")
    result = parse(text)
    if result.bad_status:
        raise WrkError(f"{url}: {result.bad_status} non-2xx/3xx answers")
    return result
