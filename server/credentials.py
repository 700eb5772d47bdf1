"""Credentials at rest: argon2id password hashes and bearer-token digests (no request in sight: the request
hooks that use them are in server/security.py)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, cast

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app

_DUMMY_PASSWORD = "not-a-real-password"


def init_app(app: Flask) -> None:
    """Give ``app`` its argon2id hasher, and a dummy hash made with it for unknown users."""
    # Tests may ask for the cheapest parameters: hashing dozens of demo users must not take seconds.
    profile = profiles.CHEAPEST if app.config.get("PASSWORD_HASH_PROFILE") == "cheapest" else None
    hasher = PasswordHasher.from_parameters(profile) if profile else PasswordHasher()
    app.extensions["argon2"] = {"hasher": hasher, "dummy_hash": hasher.hash(_DUMMY_PASSWORD)}


def current_app_argon2() -> dict[str, Any]:
    """The app's hasher state: the hasher and a dummy hash made with it."""
    return cast(dict[str, Any], current_app.extensions["argon2"])


def _hasher() -> PasswordHasher:
    """The app's argon2id hasher (argon2-cffi's defaults; tests may choose the cheapest)."""
    return cast(PasswordHasher, current_app_argon2()["hasher"])


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; takes the same time whether or not the user exists."""
    state = current_app_argon2()
    try:
        return (
            bool(_hasher().verify(password_hash or state["dummy_hash"], password))
            and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(password_hash)


def new_bearer_token() -> str:
    """A fresh random device token (256 bits), shown to the device once."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """How a bearer token is stored: SHA-256 suffices for a 256-bit random secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
