"""The book catalogue."""
import sqlite3

_QUERIES = {
    "title": "SELECT title FROM books ORDER BY title",
    "year": "SELECT title FROM books ORDER BY year",
    "id": "SELECT title FROM books ORDER BY id",
}


def open_catalog(rows):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, year INTEGER)")
    conn.execute("CREATE TABLE staff (name TEXT, pin TEXT)")
    conn.executemany("INSERT INTO books (title, year) VALUES (?, ?)", rows)
    conn.execute("INSERT INTO staff VALUES ('admin', '7391')")
    return conn


def list_books(conn, sort="title"):
    """Titles sorted by the column the reader picked: "title", "year" or "id"."""
    try:
        query = _QUERIES[sort]
    except KeyError:
        raise ValueError(f"cannot sort by {sort!r}") from None
    return [row[0] for row in conn.execute(query)]
