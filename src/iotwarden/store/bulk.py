"""Bulk writes shared by the repositories: many rows per statement through the driver's own
executemany, new ids in row order, and upserts on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, LargeBinary
from sqlalchemy.dialects import postgresql, sqlite

#: Rows or keys per statement where a statement takes a list (IN clauses, upserts).
CHUNK = 500


# Types whose values go to both drivers as they are: JSON arrives serialised from prepare();
# sqlite3 and psycopg adapt bool and bytes themselves. Only date-times need SQLAlchemy's help
# (SQLite stores them as text in SQLAlchemy's own format).
_NATIVE_TYPES = (JSON, Boolean, LargeBinary)


def bulk_insert(
    conn: Connection, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT many rows through the driver's executemany, converting values with each column
    type's own bind processor (as SQLAlchemy would) but without its per-row statement work,
    which costs more than the database write itself at feed scale. JSON columns arrive
    already serialised (see :func:`iotwarden.store.rows.prepare`)."""
    dialect = conn.dialect
    converting = []
    for i, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, _NATIVE_TYPES):
            continue
        proc = column_type._cached_bind_processor(dialect)
        if proc is not None:
            converting.append((i, proc))
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    sql = (
        f"INSERT INTO {table.name} ({quoted}) "  # noqa: S608 - names come from our schema
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    if converting:
        converted_rows = []
        for row in rows:
            values = list(row)
            for i, proc in converting:
                if values[i] is not None:
                    values[i] = proc(values[i])
            converted_rows.append(tuple(values))
        rows = converted_rows
    if dialect.name == "postgresql":
        _copy(conn, table.name, quoted, rows)
        return
    conn.exec_driver_sql(sql, rows)


def _copy(conn: Connection, table: str, quoted: str, rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL's COPY: one stream for all the rows, where executemany sends a message per
    row (about three times the throughput at feed scale)."""
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        copy_sql = f"COPY {table} ({quoted}) FROM STDIN"
        with cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)


def insert_returning_ids(
    conn: Connection, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[int]:
    """Insert rows and return their new primary keys in row order."""
    if conn.dialect.name == "sqlite":
        # One executemany inside our write transaction: SQLite holds the write lock throughout
        # and numbers the rows consecutively after the current largest rowid.
        bulk_insert(conn, table, columns, rows)
        last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        return list(range(last - len(rows) + 1, last + 1))
    # PostgreSQL numbers rows from a sequence shared with other writers: take the ids from it
    # (one query for all), then write the rows with them through COPY.
    if not rows:
        return []
    sequence = conn.exec_driver_sql(
        f"SELECT pg_get_serial_sequence('{table.name}', 'id')"
    ).scalar_one()
    ids = [
        int(value)
        for (value,) in conn.exec_driver_sql(
            f"SELECT nextval('{sequence}') FROM generate_series(1, {len(rows)})"  # noqa: S608
        )
    ]
    bulk_insert(
        conn, table, ["id", *columns], [(i, *row) for i, row in zip(ids, rows, strict=True)]
    )
    return ids


def upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    if not rows:
        return
    dialect = conn.dialect.name
    builder: Any
    if dialect == "sqlite":
        builder = sqlite.insert
    elif dialect == "postgresql":
        builder = postgresql.insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(dialect)
    for start in range(0, len(rows), CHUNK * 4):
        chunk = rows[start : start + CHUNK * 4]
        stmt = builder(table)
        updates = {c: stmt.excluded[c] for c in chunk[0] if c not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates), chunk)
