"""Declarative base, column types and mixins shared by every model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm.attributes import manager_of_class
from sqlalchemy.types import TypeDecorator

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model; its metadata carries the naming convention."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def lists_as_arrays(session: Any) -> bool:
    """Whether ``one_of``/``none_of`` pass their lists as one array parameter on ``session``'s database
    (PostgreSQL); every caller asks here."""
    return bool(session.get_bind().dialect.name == "postgresql")


def one_of(column: Any, name: str, *, arrays: bool, values: Any = None) -> sa.ColumnElement[bool]:
    """SQL: ``column`` is one of the list parameter ``name`` (bound to ``values`` when given). With ``arrays`` (on
    PostgreSQL) one array parameter: the statement's text is the same for any number of values, so the database
    and the driver reuse its plan and conversion, and thousands of values are not rendered one by one; elsewhere
    an expanding IN."""
    if arrays:
        return column == sa.any_(sa.bindparam(name, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(name, values, expanding=True))


def none_of(column: Any, name: str, *, arrays: bool, values: Any = None) -> sa.ColumnElement[bool]:
    """SQL: ``column`` is none of the list parameter ``name``, passed as ``one_of`` passes it."""
    if arrays:
        return column != sa.all_(sa.bindparam(name, values, type_=postgresql.ARRAY(column.type)))
    return column.not_in(sa.bindparam(name, values, expanding=True))


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp always stored and returned as aware UTC (SQLite itself keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes: a time without a zone is a bug waiting to happen."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware (UTC) datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give every timestamp back as aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum_cls: Any, length: int = 32) -> sa.Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, storing the member values."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        name=enum_cls.__name__.lower(),
        validate_strings=True,
    )


def new_uuid() -> uuid.UUID:
    """A random UUID (entities made on a device carry their own)."""
    return uuid.uuid4()


class TimestampMixin:
    """Creation and last-update times kept by the server."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SyncMixin:
    """Rows that devices pull: a row version for conflict checks, the change number of the last
    write (assigned in commit order by the sync engine) and a tombstone time for deletions."""

    #: Fields whose change alone is not sent to devices (no new change number).
    unsynced_fields: ClassVar[frozenset[str]] = frozenset()

    row_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    change_no: Mapped[int] = mapped_column(sa.BigInteger, default=0, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def bare_row(model: Any, **values: Any) -> Any:
    """A new transient row of ``model`` holding ``values``, made without the constructor's per-attribute events
    (a seventh of its cost): added to a session, it is inserted as any new row; kept aside, a push inserts it in
    bulk. Later changes through its attributes work as on any row."""
    obj = manager_of_class(model).new_instance()
    obj.__dict__.update(values)
    return obj
