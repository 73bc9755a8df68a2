"""sql_parameterize: values formatted into DB-API queries become parameters; identifiers and fragments are declined."""

from __future__ import annotations

import sqlite3
import textwrap

import pytest

from agent.engines.builtin.fixers.sql_parameterize import SqlParameterizeFixer
from tests.engines.builtin.helpers import line_of, load_function, make_finding

FIXER = SqlParameterizeFixer()


def fix_at(source: str, needle: str, rule: str = "B608"):
    source = textwrap.dedent(source)
    result = FIXER.fix(source, make_finding(line_of(source, needle), rule, (89,)))
    if result.new_source is not None:
        compile(result.new_source, "fixed.py", "exec")
    return source, result


FLASK_VIEW = '''\
    import sqlite3

    from flask import request


    def get_db():
        return sqlite3.connect("app.db")


    @app.route("/users")
    def users():
        name = request.args["name"]
        cur = get_db().cursor()
        cur.execute(f"SELECT id, name FROM users WHERE name = '{name}' AND active = 1")  # lookup
        return {"users": cur.fetchall()}
    '''


def test_flask_view_fstring_becomes_qmark_parameter() -> None:
    source, result = fix_at(FLASK_VIEW, "cur.execute")
    assert result.new_source == source.replace(
        """cur.execute(f"SELECT id, name FROM users WHERE name = '{name}' AND active = 1")""",
        """cur.execute("SELECT id, name FROM users WHERE name = ? AND active = 1", (str(name),))""",
    )
    assert "`str(name)`" in result.reason


HELPER = '''\
    import sqlite3


    def find_user(conn, name):
        cur = conn.cursor()
        cur.execute("SELECT id FROM users WHERE name = '" + name + "'")
        return cur.fetchall()
    '''


def test_fixed_helper_finds_the_same_rows_and_no_longer_injects() -> None:
    source, result = fix_at(HELPER, "cur.execute")
    conn = sqlite3.connect(":memory:")
    conn.executescript("CREATE TABLE users (id INTEGER, name TEXT); INSERT INTO users VALUES (1, 'ann'), (2, 'bob');")
    before, after = load_function(source, "find_user"), load_function(result.new_source, "find_user")
    assert before(conn, "bob") == after(conn, "bob") == [(2,)]
    payload = "x' OR '1'='1"
    assert len(before(conn, payload)) == 2  # the flaw is real ...
    assert after(conn, payload) == []  # ... and gone
    assert after(conn, "o'brien") == []  # a quote in a value no longer breaks the query


TWO_LINES = '''\
    import psycopg2


    class PostRepository:
        def search(self, term, limit):
            query = "SELECT id, title FROM posts WHERE title LIKE '%%%s%%' LIMIT %d" % (term, limit)
            self.cursor.execute(query)
            return self.cursor.fetchall()
    '''
TWO_LINES_FIXED = '''\
    import psycopg2


    class PostRepository:
        def search(self, term, limit):
            query = "SELECT id, title FROM posts WHERE title LIKE %s LIMIT %s"
            query_params = (f"%{term}%", int(limit))
            self.cursor.execute(query, query_params)
            return self.cursor.fetchall()
    '''


@pytest.mark.parametrize("needle", ["query = ", "self.cursor.execute"])
def test_two_line_build_then_execute_either_line_reported(needle: str) -> None:
    _, result = fix_at(TWO_LINES, needle)
    assert result.new_source == textwrap.dedent(TWO_LINES_FIXED)


def test_django_cursor_format_style_multiline_triple_quoted() -> None:
    source, result = fix_at('''\
        from django.db import connection


        def orders_for(customer_id, status):
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    SELECT id, total FROM orders
                    WHERE customer_id = {} AND status = '{}' AND note LIKE '100%'
                    """.format(customer_id, status)
                )
                return cursor.fetchall()
        ''', "cursor.execute")
    assert result.new_source == source.replace(
        '''"""
            SELECT id, total FROM orders
            WHERE customer_id = {} AND status = '{}' AND note LIKE '100%'
            """.format(customer_id, status)
        )''',
        '''"""
            SELECT id, total FROM orders
            WHERE customer_id = %s AND status = %s AND note LIKE '100%%'
            """,
            (customer_id, str(status))
        )''',
    )
    assert result.new_source != source


def test_insert_values_and_in_list_with_pymysql() -> None:
    _, result = fix_at('''\
        import pymysql

        def tag(db, post_id, tag, ids):
            db.cursor().execute(f"INSERT INTO tags (post_id, tag) VALUES ({post_id}, '{tag}')")
            db.cursor().execute(f"DELETE FROM tags WHERE id IN ({ids[0]}, {ids[1]})")
        ''', "INSERT INTO")
    assert 'execute("INSERT INTO tags (post_id, tag) VALUES (%s, %s)", (post_id, str(tag)))' in result.new_source
    assert 'f"DELETE FROM tags WHERE id IN ({ids[0]}, {ids[1]})"' in result.new_source  # another line: untouched


def test_keyword_query_argument_and_executemany() -> None:
    source, result = fix_at('''\
        import sqlite3
        conn = sqlite3.connect("x.db")
        conn.executemany(sql=f"DELETE FROM logs WHERE day < '{cutoff}'")
        ''', "executemany")
    assert result.new_source == source.replace(
        """sql=f"DELETE FROM logs WHERE day < '{cutoff}'")""", '"DELETE FROM logs WHERE day < ?", (str(cutoff),))')


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('cur.execute(f"SELECT * FROM users ORDER BY {column}")',
         "`column` is placed after `...SELECT * FROM users ORDER BY`, where SQL needs a name"),
        ('cur.execute(f"SELECT * FROM {table} WHERE id = 1")', "`table` is placed after `...SELECT * FROM`"),
        ('cur.execute("SELECT * FROM t WHERE " + where)', "`where` is placed after `...SELECT * FROM t WHERE`"),
        ('cur.execute(f"SELECT * FROM t_{suffix}")', "`suffix` is placed after"),
        ('cur.execute(f"SELECT * FROM t WHERE id = {i}_old")', "part of a longer SQL token"),
        ('cur.execute(f\'SELECT "{col}" FROM t\')', "double-quoted SQL identifier"),
        ('cur.execute(f"SELECT * FROM t WHERE a = ? AND b = {b}")', "already contains a `?` placeholder"),
        ('cur.execute(f"SELECT * FROM t WHERE b = {b}", ())', "already passes parameters"),
        ('cur.execute(f"SELECT * FROM t WHERE b = \'{b}")', "unbalanced single quote"),
        ('cur.execute(f"SELECT * FROM t WHERE b = {b}", *args)', "*args or **kwargs"),
    ],
)
def test_declines_what_a_parameter_cannot_carry(line: str, reason: str) -> None:
    _, result = fix_at(f"import sqlite3\n\n\ndef q(cur, column, table, where, suffix, i, col, b, args):\n    {line}\n",
                       "cur.execute")
    assert result.new_source is None
    assert reason in result.reason


@pytest.mark.parametrize(
    ("imports", "reason"),
    [
        ("import json", "imports no DB-API driver"),
        ("import sqlite3\nimport psycopg2", "different placeholder styles (psycopg2, sqlite3)"),
    ],
)
def test_declines_when_the_placeholder_style_is_unknown(imports: str, reason: str) -> None:
    _, result = fix_at(f"{imports}\n\ndef q(cur, b):\n    cur.execute(f'SELECT * FROM t WHERE b = {{b}}')\n",
                       "cur.execute")
    assert result.new_source is None and reason in result.reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('query = f"SELECT * FROM t WHERE b = {b}"\n    log.info(query)\n    cur.execute(query)',
         "`query` is also used on line 6"),
        ('query = f"SELECT * FROM t WHERE b = {b}"\n    query += " LIMIT 1"\n    cur.execute(query)',
         "assigned 2 times"),
        ('cur.execute(query)', "`query` is not set by a plain `query = ...` assignment"),  # a parameter
        ('query = build(b)\n    cur.execute(query)', "set from `build(b)`, not a string built"),
        ('query = f"SELECT * FROM t WHERE b = {b}"\n    query_params = 1\n    cur.execute(query)',
         "`query_params` is already used"),
    ],
)
def test_two_line_declines(body: str, reason: str) -> None:
    parameter = ", query" if body == "cur.execute(query)" else ""
    _, result = fix_at(f"import sqlite3\n\n\ndef q(cur, b, log, build{parameter}):\n    {body}\n", "cur.execute")
    assert result.new_source is None
    assert reason in result.reason


def test_constant_and_parameterized_queries_are_not_detected() -> None:
    source = textwrap.dedent('''\
        import sqlite3
        cur.execute("SELECT * FROM t")
        cur.execute("SELECT * FROM t WHERE a = ?", (a,))
        cur.execute(f"SELECT * FROM t WHERE a = {a}")
        ''')
    assert not FIXER.applies_to(source, 2)
    assert not FIXER.applies_to(source, 3)
    assert FIXER.applies_to(source, 4)
    assert "no execute/executemany call with a query built" in FIXER.fix(source, make_finding(2, "B608")).reason
