"""Issuing, re-issuing and resolving enterprises' QR codes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

from server.errors import qr_revoked, qr_unknown
from server.models import Enterprise, QrToken
from server.models.base import utcnow
from server.qrcodes import signing
from server.services import DbSession


def signing_key() -> ec.EllipticCurvePrivateKey:
    """The app's QR signing key (instance/qr-signing-key.pem unless configured), cached per app."""
    cache: dict[str, ec.EllipticCurvePrivateKey] = current_app.extensions.setdefault("qr_signing_key", {})
    path = current_app.config["QR_SIGNING_KEY_FILE"]
    if path not in cache:
        cache[path] = signing.load_or_create_key(Path(path))
    return cache[path]


def issue_token(session: DbSession, enterprise: Enterprise) -> str:
    """Give the enterprise a new QR token, revoking its current one (a re-printed poster replaces it)."""
    now = utcnow()
    if enterprise.qr_token:
        session.execute(
            sa.update(QrToken)
            .where(QrToken.token == enterprise.qr_token, QrToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    token = signing.new_token()
    session.add(QrToken(token=token, enterprise_id=enterprise.id, issued_at=now))
    enterprise.qr_token = token
    session.flush()
    return token


def ensure_token(session: DbSession, enterprise: Enterprise) -> str:
    """The enterprise's current token, issuing the first one if it has none."""
    return enterprise.qr_token or issue_token(session, enterprise)


def payload_for(enterprise: Enterprise) -> str:
    """The signed URL for the enterprise's current QR code."""
    if not enterprise.qr_token:
        raise ValueError("enterprise has no QR token yet")
    return signing.sign_payload(
        signing_key(), current_app.config["PUBLIC_BASE_URL"], enterprise.credit_code, enterprise.qr_token
    )


@dataclass(frozen=True)
class Resolved:
    """A scanned code that is genuine and current."""

    enterprise: Enterprise
    token: str


def resolve(session: DbSession, text: str) -> Resolved:
    """The enterprise a scanned code stands for; forged, malformed, revoked and unknown codes raise."""
    claim = signing.verify_payload(signing_key().public_key(), text)
    record = session.get(QrToken, claim.token)
    if record is None or record.enterprise.credit_code != claim.credit_code:
        raise qr_unknown()
    if record.revoked_at is not None:
        raise qr_revoked(revoked_at=record.revoked_at.strftime("%Y-%m-%d %H:%M UTC"))
    return Resolved(record.enterprise, record.token)
