"""XML-DSig for CAP 1.2: an enveloped signature on every message the server writes, and the
check of signed messages that come in, both by signxml (no hand-written canonicalisation).

CAP 1.2 allows one `ds:Signature` as the last child of `alert`. Messages are signed without
indentation: verifiers such as the WMO's capvalidator parse with blank text removed, and
whitespace-only text is part of what an enveloped signature covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import InvalidInput, InvalidSignature, SignatureMethod, XMLSigner, XMLVerifier
from signxml.exceptions import InvalidCertificate, InvalidDigest, SignXMLException

from feedserver.signing.keys import KeyPair

DS_NS = "http://www.w3.org/2000/09/xmldsig#"


class SignatureRefused(ValueError):
    """A CAP message whose signature is missing, broken, or by nobody trusted."""


@dataclass(frozen=True)
class Signer:
    """Who signed an incoming message: the trusted certificate that verified it."""

    subject: str
    fingerprint: str

    def as_note(self) -> dict:
        return {"signed": True, "signer": self.subject, "fingerprint": self.fingerprint}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True,
                           load_dtd=False)


class _DeterministicECKey:
    """An EC key that signs with RFC 6979 nonces, so one message always gets one signature
    (equal bytes and ETags in every process); signxml calls only these members."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key
        self.key_size = key.key_size

    def sign(self, data: bytes, signature_algorithm: ec.ECDSA) -> bytes:
        return self._key.sign(data, ec.ECDSA(signature_algorithm.algorithm,
                                             deterministic_signing=True))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()


def sign_cap(message: bytes, pair: KeyPair) -> bytes:
    """The CAP message with an enveloped ds:Signature (and the certificate) appended."""
    root = etree.fromstring(message, _parser())
    key = serialization.load_pem_private_key(pair.private_pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        method, key = SignatureMethod.ECDSA_SHA256, _DeterministicECKey(key)
    else:
        method = SignatureMethod.RSA_SHA256
    signer = XMLSigner(signature_algorithm=method, digest_algorithm="sha256")
    signer.namespaces = {"ds": DS_NS}
    signed = signer.sign(root, key=key, cert=pair.cert_pem.decode())
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def has_signature(root: etree._Element) -> bool:
    return root.find(f"{{{DS_NS}}}Signature") is not None


def verify_cap(root: etree._Element, trusted: Sequence[bytes]) -> Signer:
    """The trusted certificate whose key signed this CAP `alert` element (parsed safely, as
    received: whitespace is part of what was signed), or SignatureRefused saying why.

    Each trusted PEM is tried as the signer's own certificate; the certificate the message
    carries is never trusted by itself."""
    if not has_signature(root):
        raise SignatureRefused("the message is not signed (no ds:Signature)")
    reasons = []
    for pem in trusted:
        cert = x509.load_pem_x509_certificate(pem)
        try:
            XMLVerifier().verify(root, x509_cert=cert)
        except (InvalidSignature, InvalidDigest) as exc:
            reasons.append(f"does not verify with {_subject(cert)} ({exc})")
            continue
        except (InvalidCertificate, InvalidInput, SignXMLException) as exc:
            reasons.append(f"{_subject(cert)}: {exc}")
            continue
        return Signer(_subject(cert), _fingerprint(cert))
    if not trusted:
        raise SignatureRefused("no trusted certificates are configured")
    raise SignatureRefused("the signature " + "; ".join(reasons))


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()
