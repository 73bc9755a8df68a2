from datetime import date, timedelta

import pytest

from billing import db
from billing.invoicing import create_invoice, next_invoice_number, reminders_due


def test_numbers_run_per_year(conn, acme, settings, items):
    first = create_invoice(conn, settings, acme.id, items, date(2023, 12, 30))
    second = create_invoice(conn, settings, acme.id, items, date(2024, 1, 2))
    third = create_invoice(conn, settings, acme.id, items, date(2024, 1, 3))
    assert [first.number, second.number, third.number] == ["INV-2023-0001", "INV-2024-0001", "INV-2024-0002"]
    assert next_invoice_number(conn, "INV", 2024) == "INV-2024-0003"


def test_invoice_takes_terms_and_tax_from_settings(conn, acme, settings, items, may_first):
    invoice = create_invoice(conn, settings, acme.id, items, may_first)
    assert invoice.due == may_first + timedelta(days=14)
    assert invoice.tax_cents == 1615  # 19% of 85.00
    assert db.load_invoice(conn, invoice.number) == invoice
    with pytest.raises(ValueError, match="at least one line item"):
        create_invoice(conn, settings, acme.id, [], may_first)


def test_reminders_on_configured_days_for_unpaid_invoices_only(conn, acme, settings, items, may_first):
    unpaid = create_invoice(conn, settings, acme.id, items, may_first)
    paid = create_invoice(conn, settings, acme.id, items, may_first)
    db.record_payment(conn, paid.number, paid.total_cents)
    assert reminders_due(conn, settings, unpaid.due + timedelta(days=7)) == [(unpaid.number, 7)]
    assert reminders_due(conn, settings, unpaid.due + timedelta(days=8)) == []
    assert reminders_due(conn, settings, unpaid.due) == []
