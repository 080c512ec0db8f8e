"""The key the sandbox signs its ID tokens with, and its JWKS entry.

Microsoft signs v2.0 ID tokens with RS256 and publishes the public keys at
the discovery document's ``jwks_uri``; each key has a ``kid`` (which the
token's header names), an ``x5t`` thumbprint and its certificate in ``x5c``
(Microsoft identity platform, "Signing key rollover",
https://learn.microsoft.com/entra/identity-platform/signing-key-rollover, and
the keys document at https://login.microsoftonline.com/common/discovery/v2.0/keys).

One RSA-2048 key is generated per sandbox process, on first use, and never
rotated: a client that caches the keys stays right for the process's life,
and tokens from an earlier process do not verify against a new one (as after
a key rollover at Microsoft, which the sandbox does not otherwise emulate).
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import datetime, timedelta, timezone
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


class SigningKey:
    """An RSA key with a self-signed certificate, as Entra ID publishes them."""

    def __init__(self):
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outlook-sandbox id_token signing")])
        self._certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                             .public_key(self._private.public_key()).serial_number(x509.random_serial_number())
                             .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
                             .sign(self._private, hashes.SHA256()))

    @cached_property
    def kid(self) -> str:
        # x5t is the certificate's base64url SHA-1 thumbprint (RFC 7517 §4.8); Microsoft's
        # keys carry the same value as kid (observed in its keys document).
        der = self._certificate.public_bytes(serialization.Encoding.DER)
        return b64url(hashlib.sha1(der).digest())

    def jwk(self, issuer: str) -> dict:
        numbers = self._private.public_key().public_numbers()
        der = self._certificate.public_bytes(serialization.Encoding.DER)
        return {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
                "n": b64url(_uint(numbers.n)), "e": b64url(_uint(numbers.e)),
                "x5c": [base64.b64encode(der).decode("ascii")], "issuer": issuer}

    def sign(self, claims: dict) -> str:
        """A compact JWS (RS256) of ``claims``."""
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode("utf-8"))
                                 for part in (header, claims))
        signature = self._private.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"


_lock = threading.Lock()
_key: SigningKey | None = None


def signing_key() -> SigningKey:
    """This process's key (generated on first use)."""
    global _key
    with _lock:
        if _key is None:
            _key = SigningKey()
        return _key
