"""The book catalogue."""
import sqlite3


def open_catalog(rows):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, year INTEGER)")
    conn.execute("CREATE TABLE staff (name TEXT, pin TEXT)")
    conn.executemany("INSERT INTO books (title, year) VALUES (?, ?)", rows)
    conn.execute("INSERT INTO staff VALUES ('admin', '7391')")
    return conn


def list_books(conn, sort="title"):
    """Titles sorted by the column the reader picked: "title", "year" or "id"."""
    query = "SELECT title FROM books ORDER BY %s" % sort
    return [row[0] for row in conn.execute(query)]
