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

from server.extensions import BinaryArray


def insert_columns(connection: Connection, table: sa.Table, columns: dict[str, list[Any]]) -> None:
    """Insert rows given column by column (``columns`` maps column keys to equally long lists of values; a column
    left out takes its database default) into ``table``, as ``connection.execute(sa.insert(table), rows)`` does."""
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
