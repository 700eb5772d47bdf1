"""A batch's new rows written in one statement: on PostgreSQL each column travels as one binary array, ``unnest``
makes the rows, and each table's INSERT is a WITH clause of the statement (psycopg sends an executemany as one
query per row, a sixth of a push's CPU, and a text array is escaped element by element in Python, three times the
binary one's cost); other engines take an executemany per table."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from server.extensions import BinaryArray


@dataclass(frozen=True)
class Numbering:
    """Rows numbered from a counter as they are inserted: ``column`` of every table that has it takes the next
    values of the one-row ``counter`` table (its ``value`` column, in the row whose id is ``counter_id``), table
    after table and each table's rows in their given order. Incrementing the counter locks its row until the
    transaction ends."""

    column: str
    counter: sa.Table
    counter_id: int = 1


def take_numbers(connection: Connection, numbering: Numbering, count: int) -> int:
    """Take ``count`` consecutive numbers from ``numbering``'s counter (locking its row until the transaction
    ends); returns the first."""
    counter = numbering.counter
    top = connection.execute(
        sa.update(counter)
        .where(counter.c.id == numbering.counter_id)
        .values(value=counter.c.value + count)
        .returning(counter.c.value)
    ).scalar_one()
    return int(top) - count + 1


def insert_tables(
    connection: Connection,
    writes: Sequence[tuple[sa.Table, dict[str, list[Any]]]],
    numbering: Numbering | None = None,
) -> int | None:
    """Insert rows given column by column into each table of ``writes`` in turn (parents before children; each
    ``columns`` maps column keys to equally long lists of values, a column left out taking its database default),
    as ``connection.execute(sa.insert(table), rows)`` does for each; on PostgreSQL as one
    statement, each table's INSERT a WITH clause of it: a statement's foreign keys are checked at its end, and a
    push's fixed cost is mostly its statements (about 0.2 ms of CPU each, for the app and the database).

    With ``numbering``, the rows' numbers are taken as they are written and written into their lists too; returns
    the first (None without ``numbering``, or when no row is numbered). On PostgreSQL the same statement takes
    them: the counter's row is locked from the rows' insertion on, with none of the app's work in between."""
    writes = [(table, columns) for table, columns in writes if len(next(iter(columns.values()), []))]
    numbered = [
        columns[numbering.column] for _table, columns in writes if numbering and numbering.column in columns
    ]
    count = sum(len(numbers) for numbers in numbered)
    if not writes:
        return None
    dialect = connection.dialect
    if dialect.name != "postgresql":
        first = take_numbers(connection, numbering, count) if numbering and count else None
        if first is not None:
            _fill(numbered, first)
        for table, columns in writes:
            keys = list(columns)
            connection.execute(
                sa.insert(table),
                [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)],
            )
        return first
    by_counter = numbering if count else None
    statement, converters = _unnest_inserts(
        tuple((table, tuple(columns)) for table, columns in writes), dialect, by_counter
    )
    arrays: dict[str, Any] = {}
    for (_table, columns), table_converters in zip(writes, converters, strict=True):
        for param, key, process in table_converters:
            values = columns[key]
            arrays[param] = (
                BinaryArray(process(value) for value in values)
                if process is not None
                else BinaryArray(values)
            )
    if by_counter is None:
        connection.execute(statement, arrays)
        return None
    offset = 0
    for index, (_table, columns) in enumerate(writes):
        if by_counter.column in columns:
            arrays[f"n_offset{index}"] = offset
            offset += len(columns[by_counter.column])
    first = int(
        connection.execute(
            statement, {**arrays, "n_count": count, "n_id": by_counter.counter_id}
        ).scalar_one()
    )
    _fill(numbered, first)
    return first


def _fill(numbered: list[list[Any]], first: int) -> None:
    """Write consecutive numbers from ``first`` into the lists, list after list."""
    number = first
    for numbers in numbered:
        for index in range(len(numbers)):
            numbers[index] = number
            number += 1


@functools.cache
def _unnest_inserts(
    tables: tuple[tuple[sa.Table, tuple[str, ...]], ...], dialect: Dialect, numbering: Numbering | None = None
) -> tuple[Any, list[list[tuple[str, str, Callable[..., Any] | None]]]]:
    """The one statement inserting into each of ``tables`` (with its column keys) and, per table, its
    parameters (see _unnest_insert); the last INSERT is the statement's own, those before it WITH clauses. With
    ``numbering``, a first WITH clause takes the numbers from the counter, each table's INSERT a WITH clause too,
    and the statement returns the first number."""
    texts, converters = [], []
    for index, (table, keys) in enumerate(tables):
        counted = numbering if numbering is not None and numbering.column in keys else None
        text, columns = _unnest_insert(table, dialect, keys, f"t{index}c", counted, f"n_offset{index}")
        texts.append(text)
        converters.append(columns)
    if numbering is not None:
        preparer = dialect.identifier_preparer
        counter = preparer.format_table(numbering.counter)
        take = (
            f"n AS (UPDATE {counter} SET value = value + CAST(:n_count AS BIGINT) WHERE id = :n_id "
            "RETURNING value - CAST(:n_count AS BIGINT) + 1 AS first)"
        )
        clauses = ", ".join([take, *(f"w{index} AS ({text})" for index, text in enumerate(texts))])
        return sa.text(f"WITH {clauses} SELECT first FROM n"), converters
    *earlier, last = texts
    clauses = ", ".join(f"w{index} AS ({text})" for index, text in enumerate(earlier))
    return sa.text(f"WITH {clauses} {last}" if clauses else last), converters


def _unnest_insert(
    table: sa.Table,
    dialect: Dialect,
    keys: tuple[str, ...],
    prefix: str,
    numbering: Numbering | None = None,
    offset: str = "",
) -> tuple[str, list[tuple[str, str, Callable[..., Any] | None]]]:
    """The INSERT … SELECT FROM unnest(…) of ``table``'s columns ``keys`` and, per column, its parameter (named
    ``prefix`` and its position), key and the type's own conversion of a value for the driver (what an executemany
    applies; these parameters are untyped). With ``numbering``, its column is not a parameter: each row takes the
    counter clause's first number plus the parameter ``offset`` plus its position."""
    preparer = dialect.identifier_preparer
    columns = []
    casts = []
    sent = [key for key in keys if numbering is None or key != numbering.column]
    for index, column in enumerate(table.columns[key] for key in sent):
        param = f"{prefix}{index}"
        columns.append((param, column.key, column.type.dialect_impl(dialect).bind_processor(dialect)))
        casts.append(f"CAST(:{param} AS {_array_element(column.type, dialect)}[])")
    source = f"unnest({', '.join(casts)})"
    if numbering is None:
        names = ", ".join(preparer.quote(table.columns[key].name) for key in sent)
        return f"INSERT INTO {preparer.format_table(table)} ({names}) SELECT * FROM {source}", columns
    aliases = [f"u{index}" for index in range(len(sent))]
    names = ", ".join(preparer.quote(table.columns[key].name) for key in [*sent, numbering.column])
    picked = ", ".join(
        [*(f"u.{alias}" for alias in aliases), f"n.first + CAST(:{offset} AS BIGINT) + u.position - 1"]
    )
    text = (
        f"INSERT INTO {preparer.format_table(table)} ({names}) SELECT {picked} "
        f"FROM {source} WITH ORDINALITY AS u({', '.join([*aliases, 'position'])}) CROSS JOIN n"
    )
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
