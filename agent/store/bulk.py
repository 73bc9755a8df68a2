"""Rows written in bulk by ingest: a new finding's stored JSON built from one serialization, and INSERTs of many
rows that skip SQLAlchemy's per-row work on SQLite.

For scans of any size (100,000 findings is a few seconds of this). The rows are the ones the Core INSERT would
write, value for value: a finding's `data` is its JSON as the JSON column serializer (schema._json_text) writes
it; on SQLite the DB-API driver gets the values the column types would bind (text unchanged, JSON as its text,
times through the column type's own bind processor, worked out once per distinct time). Other databases
(PostgreSQL) take the same rows through SQLAlchemy Core, where the column types do the binding. On SQLite a scan's
transaction also gets a bigger page cache (bulk_page_cache).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime

import sqlalchemy as sa
from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError
from sqlalchemy.engine import Connection

from agent.models import Finding
from agent.store.schema import JsonText, _json_text, _Text

_TIME = TypeAdapter(datetime)
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
    try:
        text = finding.model_dump_json() if type(finding) is Finding else None
    except PydanticSerializationError:
        text = None
    cut = text.rfind(_TIMES_KEY) if text is not None else -1
    rest = text.find(_AFTER_STATUS_KEY, cut) if text is not None and cut >= 0 else -1
    if text is None or rest < 0:
        return JsonText(_json_text(finding.model_copy(update={"first_seen": at, "last_seen": at, "status": "open"})))
    return JsonText(f'{text[:cut]}{_TIMES_KEY}{stamp},"last_seen":{stamp},"status":"open",{text[rest:]}')


def insert_rows(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT `rows` (tuples of values in `columns` order; JSON columns hold JsonText) into `table`, in one
    executemany. On SQLite straight to the driver: text and JSON columns need no binding there, other columns
    go through their type's bind processor (remembered for recent values: a scan's rows share one time)."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    bound: list[tuple[int, Callable[[object], object]]] = []
    for position, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, sa.JSON):
            if not all(isinstance(row[position], JsonText) for row in rows):
                raise TypeError(f"{table.name}.{name}: bulk rows hold JSON as JsonText")
            continue
        if isinstance(column_type, _Text):
            continue  # its binding changes text on PostgreSQL only
        processor = column_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if processor is not None:
            bound.append((position, functools.lru_cache(maxsize=64)(processor)))
    if bound:
        rows = [_bind(row, bound) for row in rows]
    placeholders = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})", rows)


def _bind(row: tuple, bound: list[tuple[int, Callable[[object], object]]]) -> tuple:
    values = list(row)
    for position, processor in bound:
        values[position] = processor(values[position])
    return tuple(values)


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
