"""Our own nginx: a temporary prefix and config on a free loopback port, one worker or more.

Used twice: as the practical limit for polls (static files, `etag on`, 304 on If-None-Match)
and, with Debian's nchan module, as the reference for SSE fan-out.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.procs import free_port, started

NCHAN_MODULE_DIRS = ("/usr/lib/nginx/modules", "/usr/share/nginx/modules")

_CONF = """\
{modules}
worker_processes {workers};
worker_rlimit_nofile {nofile};
pid nginx.pid;
error_log logs/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    types {{ application/json json; image/jpeg jpg; text/html html; }}
    default_type application/octet-stream;
    keepalive_requests 1000000;
    etag on;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root html;
{locations}
    }}
}}
"""

NCHAN_LOCATIONS = """\
        location = /sub {
            nchan_subscriber eventsource;
            nchan_channel_id bench;
            nchan_subscriber_first_message newest;
        }
        location = /pub {
            nchan_publisher;
            nchan_channel_id bench;
            nchan_message_buffer_length 1;
        }
"""


@dataclass(frozen=True)
class Nginx:
    port: int
    pid: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def nchan_module() -> Path:
    """Where Debian's libnginx-mod-nchan put its module."""
    for directory in NCHAN_MODULE_DIRS:
        path = Path(directory, "ngx_nchan_module.so")
        if path.exists():
            return path
    raise FileNotFoundError("ngx_nchan_module.so not found: apt-get install libnginx-mod-nchan")


@contextlib.asynccontextmanager
async def nginx(
    *,
    files: Mapping[str, bytes] | None = None,
    locations: str = "",
    nchan: bool = False,
    connections: int = 1024,
    cpus: str | None = None,
    workers: int = 1,
) -> AsyncIterator[Nginx]:
    """nginx serving `files` from html/ (and `locations`), for the duration of the block;
    `workers` processes share the port (nginx's reuse of one listening socket)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        prefix = Path(tmp)
        prefix.chmod(0o755)  # the worker runs as nobody and must read html/
        for sub in ("logs", "tmp", "html"):
            (prefix / sub).mkdir()
        for name, data in (files or {}).items():
            (prefix / "html" / name).write_bytes(data)
        modules = f"load_module {nchan_module()};" if nchan else ""
        conf = _CONF.format(
            modules=modules,
            workers=workers,
            nofile=connections + 100,
            connections=connections,
            port=port,
            locations=locations,
        )
        (prefix / "nginx.conf").write_text(conf)
        args = [
            "nginx",
            "-p",
            f"{prefix}/",
            "-c",
            "nginx.conf",
            "-e",
            "stderr",
            "-g",
            "daemon off; master_process on;",
        ]
        async with started(args, port=port, cpus=cpus, log=prefix / "logs" / "out.log") as proc:
            yield Nginx(port=port, pid=proc.pid)
