"""Model replies shared by tests that fix the SQL injection in examples/billing (billing/db.py)."""

SQL_SEARCH = """    rows = conn.execute(
        "SELECT id, name, email FROM customers "
        f"WHERE name LIKE '%{term}%' OR email LIKE '%{term}%' ORDER BY name"
    ).fetchall()"""
SQL_REPLACE = """    pattern = f"%{term}%"
    rows = conn.execute(
        "SELECT id, name, email FROM customers WHERE name LIKE ? OR email LIKE ? ORDER BY name",
        (pattern, pattern),
    ).fetchall()"""


def edit_block(path: str, search: str, replace: str, intro: str = "Fix.") -> str:
    """A reply with one SEARCH/REPLACE block (DESIGN.md's edit format), after a line of prose."""
    prose = f"{intro}\n\n" if intro else ""
    return f"{prose}{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


SQL_FIX = edit_block("billing/db.py", SQL_SEARCH, SQL_REPLACE,
                     "Bind the search term as a parameter instead of formatting it into the SQL.")
BREAKS_TESTS = edit_block("billing/db.py", SQL_SEARCH, "    rows = []", "Drop the query altogether.")
