# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import sqlite3


def find_user(conn: sqlite3.Connection, name):
    # ruleid: python-sql-string-built-query
    return conn.execute(f"SELECT * FROM users WHERE name = '{name}'").fetchall()


def find_by_email(cursor, email):
    # ruleid: python-sql-string-built-query
    cursor.execute("SELECT * FROM users WHERE email = '%s'" % email)


def find_by_id(cursor, user_id):
    # ruleid: python-sql-string-built-query
    cursor.execute("SELECT * FROM users WHERE id = " + user_id)


def find_by_team(cursor, team):
    # ruleid: python-sql-string-built-query
    cursor.execute("SELECT * FROM users WHERE team = '{}'".format(team))


def search(conn, term):
    # ruleid: python-sql-string-built-query
    rows = conn.execute(
        "SELECT id, name FROM customers "
        f"WHERE name LIKE '%{term}%' ORDER BY name"
    ).fetchall()
    return rows


def ordered(conn, column):
    query = f"SELECT * FROM users ORDER BY {column}"
    # ruleid: python-sql-string-built-query
    return conn.execute(query)


def filtered(conn, clause):
    query = "SELECT * FROM users WHERE 1=1"
    query += clause
    # ruleid: python-sql-string-built-query
    return conn.execute(query)


def safe(conn, name):
    # ok: python-sql-string-built-query
    conn.execute("SELECT * FROM users WHERE name = ?", (name,))
    query = "SELECT * FROM users WHERE name = :name"
    # ok: python-sql-string-built-query
    conn.execute(query, {"name": name})
    # ok: python-sql-string-built-query
    conn.execute("SELECT * FROM users " "WHERE active = 1")


def not_sql(runner, job):
    # ok: python-sql-string-built-query
    runner.submit(f"job {job}")
