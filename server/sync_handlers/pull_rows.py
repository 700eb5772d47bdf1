"""Pulled rows read as plain column values, without ORM instances: a pull sends every visible row of a county to
every tablet, so the server's CPU per pulled row is what grows with the number of devices.

Values are made JSON-ready exactly as ``common.jsonable`` would make them, but the conversion is chosen once per
Python type (a dict lookup per value) instead of an isinstance chain per value.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync.engine import Change

#: Type → conversion (None: the value travels as it is). Filled on first sight of each type; a type's
#: conversion depends on its class alone, so one lookup stands for jsonable's isinstance chain.
_BY_TYPE: dict[type, Callable[[Any], Any] | None] = {
    str: None,
    int: None,
    float: None,
    bool: None,
    type(None): None,
}


def json_ready(value: Any) -> Any:
    """A value as it travels in JSON (the same result as jsonable)."""
    kind = type(value)
    try:
        convert = _BY_TYPE[kind]
    except KeyError:
        convert = _BY_TYPE[kind] = _conversion_for(kind)
    return value if convert is None else convert(value)


def _conversion_for(kind: type) -> Callable[[Any], Any] | None:
    """How jsonable treats values of ``kind``, decided in its order of checks."""
    if issubclass(kind, Enum):
        return _enum_value
    if issubclass(kind, uuid.UUID):
        return str
    if issubclass(kind, datetime | date):
        return _isoformat
    if issubclass(kind, Decimal):
        return str
    if issubclass(kind, Mapping):
        return _mapping
    if issubclass(kind, list | tuple):
        return _sequence
    return None


def _enum_value(value: Enum) -> Any:
    return value.value


def _isoformat(value: date) -> str:
    return value.isoformat()


def _mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): json_ready(v) for k, v in value.items()}


def _sequence(value: Sequence[Any]) -> list[Any]:
    return [json_ready(v) for v in value]


#: Statements a PulledColumns keeps, one per key (an entity and a scope): a worker serves a county's tablets.
_STATEMENTS_KEPT = 1024


class PulledColumns:
    """What a handler sends of each row of one table: the data keys and the columns they come from, chosen
    once per handler. JSON columns travel as loaded (their values are JSON already); a key given with None
    for a column is left for ``fill`` to set (e.g. a list from another table)."""

    def __init__(self, table: sa.Table, fields: Sequence[tuple[str, Any]]) -> None:
        self.table = table
        self.keys = tuple(key for key, _ in fields)
        # An enum column read as the text it stores, which is its member's value (enum_column stores values): what
        # jsonable would make of the member, without making the member first.
        self.columns = [
            sa.type_coerce(column, sa.String()) if _stores_values(column.type) else column
            for _, column in fields
            if column is not None
        ]
        self.filled = tuple(key for key, column in fields if column is None)
        # Only columns whose values may need converting are looked at, row by row: JSON travels as loaded, and
        # text, integer, float and boolean columns give values jsonable leaves as they are.
        self.checked = tuple(
            index for index, column in enumerate(self.columns) if not _as_loaded(column.type)
        )
        head = (table.c.change_no, table.c.id, table.c.row_version, table.c.deleted_at)
        self.select = sa.select(*head, *self.columns)
        self._statements: dict[Hashable, Any] = {}

    def _statement(self, visible: Any) -> Any:
        """The page's statement for one visibility condition, the range and the limit left as parameters."""
        table = self.table
        query = self.select.where(
            table.c.change_no > sa.bindparam("after", type_=sa.BigInteger),
            table.c.change_no <= sa.bindparam("upto", type_=sa.BigInteger),
        )
        if visible is not None:
            query = query.where(visible)
        return query.order_by(table.c.change_no).limit(sa.bindparam("limit", type_=sa.Integer))

    def changes(
        self,
        session: Session,
        entity: str,
        visible: Callable[[], Any],
        after: int,
        upto: int,
        limit: int,
        fill: Callable[[Session, dict[Any, dict[str, Any]]], None] | None = None,
        *,
        key: Hashable = None,
    ) -> list[Change]:
        """Rows matching the condition ``visible()`` gives (None: every row) with a change number in (after, upto],
        lowest first, at most ``limit``, as pull changes (deleted rows as tombstones); ``fill`` sets the keys left
        to it, given id → data of the page's live rows. ``key`` (optional) names what the condition depends on
        (e.g. the entity and the principal's scope): the statement is then built once per key and reused."""
        statement = self._statements.get(key) if key is not None else None
        if statement is None:
            statement = self._statement(visible())
            if key is not None:
                if len(self._statements) >= _STATEMENTS_KEPT:
                    self._statements.clear()  # many scopes seen by this worker: start again, simply
                self._statements[key] = statement
        # A Core statement on the session's connection: plain rows, without the ORM's execution layer.
        rows = session.connection().execute(statement, {"after": after, "upto": upto, "limit": limit}).all()
        keys, checked, filled = self.keys, self.checked, self.filled
        by_type = _BY_TYPE
        changes: list[Change] = []
        live: dict[Any, dict[str, Any]] = {}
        for change_no, row_id, version, deleted_at, *values in rows:
            if deleted_at is not None:
                changes.append(Change(change_no, entity, str(row_id), version, True, None))
                continue
            for index in checked:
                value = values[index]
                convert = by_type.get(type(value), json_ready)
                if convert is not None:
                    values[index] = convert(value)
            data = dict(zip(keys, values, strict=True)) if not filled else _with_filled(keys, filled, values)
            live[row_id] = data
            changes.append(Change(change_no, entity, str(row_id), version, False, data))
        if fill is not None and live:
            fill(session, live)
        return changes


def _as_loaded(kind: Any) -> bool:
    """Whether a column's values travel as the driver gives them: JSON, text (an enum read as its stored value
    included), integers, floats and booleans (the types' own result processing makes them so on every dialect)."""
    if isinstance(kind, sa.Enum):
        return False  # a member, unless read as its text (then the column's type is String)
    if isinstance(kind, sa.Float):
        return not kind.asdecimal
    return isinstance(kind, sa.JSON | sa.String | sa.Integer | sa.Boolean)


def _stores_values(kind: Any) -> bool:
    """Whether a column type is an enum of Python members that stores each member's value (as enum_column
    makes them): then the stored text is exactly the value a device receives."""
    if not isinstance(kind, sa.Enum) or kind.enum_class is None:
        return False
    members = list(kind.enum_class)
    return [str(m.value) for m in members] == list(kind.enums) and all(
        isinstance(m.value, str) for m in members
    )


def _with_filled(keys: tuple[str, ...], filled: tuple[str, ...], values: list[Any]) -> dict[str, Any]:
    """The data in key order, with the keys ``fill`` sets holding None for now."""
    given = iter(values)
    return {key: None if key in filled else next(given) for key in keys}


def named(table: sa.Table, keys: Sequence[str]) -> list[tuple[str, Any]]:
    """Fields sent under their own column's name."""
    return [(key, table.c[key]) for key in keys]
