"""Configuration from the environment, with runtime state kept under the instance folder."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server import clock
from server.instance_files import create_once

#: The repository's root; the default instance folder lives here (git-ignored).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    """Where the database, media and keys live: $INSTANCE_PATH or ./instance."""
    return Path(os.environ.get("INSTANCE_PATH") or PROJECT_ROOT / "instance").resolve()


def read_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """Read a secret from ``path``, creating it (mode 0600) exactly once on first use."""
    made = create_once(path, lambda: (secrets.token_hex(nbytes) + "\n").encode("utf-8"))
    return made.decode("utf-8").strip()


def _csv(text: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated setting."""
    return [item.strip() for item in text.split(",") if item.strip()]


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config: defaults, then environment variables, then explicit overrides."""
    overrides = dict(overrides or {})
    instance = Path(overrides.get("INSTANCE_PATH") or instance_path())
    env = os.environ
    config: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{instance / 'app.db'}",
        "MEDIA_ROOT": env.get("MEDIA_ROOT") or str(instance / "media"),
        # Where photo bytes live: "local" (a folder under MEDIA_ROOT) or "s3" (a bucket several servers share).
        "PHOTO_STORE": (env.get("PHOTO_STORE") or "local").strip().lower(),
        "S3_ENDPOINT": env.get("S3_ENDPOINT") or "",
        "S3_BUCKET": env.get("S3_BUCKET") or "",
        "S3_ACCESS_KEY": env.get("S3_ACCESS_KEY") or "",
        "S3_SECRET_KEY": env.get("S3_SECRET_KEY") or "",
        "S3_REGION": env.get("S3_REGION") or "us-east-1",
        "S3_PREFIX": env.get("S3_PREFIX") or "",
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        "QR_SIGNING_KEY_FILE": env.get("QR_SIGNING_KEY_FILE") or str(instance / "qr-signing-key.pem"),
        # The audit chain's HMAC key and its append-only anchor: outside the database, backed up apart from it.
        "AUDIT_KEY_FILE": env.get("AUDIT_KEY_FILE") or str(instance / "audit-key"),
        "AUDIT_ANCHOR_FILE": env.get("AUDIT_ANCHOR_FILE") or str(instance / "audit-anchor.log"),
        "DEFAULT_AUTHORITY_NAME": env.get("DEFAULT_AUTHORITY_NAME") or "应急管理局",
        "CJK_FONT": env.get("CJK_FONT") or "",
        "PWA_DIST": env.get("PWA_DIST") or str(PROJECT_ROOT / "pwa" / "dist"),
        "WEB_ASSETS_DIST": env.get("WEB_ASSETS_DIST") or str(PROJECT_ROOT / "pwa" / "dist-web"),
        # The bureau's day: deadlines, overdue and campaign phases are counted in it.
        "TIMEZONE": env.get("TIMEZONE") or clock.DEFAULT_TIMEZONE,
        # Empty: no base map; the map page still draws every point.
        "MAP_TILE_URL": (env.get("MAP_TILE_URL") or "").strip(),
        "MAP_TILE_ATTRIBUTION": env.get("MAP_TILE_ATTRIBUTION") or "",
        # Above this many points in view the map shows counts per grid cell instead of single points.
        "MAP_CLUSTER_ABOVE": int(env.get("MAP_CLUSTER_ABOVE") or 3000),  # server.services.mapclusters
        # Refused sign-ins allowed per account and per address within the window, then signing in pauses.
        "LOGIN_FAILURES_PER_ACCOUNT": int(env.get("LOGIN_FAILURES_PER_ACCOUNT") or 5),
        "LOGIN_FAILURES_PER_ADDRESS": int(env.get("LOGIN_FAILURES_PER_ADDRESS") or 20),
        "LOGIN_THROTTLE_MINUTES": int(env.get("LOGIN_THROTTLE_MINUTES") or 15),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH") or 64 * 1024 * 1024),
        "SYNC_MAX_MUTATIONS": int(env.get("SYNC_MAX_MUTATIONS") or 500),
        "SYNC_MAX_PUSH_BYTES": int(env.get("SYNC_MAX_PUSH_BYTES") or 8 * 1024 * 1024),
        "SYNC_MAX_PHOTO_BYTES": int(env.get("SYNC_MAX_PHOTO_BYTES") or 20 * 1024 * 1024),
        # A pull page ends at this many bytes of JSON (before compression) as well as at its count limit.
        "SYNC_PULL_PAGE_BYTES": int(env.get("SYNC_PULL_PAGE_BYTES") or 1024 * 1024),
        "MAX_PHOTO_PIXELS": int(env.get("MAX_PHOTO_PIXELS") or 50_000_000),
        #: An enterprise's plan or summary file (PDF, Word, photo).
        "SUBMISSION_MAX_BYTES": int(env.get("SUBMISSION_MAX_BYTES") or 30 * 1024 * 1024),
        # SQLite has one writer: a push waits its turn in its process (first come, first served) at most
        # SYNC_PUSH_QUEUE_SECONDS, then for the database's write lock at most SQLITE_BUSY_TIMEOUT_MS; past
        # either it is answered 503 with Retry-After, never 500.
        "SYNC_PUSH_QUEUE_SECONDS": float(env.get("SYNC_PUSH_QUEUE_SECONDS") or 8),
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("SQLITE_BUSY_TIMEOUT_MS") or 10_000),
        "RETRY_AFTER_SECONDS": int(env.get("RETRY_AFTER_SECONDS") or 2),
        # How many reverse proxies (nginx) stand in front: their X-Forwarded-For/-Proto/-Host are believed,
        # nobody else's. 0 (the embedded setup) believes none.
        # TRUSTED_PROXIES is the same setting under its earlier name.
        "PROXY_HOPS": int(env.get("PROXY_HOPS") or env.get("TRUSTED_PROXIES") or 0),
        "LOG_FORMAT": (env.get("LOG_FORMAT") or "text").strip().lower(),
        "LOG_LEVEL": (env.get("LOG_LEVEL") or "INFO").strip().upper(),
        "LOG_REQUESTS": env.get("LOG_REQUESTS", "1") != "0",
        # Who may read /metrics (client addresses, after PROXY_HOPS); nginx also refuses it from outside.
        "METRICS_ALLOWED_IPS": _csv(env.get("METRICS_ALLOWED_IPS") or "127.0.0.1,::1"),
        # DEMO=1 marks a demo setup: seed-demo (whose accounts share a published password) runs only there.
        "DEMO": env.get("DEMO", "0") == "1",
        # Long work (imports, reports, documents) runs in a thread of the process that took the request
        # ("thread"); tests run it in the request ("inline") or leave it queued ("defer"). A page waits this long
        # for a quick job to answer at once; a job silent for JOBS_STALE_SECONDS is taken as dead.
        "JOBS_MODE": (env.get("JOBS_MODE") or "thread").strip().lower(),
        "JOBS_WAIT_SECONDS": float(env.get("JOBS_WAIT_SECONDS") or 3),
        "JOBS_HEARTBEAT_SECONDS": float(env.get("JOBS_HEARTBEAT_SECONDS") or 5),
        "JOBS_STALE_SECONDS": float(env.get("JOBS_STALE_SECONDS") or 60),
        "API_TITLE": "县级冶金工贸安全检查 API",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_SORT_KEYS": False,
    }
    config.update(overrides)
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    # No ping before a pooled connection is lent (it was a round trip on every request, ~0.4 ms CPU): a connection
    # that died under the pool (a PostgreSQL restart, a killed backend, a failover) fails its request's first
    # statement, inside a transaction that wrote nothing. SQLAlchemy then sees a disconnect and renews the whole
    # pool, and the one request that met it is answered 503 with Retry-After (server.errors: database_unreachable),
    # which tablets retry on their own; a push is applied exactly once (device, seq) whatever was retried.
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = env.get("SECRET_KEY") or read_or_create_secret(instance / "secret_key")
    return config
