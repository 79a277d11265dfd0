"""deploy/nginx.conf run for real: a child nginx with a temporary prefix on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import subprocess
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp

from support.servers import free_port

NGINX = "/usr/sbin/nginx"
DEPLOYED_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
DOCUMENTED_UPSTREAMS = ("server 127.0.0.1:8081 ", "server 127.0.0.1:8082 ")


def deployed_conf(port: int, instances: Sequence[int]) -> str:
    """The documented config, listening on `port` in front of `instances` (nothing else)."""
    conf = DEPLOYED_CONF.read_text()
    assert conf.count("listen 80;") == 1
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
    for documented, instance in zip(DOCUMENTED_UPSTREAMS, instances, strict=True):
        assert conf.count(documented) == 1
        conf = conf.replace(documented, f"server 127.0.0.1:{instance} ")
    return conf.replace("worker_processes auto;", "worker_processes 1;")


def _user() -> str:
    """Workers as the test's own user (under root they would be nobody, and could not enter
    the test's private temporary directory); ignored with a notice when not root."""
    return f"{pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name}"


@contextlib.asynccontextmanager
async def nginx_in_front(prefix: Path, instances: Sequence[int],
                         port: int | None = None) -> AsyncIterator[str]:
    """nginx with deploy/nginx.conf for the duration of the block; yields its base URL."""
    port = port or free_port()
    for sub in ("logs", "tmp", "cache"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.conf").write_text(deployed_conf(port, instances))
    log = (prefix / "logs" / "out.log").open("ab")
    process = subprocess.Popen(
        [NGINX, "-p", f"{prefix}/", "-c", "nginx.conf", "-e", "stderr", "-g",
         f"daemon off; user {_user()};"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        async with asyncio.timeout(30), aiohttp.ClientSession() as session:
            while True:
                if process.poll() is not None:
                    raise RuntimeError((prefix / "logs" / "out.log").read_text())
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with session.get(url + "/healthz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
