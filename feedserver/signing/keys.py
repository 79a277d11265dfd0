"""The server's signing keys: the current pair and the one before it, so that a screen that
learned the old key keeps verifying while a rotation settles.

Keys come from the config (`signing.key`, `signing.cert`, PEM) or are made on first start in
`data_dir/signing/`, readable by the server's user only. `feedserver keys rotate` moves the
current pair to `previous` and makes a new one; the JWKS holds both until the next rotation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey, RSAKey

from feedserver.config import Config

log = logging.getLogger(__name__)

CERT_YEARS = 5
SLOTS = ("current", "previous")


class SigningKeyError(ValueError):
    """A configured key or certificate cannot be used; the message names the file."""


@dataclass(frozen=True)
class KeyPair:
    """A private key with its self-describing certificate, and the names screens know it by."""

    private_pem: bytes
    cert_pem: bytes

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @cached_property
    def is_ec(self) -> bool:
        key = serialization.load_pem_private_key(self.private_pem, password=None)
        return isinstance(key, ec.EllipticCurvePrivateKey)

    @cached_property
    def jwk(self) -> ECKey | RSAKey:
        """The private key as a JWK whose `kid` is its RFC 7638 thumbprint."""
        key = (ECKey if self.is_ec else RSAKey).import_key(self.private_pem)
        key.ensure_kid()
        return key

    @property
    def kid(self) -> str:
        return self.jwk.kid or ""

    @property
    def jws_alg(self) -> str:
        return "ES256" if self.is_ec else "RS256"

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate (DER), as `openssl x509 -fingerprint -sha256` shows it."""
        digest = hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER))
        return ":".join(f"{b:02X}" for b in digest.digest())

    def public_jwk(self) -> dict:
        return {**self.jwk.as_dict(private=False), "use": "sig", "alg": self.jws_alg}


@dataclass(frozen=True)
class KeyRing:
    current: KeyPair
    previous: KeyPair | None = None

    def jwks(self) -> dict:
        """The JSON Web Key Set screens verify with: the current key first."""
        pairs = [self.current] + ([self.previous] if self.previous else [])
        return {"keys": [pair.public_jwk() for pair in pairs]}


def new_key_pair(common_name: str, now: dt.datetime | None = None) -> KeyPair:
    """An EC P-256 key (ES256, ecdsa-sha256: small, and WebCrypto verifies it) and a
    self-signed certificate naming this server, for the XML-DSig KeyInfo."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = now or dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * CERT_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
        cert.public_bytes(serialization.Encoding.PEM),
    )


def read_pair(key_path: Path, cert_path: Path) -> KeyPair:
    """A configured key pair, checked: the certificate must belong to the key."""
    try:
        private_pem, cert_pem = key_path.read_bytes(), cert_path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{exc.filename}: cannot read ({exc.strerror})") from exc
    try:
        key = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{key_path}: not an unencrypted PEM private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise SigningKeyError(f"{key_path}: only EC (P-256) and RSA keys can sign")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise SigningKeyError(f"{cert_path}: not a PEM certificate") from exc
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        raise SigningKeyError(f"{cert_path}: the certificate is not for the key {key_path}")
    return KeyPair(private_pem, cert_pem)


def _slot_paths(directory: Path, slot: str) -> tuple[Path, Path]:
    return directory / f"{slot}.key.pem", directory / f"{slot}.cert.pem"


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by this user only, whole or not at all."""
    temporary = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _write_pair(directory: Path, slot: str, pair: KeyPair) -> None:
    key_path, cert_path = _slot_paths(directory, slot)
    _write_private(cert_path, pair.cert_pem)
    _write_private(key_path, pair.private_pem)


def _read_slot(directory: Path, slot: str) -> KeyPair | None:
    key_path, cert_path = _slot_paths(directory, slot)
    if not key_path.exists():
        return None
    return read_pair(key_path, cert_path)


def managed_keys(directory: Path, common_name: str) -> KeyRing:
    """The key ring kept in `directory`, made on first start. Several processes starting at
    once agree on one key: the first to create the lock file makes it, the others wait."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    current = _read_slot(directory, "current")
    if current is None:
        lock = directory / "create.lock"
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _wait_for_current(directory)
        os.close(fd)
        try:
            current = new_key_pair(common_name)
            _write_pair(directory, "current", current)
        finally:
            lock.unlink()
        log.warning("signing: made a new key pair in %s, certificate SHA-256 %s",
                    directory, current.fingerprint)
    return KeyRing(current, _read_slot(directory, "previous"))


def _wait_for_current(directory: Path, attempts: int = 200) -> KeyRing:
    for _ in range(attempts):
        current = _read_slot(directory, "current")
        if current is not None:
            return KeyRing(current, _read_slot(directory, "previous"))
        time.sleep(0.05)
    raise SigningKeyError(f"{directory}: another process is making the signing key; "
                          "remove create.lock if none is")


def rotate(directory: Path, common_name: str) -> KeyRing:
    """Make a new current key; the old current one becomes `previous` (the older is gone)."""
    ring = managed_keys(directory, common_name)
    fresh = new_key_pair(common_name)
    _write_pair(directory, "previous", ring.current)
    _write_pair(directory, "current", fresh)
    with contextlib.suppress(FileNotFoundError):
        (directory / "create.lock").unlink()
    return KeyRing(fresh, ring.current)


def common_name(config: Config) -> str:
    """The certificate names the server by its public host."""
    return urlsplit(config.server.public_url).hostname or "feedserver"


def ring_of(config: Config) -> KeyRing:
    """The configured pair, or the ring kept in `data_dir/signing` (made on first start)."""
    if config.signing.key and config.signing.cert:
        return KeyRing(read_pair(Path(config.signing.key), Path(config.signing.cert)))
    return managed_keys(config.data_dir / "signing", common_name(config))
