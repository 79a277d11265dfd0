"""Which CAP signers ingest trusts: the PEM certificates of `cap_ingest.trusted_certs`, read
once at start (a missing or unreadable file stops the start, naming it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from feedserver.config import CapIngestConfig


@dataclass(frozen=True)
class CapTrust:
    require_signature: bool = False
    trusted_certs: tuple[bytes, ...] = ()


def load_trust(settings: CapIngestConfig) -> CapTrust:
    certs = []
    for path in map(Path, settings.trusted_certs):
        try:
            pem = path.read_bytes()
            x509.load_pem_x509_certificate(pem)
        except OSError as exc:
            raise ValueError(f"cap_ingest.trusted_certs: {path}: cannot read ({exc.strerror})") \
                from exc
        except ValueError as exc:
            raise ValueError(f"cap_ingest.trusted_certs: {path}: not a PEM certificate") from exc
        certs.append(pem)
    return CapTrust(settings.require_signature, tuple(certs))
