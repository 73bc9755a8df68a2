"""User records in SQLite."""
import sqlite3


def connect(path=":memory:"):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT UNIQUE, email TEXT)")
    return conn


def add_user(conn, name, email):
    conn.execute("INSERT INTO users (name, email) VALUES (?, ?)", (name, email))


def find_user(conn, name):
    """The (id, name, email) row for `name`, or None."""
    return conn.execute("SELECT id, name, email FROM users WHERE name = ?", (name,)).fetchone()
