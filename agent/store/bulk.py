"""Rows written in bulk by ingest: a new finding's stored JSON built from one serialization, and INSERTs and
UPDATEs of many rows that skip SQLAlchemy's per-row work.

For scans of any size (100,000 findings is a second or two of this). The rows are the ones the Core statement
would write, value for value: a finding's `data` is its JSON as the JSON column serializer (schema._json_text)
writes it, and the driver gets the values the column types would bind (JSON as its text, text unchanged on
SQLite and without NUL on PostgreSQL, times through the column type's own bind processor, worked out once per
distinct time). SQLite takes them in one executemany on the driver; PostgreSQL through psycopg in one COPY
(an UPDATE: COPY to a temporary table, then one UPDATE … FROM it), both on the caller's connection, so in its
transaction; another driver through SQLAlchemy Core. On SQLite a scan's transaction also gets a bigger page
cache (bulk_page_cache).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from operator import itemgetter

import sqlalchemy as sa
from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError
from sqlalchemy.engine import Connection

from agent.models import Finding
from agent.store.schema import JsonText, _json_text, _Text

_TIME = TypeAdapter(datetime)
_FINDING_JSON = Finding.__pydantic_serializer__.to_json  # what Finding.model_dump_json() calls, with its defaults
BULK_CACHE_KIB = 65536  # SQLite page cache of a scan's transaction: a few hundred thousand findings' index pages
_TIMES_KEY = ',"first_seen":'
_AFTER_STATUS_KEY = '"fixed_at":'


def time_json(at: datetime) -> str:
    """`at` as a record's JSON writes a datetime field (pydantic's serializer)."""
    return _TIME.dump_json(at).decode()


def first_report_json(finding: Finding, stamp: str, at: datetime) -> JsonText:
    """The stored JSON of `finding` first reported at `at` (`stamp`: time_json(at)): its own JSON with first_seen
    and last_seen at `at` and status open, exactly what `finding.model_copy(update=…)` would serialize to. The
    times and status are the record's last fields but two, after every text a scanner chose, so they are cut out
    of one serialization instead of copying the record; a record whose JSON does not end that way (another
    model, text pydantic cannot encode) takes the copy."""
    try:  # model_dump_json() without its wrapper's keyword passing (a tenth of the time at 100,000 findings)
        text = _FINDING_JSON(finding).decode() if type(finding) is Finding else None
    except PydanticSerializationError:
        text = None
    cut = text.rfind(_TIMES_KEY) if text is not None else -1
    rest = text.find(_AFTER_STATUS_KEY, cut) if text is not None and cut >= 0 else -1
    if text is None or rest < 0:
        return JsonText(_json_text(finding.model_copy(update={"first_seen": at, "last_seen": at, "status": "open"})))
    return JsonText(f'{text[:cut]}{_TIMES_KEY}{stamp},"last_seen":{stamp},"status":"open",{text[rest:]}')


def insert_rows(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT `rows` (tuples of values in `columns` order; JSON columns hold JsonText) into `table`, in order,
    on the caller's connection (its transaction). SQLite gets one executemany straight to the driver;
    PostgreSQL through psycopg one COPY (rows in order, so serial ids are numbered as an INSERT per row would
    number them); another driver SQLAlchemy Core's executemany. Values are bound as in _bind_rows."""
    if not rows:
        return
    bound = _bind_rows(conn, table, columns, rows)
    if bound is None:
        conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
    elif conn.dialect.name == "sqlite":
        placeholders = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})", bound)
    else:
        _copy_rows(conn, table.name, columns, bound)


def update_rows(conn: Connection, table: sa.Table, key: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """UPDATE `table` SET `columns` WHERE `key` matches, one row per tuple (values in `columns` order, then the
    key's value; JSON columns hold JsonText; keys unique), on the caller's connection. SQLite: one executemany
    straight to the driver; PostgreSQL through psycopg: the rows COPYed into a temporary table, then one
    UPDATE … FROM it; another driver: SQLAlchemy Core's executemany. Values are bound as in _bind_rows."""
    if not rows:
        return
    if len({row[-1] for row in rows}) != len(rows):
        raise ValueError(f"update_rows: {table.name} rows repeat a {key}")
    names = (*columns, key)
    bound = _bind_rows(conn, table, names, rows)
    if bound is None:
        statement = table.update().where(table.c[key] == sa.bindparam("b_" + key)).values(
            {name: sa.bindparam("b_" + name) for name in columns})
        conn.execute(statement, [{"b_" + name: value for name, value in zip(names, row, strict=True)}
                                 for row in rows])
        return
    if conn.dialect.name == "sqlite":
        assignments = ", ".join(f"{name} = ?" for name in columns)
        conn.exec_driver_sql(f"UPDATE {table.name} SET {assignments} WHERE {key} = ?", bound)
        return
    quote = conn.dialect.identifier_preparer.quote
    staging = f"suture_bulk_{table.name}"
    target, staged, listed = quote(table.name), quote(staging), ", ".join(map(quote, names))
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {staged} AS SELECT {listed} FROM {target} WITH NO DATA")
    _copy_rows(conn, staging, names, bound)
    assignments = ", ".join(f"{quote(name)} = s.{quote(name)}" for name in columns)
    conn.exec_driver_sql(f"UPDATE {target} SET {assignments} FROM {staged} AS s "
                         f"WHERE {target}.{quote(key)} = s.{quote(key)}")
    conn.exec_driver_sql(f"DROP TABLE {staged}")


def _bind_rows(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> list | None:
    """`rows` with each value as the column's type would bind it for the driver, or None when this driver
    takes them through SQLAlchemy Core. JSON columns must hold JsonText, which is their text as the JSON
    serializer writes it; SQLite's text columns need no binding (_Text changes text on PostgreSQL only: NUL);
    other columns go through their type's bind processor, once per distinct object."""
    dialect = conn.dialect
    if dialect.name != "sqlite" and (dialect.name, dialect.driver) != ("postgresql", "psycopg"):
        return None
    bound: list[tuple[int, Callable[[object], object]]] = []
    for position, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, sa.JSON):
            if not all(issubclass(kind, JsonText) for kind in set(map(type, map(itemgetter(position), rows)))):
                raise TypeError(f"{table.name}.{name}: bulk rows hold JSON as JsonText")
            continue
        if isinstance(column_type, _Text) and dialect.name == "sqlite":
            continue  # its binding changes text on PostgreSQL only
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            bound.append((position, processor))
    if not bound:
        return rows
    values: list[Sequence] = list(zip(*rows, strict=True))  # column by column
    for position, binding in bound:
        values[position] = _bound_column(values[position], binding)
    return list(zip(*values, strict=True))


def _copy_rows(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY bound `rows` into `table` through the psycopg connection under `conn` (so in its transaction); a
    driver error is raised as SQLAlchemy's DBAPIError, as a Core statement's would be."""
    quote = conn.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN"
    driver = conn.connection.driver_connection
    assert driver is not None  # a live connection: the caller's transaction is open on it
    error = conn.dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, error, dialect=conn.dialect) from exc


def _bound_column(values: Sequence, processor: Callable[[object], object]) -> list:
    """`values` through `processor`, called once per distinct object (by identity: equal values can bind
    differently, e.g. one instant in two time zones)."""
    done = {key: processor(value) for key, value in {id(value): value for value in values}.items()}
    return list(map(done.__getitem__, map(id, values)))


@contextmanager
def bulk_page_cache(conn: Connection, kib: int = BULK_CACHE_KIB) -> Iterator[None]:
    """On SQLite, a page cache of up to `kib` KiB for the block (the default is 2 MiB), restored after it. A scan
    inserts into indexes keyed by random ids (findings' primary key, events' subject): with the default cache
    most of those inserts evict an index page and read another back, and dirty pages are spilled to the WAL
    mid-transaction. Only the cache's size changes: what is written and when it is committed are the same. The
    memory is taken only as pages are used, and given back when the size is restored."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    except BaseException:
        with suppress(sa.exc.DBAPIError):  # a connection that failed keeps its error, not this one's
            conn.exec_driver_sql(f"PRAGMA cache_size = {before}")
        raise
    conn.exec_driver_sql(f"PRAGMA cache_size = {before}")
