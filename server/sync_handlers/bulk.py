"""A batch's new rows written with one statement per table: on PostgreSQL each column travels as one binary array
and ``unnest`` makes the rows (psycopg sends an executemany as one query per row, a sixth of a push's CPU, and a
text array is escaped element by element in Python, three times the binary one's cost); other engines take the
executemany."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect


class BinaryArray(list[Any]):
    """A column's values, sent by psycopg as one binary array on the connections register_binary_arrays prepared
    (elsewhere as a text array, as any list)."""


def register_binary_arrays(dbapi_connection: Any, _record: Any = None) -> None:
    """SQLAlchemy's "connect" listener: psycopg sends BinaryArray values in binary (elements dumped in C, no
    escaping); the cast around each parameter gives its type."""
    adapters = getattr(dbapi_connection, "adapters", None)
    if adapters is None:  # not psycopg (SQLite)
        return
    from psycopg.types.array import ListBinaryDumper

    adapters.register_dumper(BinaryArray, ListBinaryDumper)


def insert_rows(connection: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same column keys; a column left out takes its database default) into
    ``table``, as ``connection.execute(sa.insert(table), rows)`` does."""
    if rows:
        insert_columns(connection, table, {key: [row[key] for row in rows] for key in rows[0]})


def insert_columns(connection: Connection, table: sa.Table, columns: dict[str, list[Any]]) -> None:
    """insert_rows for rows given column by column: ``columns`` maps column keys to equally long lists of values."""
    count = len(next(iter(columns.values()), []))
    if not count:
        return
    dialect = connection.dialect
    if dialect.name != "postgresql":
        keys = list(columns)
        connection.execute(
            sa.insert(table),
            [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)],
        )
        return
    statement, converters = _unnest_insert(table, dialect, tuple(columns))
    arrays = {}
    for param, key, process in converters:
        values = columns[key]
        arrays[param] = (
            BinaryArray(process(value) for value in values) if process is not None else BinaryArray(values)
        )
    connection.execute(statement, arrays)


@functools.cache
def _unnest_insert(
    table: sa.Table, dialect: Dialect, keys: tuple[str, ...]
) -> tuple[Any, list[tuple[str, str, Callable[..., Any] | None]]]:
    """The INSERT … SELECT FROM unnest(…) of ``table``'s columns ``keys`` and, per column, its parameter, key and
    the type's own conversion of a value for the driver (what an executemany applies; these parameters are
    untyped)."""
    preparer = dialect.identifier_preparer
    columns = []
    casts = []
    written = [table.columns[key] for key in keys]
    for index, column in enumerate(written):
        param = f"c{index}"
        columns.append((param, column.key, column.type.dialect_impl(dialect).bind_processor(dialect)))
        casts.append(f"CAST(:{param} AS {_array_element(column.type, dialect)}[])")
    names = ", ".join(preparer.quote(column.name) for column in written)
    text = f"INSERT INTO {preparer.format_table(table)} ({names}) SELECT * FROM unnest({', '.join(casts)})"
    return sa.text(text), columns


def _array_element(type_: Any, dialect: Dialect) -> str:
    """The array's element type: the column's, without a length or scale. An explicit cast to varchar(n) cuts a
    longer text and one to numeric(p, s) rounds, silently; the INSERT's own assignment refuses or rounds as an
    executemany's would."""
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    if isinstance(type_, sa.String):  # Text and the non-native Enum too
        return "VARCHAR"
    if isinstance(type_, sa.Numeric) and not isinstance(type_, sa.Float):
        return "NUMERIC"
    return str(type_.compile(dialect=dialect))
