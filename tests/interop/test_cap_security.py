"""Hostile XML: XXE and entity expansion are refused before anything is read or expanded."""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
import sys
from pathlib import Path

from aiohttp import web
from support.api import auth
from support.config import PUBLISHER

from feedserver.appkeys import POOL

IN_ACCESS, IN_OPEN = 0x00000001, 0x00000020
HEADER = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ALERT_START = b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>'
ALERT_END = (b"</identifier><sender>x</sender><sent>2026-11-28T14:00:00+00:00</sent>"
             b"<status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>")


class FileWatch:
    """Linux inotify on one file: did anyone open or read it?"""

    def __init__(self, path: str) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0
        assert self.libc.inotify_add_watch(self.fd, path.encode(), IN_ACCESS | IN_OPEN) >= 0

    def touched(self) -> bool:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return False
        return len(data) >= struct.calcsize("iIII")

    def close(self) -> None:
        os.close(self.fd)


async def post(client, body: bytes) -> tuple[int, str]:
    response = await client.post("/v1/ingest/cap", data=body,
                                 headers={**auth(PUBLISHER), "Content-Type": "application/xml"})
    return response.status, await response.text()


async def test_the_file_watch_sees_a_read(tmp_path):
    """The watch itself works: reading the file is noticed."""
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t-canary")
    watch = FileWatch(str(secret))
    assert not watch.touched()
    secret.read_text()
    assert watch.touched()
    watch.close()


async def test_xxe_reads_no_file(client, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t-canary")
    watch = FileWatch(str(secret))
    uri = secret.as_uri().encode()
    payloads = [
        b'<!DOCTYPE alert [<!ENTITY xxe SYSTEM "' + uri + b'">]>' + ALERT_START + b"&xxe;"
        + ALERT_END,
        b'<!DOCTYPE alert [<!ENTITY % p SYSTEM "' + uri + b'"> %p;]>' + ALERT_START + b"i"
        + ALERT_END,
        b'<!DOCTYPE alert SYSTEM "' + uri + b'">' + ALERT_START + b"i" + ALERT_END,
        b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="' + uri
        + b'" parse="text"/>',
    ]
    for payload in payloads:
        status, body = await post(client, HEADER + payload)
        assert status in (400, 422), body
        assert "s3cr3t-canary" not in body
    assert not watch.touched()
    watch.close()


async def test_xxe_fetches_no_url(client, aiohttp_server):
    hits = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="canary")

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    server = await aiohttp_server(app)
    url = str(server.make_url("/evil.dtd")).encode()
    for payload in (
        b'<!DOCTYPE alert [<!ENTITY xxe SYSTEM "' + url + b'">]>' + ALERT_START + b"&xxe;"
        + ALERT_END,
        b'<!DOCTYPE alert [<!ENTITY % p SYSTEM "' + url + b'"> %p;]>' + ALERT_START + b"i"
        + ALERT_END,
        b'<!DOCTYPE alert PUBLIC "-//X//Y" "' + url + b'">' + ALERT_START + b"i" + ALERT_END,
    ):
        status, body = await post(client, HEADER + payload)
        assert status == 400, body
    assert hits == []


def billion_laughs(levels: int = 10) -> bytes:
    entities = [b'<!ENTITY lol0 "lollollollollollollollollollol">']
    entities += [b"<!ENTITY lol%d \"%s\">" % (i, b"&lol%d;" % (i - 1) * 10)
                 for i in range(1, levels)]
    return (HEADER + b"<!DOCTYPE alert [" + b"".join(entities) + b"]>" + ALERT_START
            + b"&lol%d;" % (levels - 1) + ALERT_END)


def quadratic_blowup(size: int = 20_000, uses: int = 20_000) -> bytes:
    return (HEADER + b'<!DOCTYPE alert [<!ENTITY a "' + b"x" * size + b'">]>' + ALERT_START
            + b"&a;" * uses + ALERT_END)


def peak_rss_kib(pids) -> int:
    """The sum of the processes' peak resident memory (VmHWM), from /proc."""
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines()
                          if line.startswith("VmHWM:")))
    return total


async def test_entity_expansion_is_refused_without_growing_memory(client):
    """Fully expanded these are 30 GB and 400 MB of text. Messages are read in the process
    pool, so the peak memory of its workers (and of the server) is what must not grow."""
    benign = HEADER + ALERT_START + b"warm-up" + ALERT_END
    await client.post("/v1/ingest/cap", data=benign, headers={
        **auth(PUBLISHER), "Content-Type": "application/xml"})
    pids = [os.getpid(), *client.app[POOL]._executor._processes]
    before = peak_rss_kib(pids)
    for payload in (billion_laughs(), quadratic_blowup()) * 2:
        response = await client.post("/v1/ingest/cap", data=payload, headers={
            **auth(PUBLISHER), "Content-Type": "application/xml"})
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "malformed_cap"
    assert peak_rss_kib(pids) - before < 64 * 1024


PROBE = """
import resource, sys
from feedserver.interop.capxml import CapError, parse_untrusted
payload = sys.stdin.buffer.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    parse_untrusted(payload)
    print("accepted", 0)
except CapError as exc:
    print(exc.status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_parser_peak_memory_in_a_fresh_process():
    """In a process of its own (a low, honest peak), the refusal grows memory by under 16 MB."""
    for payload in (billion_laughs(), quadratic_blowup()):
        result = subprocess.run([sys.executable, "-c", PROBE], input=payload,
                                capture_output=True, check=True)
        status, grown_kib = result.stdout.split()
        assert status == b"400"
        assert int(grown_kib) < 16 * 1024
