"""Detached JWS (RFC 7515 appendix F): the signed bytes travel as they are, the signature
beside them, so a player verifies exactly what it received.

A feed document or a render is signed over its body bytes (`Feedserver-JWS` header). A push
message (snapshot or envelope) carries its signature inside, as `jws`, over the RFC 8785
canonical JSON of the message without that member, which a browser can rebuild from the
parsed message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import ClassVar

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwa import ESAlgorithm, JWSRegistry
from joserfc.jwk import ECKey

from feedserver.formats import compact_json
from feedserver.signing.keys import KeyPair, KeyRing

HEADER = "Feedserver-JWS"
MEMBER = "jws"
# Public answers any web player may fetch to check a signature before it shows anything.
PUBLIC_READ = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": HEADER}


class DeterministicES256(ESAlgorithm):
    """ES256 with RFC 6979 nonces: the same bytes always get the same signature, so every
    process and host serves one document with one ETag (verifiers cannot tell the difference)."""

    def __init__(self) -> None:
        super().__init__("ES256", "P-256", 256, True)

    def sign(self, msg: bytes, key: ECKey) -> bytes:
        der = key.get_op_key("sign").sign(msg, ECDSA(self.hash_alg(), deterministic_signing=True))
        size = (key.curve_key_size + 7) // 8
        return b"".join(n.to_bytes(size, "big") for n in decode_dss_signature(der))


class Registry(JWSRegistry):
    """joserfc's registry with deterministic ES256, for payloads as large as a render."""

    algorithms: ClassVar = {**JWSRegistry.algorithms, "ES256": DeterministicES256()}
    max_payload_length = 64 * 1024 * 1024


REGISTRY = Registry()


def sign_detached(payload: bytes, pair: KeyPair) -> str:
    """`<protected header>..<signature>`: a compact JWS with its payload left out."""
    protected = {"alg": pair.jws_alg, "kid": pair.kid}
    compact = jws.serialize_compact(protected, payload, pair.jwk, registry=REGISTRY)
    return jws.detach_content(compact)


def canonical(message: dict) -> bytes:
    """The bytes a push message's signature covers: itself without `jws`, canonical JSON."""
    return rfc8785.dumps({k: v for k, v in message.items() if k != MEMBER})


def signed_message(message: dict, pair: KeyPair) -> dict:
    """The message with its `jws` member added."""
    return {**message, MEMBER: sign_detached(canonical(message), pair)}


def verify_detached(signature: str, payload: bytes, ring: KeyRing) -> bool:
    """Whether `signature` is a detached JWS of `payload` by a key of the ring."""
    for pair in filter(None, (ring.current, ring.previous)):
        try:
            jws.deserialize_compact(signature, pair.jwk, payload=payload,
                                    registry=Registry(algorithms=[pair.jws_alg]))
        except (JoseError, ValueError):
            continue
        return True
    return False


class Signatures:
    """What screens are sent, signed with the current key, each body once: serving a signed
    poll or render costs a dictionary lookup, like serving an unsigned one."""

    def __init__(self, ring: KeyRing, capacity: int = 50_000) -> None:
        self.ring = ring
        self.capacity = capacity
        self._made: dict[tuple[str, str], bytes | str] = {}

    def _cached(self, kind: str, name: str, make: Callable[[], bytes | str]) -> bytes | str:
        key = (kind, name)
        made = self._made.get(key)
        if made is None:
            if len(self._made) >= self.capacity:
                self._made.clear()
            made = self._made[key] = make()
        return made

    def header(self, body: bytes, name: str) -> str:
        """`Feedserver-JWS` of a body that `name` (its ETag or digest) names uniquely."""
        return str(self._cached("header", name, lambda: sign_detached(body, self.ring.current)))

    def snapshot(self, document: bytes, name: str) -> bytes:
        """A feed document as a push message: the document with its `jws` member."""
        return bytes(self._cached("snapshot", name, lambda: self.message(json.loads(document))))

    def message(self, message: dict) -> bytes:
        """A push envelope's wire bytes, `jws` included."""
        return compact_json(signed_message(message, self.ring.current))
