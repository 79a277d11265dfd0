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
_NOT_304 = re.compile(r"^answers other than 304: (\d+)", re.MULTILINE)

# A wrk script that counts every answer that is not a 304 (wrk's own summary counts only
# 4xx/5xx, so a 200 where a 304 was due would pass unseen). Each thread counts its own; the
# summary line adds them up.
ONLY_304_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not_304 = 0 end
function response(status, headers, body)
  if status ~= 304 then not_304 = not_304 + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("not_304") end
  io.write(string.format("answers other than 304: %d\\n", total))
end
"""


class WrkError(RuntimeError):
    """wrk failed, or measured error responses instead of the answer under test."""


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    requests: int
    bad_status: int
    socket_errors: int
    not_304: int | None = None  # counted only when run with ONLY_304_LUA


def parse(output: str) -> WrkResult:
    """The figures of one wrk summary; WrkError when it has none."""
    rate, total = _RATE.search(output), _TOTAL.search(output)
    if not rate or not total:
        raise WrkError(f"no wrk summary in: {output.strip()[:300]!r}")
    bad = _BAD_STATUS.search(output)
    errors = _SOCKET_ERRORS.search(output)
    not_304 = _NOT_304.search(output)
    return WrkResult(
        requests_per_second=float(rate.group(1)),
        requests=int(total.group(1)),
        bad_status=int(bad.group(1)) if bad else 0,
        socket_errors=sum(map(int, errors.groups())) if errors else 0,
        not_304=int(not_304.group(1)) if not_304 else None,
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

    A run that got any non-2xx/3xx answer is refused: it measured an error page; so is one
    run with ONLY_304_LUA that got anything but 304s.
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
    if result.not_304:
        raise WrkError(f"{url}: {result.not_304} of {result.requests} answers were not 304")
    return result
