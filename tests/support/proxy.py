"""deploy/nginx.conf run for real: a child nginx with a temporary prefix on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import ipaddress
import os
import pwd
import subprocess
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support.servers import free_port

NGINX = "/usr/sbin/nginx"
DEPLOYED_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
DEPLOYED_INCLUDE = DEPLOYED_CONF.with_name("feedserver-proxy.conf")
DOCUMENTED_UPSTREAMS = ("server 127.0.0.1:8081 ", "server 127.0.0.1:8082 ")
DOCUMENTED_TLS = ("listen 443 ssl http2;", "/etc/ssl/feedserver/fullchain.pem",
                  "/etc/ssl/feedserver/privkey.pem")


def deployed_conf(port: int, instances: Sequence[int], tls_port: int, cert: Path,
                  key: Path) -> str:
    """The documented config, listening on `port` and (TLS, with `cert` and `key`) on
    `tls_port`, in front of `instances` (nothing else)."""
    conf = DEPLOYED_CONF.read_text()
    replacements = [("listen 80;", f"listen 127.0.0.1:{port};"),
                    *zip(DOCUMENTED_TLS, (f"listen 127.0.0.1:{tls_port} ssl http2;", str(cert),
                                          str(key)), strict=True)]
    for documented, local in replacements:
        assert conf.count(documented) == 1
        conf = conf.replace(documented, local)
    for documented, instance in zip(DOCUMENTED_UPSTREAMS, instances, strict=True):
        assert conf.count(documented) == 1
        conf = conf.replace(documented, f"server 127.0.0.1:{instance} ")
    return conf.replace("worker_processes auto;", "worker_processes 1;")


def _user() -> str:
    """Workers as the test's own user (under root they would be nobody, and could not enter
    the test's private temporary directory); ignored with a notice when not root."""
    return f"{pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name}"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key) made for the test, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextlib.asynccontextmanager
async def nginx_in_front(prefix: Path, instances: Sequence[int], port: int | None = None,
                         tls_port: int | None = None) -> AsyncIterator[str]:
    """nginx with deploy/nginx.conf for the duration of the block; yields its base URL (plain
    HTTP; the same server answers HTTPS on `tls_port` with the certificate in prefix)."""
    port = port or free_port()
    for sub in ("logs", "tmp", "cache"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(prefix)
    (prefix / DEPLOYED_INCLUDE.name).write_text(DEPLOYED_INCLUDE.read_text())
    (prefix / "nginx.conf").write_text(deployed_conf(port, instances, tls_port or free_port(),
                                                     cert, key))
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
