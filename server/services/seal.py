"""Checking a submitted inspection's seal: the canonical record the device signed with its P-256 key.

The device sends the sealed record as the exact text it signed (canonical JSON: sorted keys, no spaces),
its SHA-256 and the ECDSA P-256 / SHA-256 signature as raw r‖s in base64url (what WebCrypto produces).
A seal that fails is kept and flagged, never hidden: supervisors see why.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


@dataclass(frozen=True)
class SealCheck:
    """Whether a seal holds, and the first reason it does not."""

    verified: bool
    problem: str | None = None


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_from_jwk(jwk: dict[str, str]) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of a JWK."""
    x = int.from_bytes(_unb64url(jwk["x"]), "big")
    y = int.from_bytes(_unb64url(jwk["y"]), "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def check_seal(
    *,
    record_text: str,
    sealed_sha256: str | None,
    signature: str | None,
    jwk: dict[str, str] | None,
    inspection_id: str,
    results: dict[str, str],
) -> SealCheck:
    """Verify hash, signature and that the record names this inspection and its stored answers."""
    data = record_text.encode("utf-8")
    if hashlib.sha256(data).hexdigest() != sealed_sha256:
        return SealCheck(False, "记录的 SHA-256 与封存值不符 / the record does not hash to sealed_sha256")
    if not jwk or not signature:
        return SealCheck(False, "设备没有登记公钥或未签名 / no device key or no signature")
    raw = _unb64url(signature)
    if len(raw) != 64:
        return SealCheck(False, "签名格式不正确 / the signature is not 64 bytes r‖s")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public_key_from_jwk(jwk).verify(der, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, KeyError):
        return SealCheck(False, "设备签名验证失败 / the device signature does not verify")
    try:
        record: Any = json.loads(record_text)
        sealed_id = record["inspection"]["id"]
        sealed_results = {str(code): str(result) for code, result, *_ in record["results"]}
    except (ValueError, KeyError, TypeError):
        return SealCheck(False, "封存记录的结构不正确 / the sealed record is malformed")
    if sealed_id != inspection_id:
        return SealCheck(False, "封存记录属于另一次检查 / the sealed record names another inspection")
    if sealed_results != results:
        return SealCheck(
            False, "封存的检查结果与收到的不一致 / the sealed answers differ from those received"
        )
    return SealCheck(True)
