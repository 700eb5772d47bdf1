"""What an operator watches: the running version, whether the database and photo store answer, and the counts
behind the metrics (quarantined mutations, photos whose bytes have not arrived)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from server.models import Blob, Photo, Quarantine
from server.services import DbSession

_PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@cache
def app_version() -> str:
    """The version in pyproject.toml (what `flask version` and /healthz report)."""
    with (_PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


@cache
def code_schema_heads() -> tuple[str, ...]:
    """The migration revisions this code expects the database to be at (Alembic heads)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return tuple(sorted(ScriptDirectory.from_config(config).get_heads()))


def database_schema(session: DbSession) -> tuple[str, ...]:
    """The revisions the database is at (empty before the first migration)."""
    try:
        rows = session.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        return tuple(sorted(str(row) for row in rows))
    except sa.exc.DBAPIError:
        session.rollback()
        return ()


@dataclass(frozen=True)
class Backlog:
    """Work waiting on someone: mutations in quarantine, photos recorded whose bytes are not in."""

    quarantined: int
    pending_uploads: int


def backlog(session: DbSession) -> Backlog:
    """Count unresolved quarantined mutations and live photo records whose bytes have not arrived."""
    quarantined = session.scalar(
        sa.select(sa.func.count()).select_from(Quarantine).where(Quarantine.resolved_at.is_(None))
    )
    pending = session.scalar(
        sa.select(sa.func.count())
        .select_from(Photo)
        .outerjoin(Blob, Blob.sha256 == Photo.sha256)
        .where(Blob.sha256.is_(None), Photo.deleted_at.is_(None))
    )
    return Backlog(quarantined=int(quarantined or 0), pending_uploads=int(pending or 0))
