import sqlite3

import pytest

from stats.counts import count_rows


def test_counts():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE orders (id INTEGER)")
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.executemany("INSERT INTO orders VALUES (?)", [(1,), (2,)])
    assert count_rows(conn, "orders") == 2
    assert count_rows(conn, "customers") == 0
    with pytest.raises(ValueError):
        count_rows(conn, "users")
