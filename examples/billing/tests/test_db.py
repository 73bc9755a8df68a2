import pytest

from billing import db
from billing.models import Invoice


def test_customers_round_trip(conn, acme):
    assert db.get_customer(conn, acme.id) == acme
    with pytest.raises(db.NotFound):
        db.get_customer(conn, acme.id + 1)


def test_search_customers_matches_name_and_email_case_insensitively(conn, acme):
    globex = db.add_customer(conn, "Globex", "billing@globex.example")
    db.add_customer(conn, "Initech", "accounts@initech.example")
    assert db.search_customers(conn, "rocket") == [acme]
    assert db.search_customers(conn, "GLOBEX.example") == [globex]
    assert [c.name for c in db.search_customers(conn, "example")] == ["ACME Rockets", "Globex", "Initech"]
    assert db.search_customers(conn, "umbrella") == []


def test_invoice_round_trip_and_payments(conn, acme, items, may_first):
    invoice = Invoice("INV-2024-0001", acme.id, may_first, may_first, items=items)
    db.save_invoice(conn, invoice)
    assert db.load_invoice(conn, "INV-2024-0001") == invoice
    paid = db.record_payment(conn, "INV-2024-0001", 2000)
    assert paid.paid_cents == 2000 and paid.balance_cents == invoice.total_cents - 2000
    with pytest.raises(db.NotFound):
        db.record_payment(conn, "INV-2024-9999", 100)
