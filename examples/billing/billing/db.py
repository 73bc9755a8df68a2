"""SQLite persistence for customers, invoices, line items and payments."""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

from billing.models import Customer, Invoice, LineItem

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS invoices (
    number TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    issued TEXT NOT NULL,
    due TEXT NOT NULL,
    currency TEXT NOT NULL,
    tax_rate TEXT NOT NULL,
    paid_cents INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS line_items (
    invoice_number TEXT NOT NULL REFERENCES invoices(number),
    position INTEGER NOT NULL,
    description TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    PRIMARY KEY (invoice_number, position)
);
CREATE TABLE IF NOT EXISTS password_resets (
    token_hash TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
"""


class NotFound(LookupError):
    pass


def connect(path: str | Path = ":memory:") -> sqlite3.Connection:
    conn = sqlite3.connect(str(path))
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executescript(SCHEMA)
    return conn


def add_customer(conn: sqlite3.Connection, name: str, email: str) -> Customer:
    with conn:
        cursor = conn.execute("INSERT INTO customers (name, email) VALUES (?, ?)", (name, email))
    return Customer(id=cursor.lastrowid, name=name, email=email)


def get_customer(conn: sqlite3.Connection, customer_id: int) -> Customer:
    row = conn.execute("SELECT id, name, email FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        raise NotFound(f"no customer with id {customer_id}")
    return Customer(**dict(row))


def search_customers(conn: sqlite3.Connection, term: str) -> list[Customer]:
    """Customers whose name or email contains `term` (case-insensitive), for the admin search box."""
    rows = conn.execute(
        "SELECT id, name, email FROM customers "
        f"WHERE name LIKE '%{term}%' OR email LIKE '%{term}%' ORDER BY name"
    ).fetchall()
    return [Customer(**dict(row)) for row in rows]


def save_invoice(conn: sqlite3.Connection, invoice: Invoice) -> None:
    with conn:
        conn.execute(
            "INSERT INTO invoices (number, customer_id, issued, due, currency, tax_rate, paid_cents) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                invoice.number,
                invoice.customer_id,
                invoice.issued.isoformat(),
                invoice.due.isoformat(),
                invoice.currency,
                str(invoice.tax_rate),
                invoice.paid_cents,
            ),
        )
        conn.executemany(
            "INSERT INTO line_items (invoice_number, position, description, quantity, unit_price_cents) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (invoice.number, position, item.description, item.quantity, item.unit_price_cents)
                for position, item in enumerate(invoice.items)
            ],
        )


def load_invoice(conn: sqlite3.Connection, number: str) -> Invoice:
    row = conn.execute("SELECT * FROM invoices WHERE number = ?", (number,)).fetchone()
    if row is None:
        raise NotFound(f"no invoice {number}")
    items = conn.execute(
        "SELECT description, quantity, unit_price_cents FROM line_items "
        "WHERE invoice_number = ? ORDER BY position",
        (number,),
    ).fetchall()
    return Invoice(
        number=row["number"],
        customer_id=row["customer_id"],
        issued=date.fromisoformat(row["issued"]),
        due=date.fromisoformat(row["due"]),
        currency=row["currency"],
        tax_rate=Decimal(row["tax_rate"]),
        items=[LineItem(**dict(item)) for item in items],
        paid_cents=row["paid_cents"],
    )


def invoices_issued_in(conn: sqlite3.Connection, period: str) -> list[Invoice]:
    """Invoices issued in a month given as 'YYYY-MM'."""
    rows = conn.execute(
        "SELECT number FROM invoices WHERE substr(issued, 1, 7) = ? ORDER BY number", (period,)
    ).fetchall()
    return [load_invoice(conn, row["number"]) for row in rows]


def record_payment(conn: sqlite3.Connection, number: str, amount_cents: int) -> Invoice:
    with conn:
        cursor = conn.execute(
            "UPDATE invoices SET paid_cents = paid_cents + ? WHERE number = ?", (amount_cents, number)
        )
    if cursor.rowcount == 0:
        raise NotFound(f"no invoice {number}")
    return load_invoice(conn, number)
