"""Tests' tablets: a device with its own P-256 key that seals an inspection as the PWA does, checked by the
server's own check_seal, so that a test's inspection counts exactly as a synced one would."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from server.domain.inspections import InspectionStatus, ReviewOutcome
from server.models import Device, Inspection, ItemResult, ReviewDecision
from server.services.seal import check_seal


def b64url(data: bytes) -> str:
    """Base64url without padding, as WebCrypto and JWK write it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_of(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    """The public JWK of a P-256 key."""
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    """An ECDSA P-256 / SHA-256 signature as raw r‖s in base64url (what WebCrypto produces)."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class Tablet:
    """A registered device of ``user_id`` with a key of its own."""

    def __init__(self, session: Any, user_id: int) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.device = Device(
            id=uuid.uuid4(), user_id=user_id, token_hash=secrets.token_hex(32), public_key_jwk=jwk_of(self.key),
            label="测试平板",
        )  # fmt: skip
        session.add(self.device)
        session.flush()

    def seal(self, session: Any, inspection: Inspection, *, answers: dict[str, str] | None = None) -> None:
        """Seal ``inspection`` with its stored answers (or ``answers``, what the device held) and check it."""
        stored = {
            r.item_code: r
            for r in session.query(ItemResult).filter(ItemResult.inspection_id == inspection.id).all()
        }
        sealed = answers if answers is not None else {code: r.result.value for code, r in stored.items()}
        record = {
            "v": 1,
            "inspection": {"id": str(inspection.id), "enterprise_id": str(inspection.enterprise_id),
                           "kind": inspection.kind.value},
            "results": [[code, result, stored[code].note if code in stored else None]
                        for code, result in sorted(sealed.items())],
            "hazards": [],
            "photos": [],
        }  # fmt: skip
        text = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        data = text.encode("utf-8")
        inspection.device_id = self.device.id
        inspection.sealed_record = text
        inspection.sealed_sha256 = hashlib.sha256(data).hexdigest()
        inspection.device_signature = sign(self.key, data)
        check = check_seal(
            record_text=text, sealed_sha256=inspection.sealed_sha256, signature=inspection.device_signature,
            jwk=self.device.public_key_jwk, inspection_id=str(inspection.id),
            results={code: r.result.value for code, r in stored.items()},
        )  # fmt: skip
        inspection.seal_verified, inspection.seal_problem = check.verified, check.problem
        session.flush()


def approve(session: Any, inspection: Inspection, reviewer_id: int) -> None:
    """A supervisor's approval, as the review page records it (status and decision)."""
    session.add(
        ReviewDecision(
            inspection_id=inspection.id, reviewer_id=reviewer_id, outcome=ReviewOutcome.approve,
            comment="测试审核通过", decided_at=datetime.now(UTC), row_version=1,
        )
    )  # fmt: skip
    inspection.status = InspectionStatus.approved
    inspection.row_version += 1
    session.flush()
