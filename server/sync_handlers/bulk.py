"""A batch's new rows written in one statement: on PostgreSQL each column travels as one binary array, ``unnest``
makes the rows, and each table's INSERT is a WITH clause of the statement (psycopg sends an executemany as one
query per row, a sixth of a push's CPU, and a text array is escaped element by element in Python, three times the
binary one's cost); other engines take an executemany per table."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from server.extensions import BinaryArray


def insert_tables(connection: Connection, writes: Sequence[tuple[sa.Table, dict[str, list[Any]]]]) -> None:
    """Insert rows given column by column into each table of ``writes`` in turn (parents before children; each
    ``columns`` maps column keys to equally long lists of values, a column left out taking its database default),
    as ``connection.execute(sa.insert(table), rows)`` does for each; on PostgreSQL as one
    statement, each table's INSERT a WITH clause of it: a statement's foreign keys are checked at its end, and a
    push's fixed cost is mostly its statements (about 0.2 ms of CPU each, for the app and the database)."""
    writes = [(table, columns) for table, columns in writes if len(next(iter(columns.values()), []))]
    if not writes:
        return
    dialect = connection.dialect
    if dialect.name != "postgresql":
        for table, columns in writes:
            keys = list(columns)
            connection.execute(
                sa.insert(table),
                [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)],
            )
        return
    statement, converters = _unnest_inserts(
        tuple((table, tuple(columns)) for table, columns in writes), dialect
    )
    arrays = {}
    for (_table, columns), table_converters in zip(writes, converters, strict=True):
        for param, key, process in table_converters:
            values = columns[key]
            arrays[param] = (
                BinaryArray(process(value) for value in values)
                if process is not None
                else BinaryArray(values)
            )
    connection.execute(statement, arrays)


@functools.cache
def _unnest_inserts(
    tables: tuple[tuple[sa.Table, tuple[str, ...]], ...], dialect: Dialect
) -> tuple[Any, list[list[tuple[str, str, Callable[..., Any] | None]]]]:
    """The one statement inserting into each of ``tables`` (with its column keys) and, per table, its
    parameters (see _unnest_insert); the last INSERT is the statement's own, those before it WITH clauses."""
    texts, converters = [], []
    for index, (table, keys) in enumerate(tables):
        text, columns = _unnest_insert(table, dialect, keys, f"t{index}c")
        texts.append(text)
        converters.append(columns)
    *earlier, last = texts
    clauses = ", ".join(f"w{index} AS ({text})" for index, text in enumerate(earlier))
    return sa.text(f"WITH {clauses} {last}" if clauses else last), converters


def _unnest_insert(
    table: sa.Table, dialect: Dialect, keys: tuple[str, ...], prefix: str
) -> tuple[str, list[tuple[str, str, Callable[..., Any] | None]]]:
    """The INSERT … SELECT FROM unnest(…) of ``table``'s columns ``keys`` and, per column, its parameter (named
    ``prefix`` and its position), key and the type's own conversion of a value for the driver (what an executemany
    applies; these parameters are untyped)."""
    preparer = dialect.identifier_preparer
    columns = []
    casts = []
    written = [table.columns[key] for key in keys]
    for index, column in enumerate(written):
        param = f"{prefix}{index}"
        columns.append((param, column.key, column.type.dialect_impl(dialect).bind_processor(dialect)))
        casts.append(f"CAST(:{param} AS {_array_element(column.type, dialect)}[])")
    names = ", ".join(preparer.quote(column.name) for column in written)
    text = f"INSERT INTO {preparer.format_table(table)} ({names}) SELECT * FROM unnest({', '.join(casts)})"
    return text, columns


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
