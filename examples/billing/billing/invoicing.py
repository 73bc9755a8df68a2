"""Issuing invoices (numbering, due dates from the tenant's payment terms) and payment reminders."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from billing.db import load_invoice, save_invoice
from billing.models import Invoice, LineItem
from billing.settings import TenantSettings


def next_invoice_number(conn: sqlite3.Connection, prefix: str, year: int) -> str:
    """Numbers run per year without gaps: INV-2024-0001, INV-2024-0002, ..."""
    row = conn.execute(
        "SELECT COUNT(*) FROM invoices WHERE number LIKE ?", (f"{prefix}-{year}-%",)
    ).fetchone()
    return f"{prefix}-{year}-{row[0] + 1:04d}"


def create_invoice(
    conn: sqlite3.Connection,
    settings: TenantSettings,
    customer_id: int,
    items: list[LineItem],
    issued: date,
) -> Invoice:
    if not items:
        raise ValueError("an invoice needs at least one line item")
    invoice = Invoice(
        number=next_invoice_number(conn, settings.invoice_prefix, issued.year),
        customer_id=customer_id,
        issued=issued,
        due=issued + timedelta(days=settings.payment_terms_days),
        currency=settings.currency,
        tax_rate=settings.tax_rate,
        items=list(items),
    )
    save_invoice(conn, invoice)
    return invoice


def reminders_due(conn: sqlite3.Connection, settings: TenantSettings, today: date) -> list[tuple[str, int]]:
    """(invoice number, days overdue) for unpaid invoices that reach a reminder day today."""
    rows = conn.execute("SELECT number FROM invoices WHERE due < ? ORDER BY number", (today.isoformat(),))
    due = []
    for row in rows.fetchall():
        invoice = load_invoice(conn, row["number"])
        days_overdue = (today - invoice.due).days
        if not invoice.is_paid and days_overdue in settings.reminder_days:
            due.append((invoice.number, days_overdue))
    return due
