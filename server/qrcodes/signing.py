"""Signed QR payloads: the app checks offline, with the bureau's public key, that a code is genuine.

A code's content is a URL, so that a phone's ordinary camera opens a page naming the enterprise:

    {base}/q/1/{credit_code}/{token}/{signature}

The signature is ECDSA P-256 / SHA-256 over ``"FIQR1|{credit_code}|{token}"``, encoded as the raw
64-byte r‖s (the form WebCrypto's verify takes) in unpadded base64url.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from server.errors import qr_forged, qr_malformed
from server.instance_files import create_once

SCHEME = "1"
_PAYLOAD_RE = re.compile(
    r"(?:^|/)q/(?P<scheme>\d+)/(?P<code>[0-9A-Z]{18})/(?P<token>[a-z2-7]{16})/(?P<sig>[A-Za-z0-9_-]{86})/?$"
)


@dataclass(frozen=True)
class QrClaim:
    """What a genuine code says: which enterprise (credit code) and which token."""

    credit_code: str
    token: str


def new_token() -> str:
    """A fresh 80-bit token, 16 lowercase base32 characters (compact in a QR code)."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()


def load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The bureau's signing key from ``path``, created (mode 0600) exactly once on first use."""

    def new_key() -> bytes:
        return ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    key = serialization.load_pem_private_key(create_once(path, new_key), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError(f"{path.name} is not an ECDSA P-256 private key")
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _message(credit_code: str, token: str) -> bytes:
    return f"FIQR{SCHEME}|{credit_code}|{token}".encode("ascii")


def public_jwk(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public key as a JWK, for the app to import with WebCrypto."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    numbers = public.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
        "alg": "ES256",
        "use": "sig",
    }


def sign_payload(
    key: ec.EllipticCurvePrivateKey,
    base_url: str,
    credit_code: str,
    token: str,
    *,
    deterministic: bool = False,
) -> str:
    """The URL to encode in an enterprise's QR code; ``deterministic`` signs per RFC 6979 (same input, same
    code: test photo sets that must not vary between runs)."""
    der = key.sign(
        _message(credit_code, token), ec.ECDSA(hashes.SHA256(), deterministic_signing=deterministic)
    )
    r, s = decode_dss_signature(der)
    signature = _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    return f"{base_url.rstrip('/')}/q/{SCHEME}/{credit_code}/{token}/{signature}"


def parse_payload(text: str) -> tuple[QrClaim, bytes]:
    """Split a scanned text into its claim and raw signature; refuses anything not of our form."""
    match = _PAYLOAD_RE.search(text.strip().split("?", 1)[0].split("#", 1)[0])
    if match is None or match["scheme"] != SCHEME:
        raise qr_malformed()
    signature = _unb64url(match["sig"])
    if len(signature) != 64:
        raise qr_malformed()
    return QrClaim(match["code"], match["token"]), signature


def verify_payload(public_key: ec.EllipticCurvePublicKey, text: str) -> QrClaim:
    """The claim of a genuine code; raises qr_malformed or qr_forged."""
    claim, signature = parse_payload(text)
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, _message(claim.credit_code, claim.token), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise qr_forged() from None
    return claim
