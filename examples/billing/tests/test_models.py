import random
from datetime import date
from decimal import Decimal

from billing.models import Invoice, LineItem, format_money


def make_invoice(items, tax_rate="0.19", paid_cents=0):
    return Invoice(
        number="INV-2024-0001",
        customer_id=1,
        issued=date(2024, 5, 1),
        due=date(2024, 5, 15),
        tax_rate=Decimal(tax_rate),
        items=items,
        paid_cents=paid_cents,
    )


def test_totals_round_tax_half_up():
    invoice = make_invoice([LineItem("Support", 1, 250)], tax_rate="0.19")  # 47.5 cents of tax
    assert invoice.subtotal_cents == 250
    assert invoice.tax_cents == 48
    assert invoice.total_cents == 298


def test_subtotal_is_sum_of_lines_for_random_items():
    rng = random.Random(20240501)
    items = [LineItem(f"item {n}", rng.randint(1, 9), rng.randint(1, 100_000)) for n in range(25)]
    invoice = make_invoice(items, tax_rate="0")
    assert invoice.subtotal_cents == sum(i.quantity * i.unit_price_cents for i in items)
    assert invoice.total_cents == invoice.subtotal_cents


def test_paid_and_overdue():
    invoice = make_invoice([LineItem("Plan", 1, 1000)], tax_rate="0", paid_cents=400)
    assert invoice.balance_cents == 600
    assert not invoice.is_paid
    assert invoice.is_overdue(date(2024, 5, 16))
    assert not invoice.is_overdue(date(2024, 5, 15))
    invoice.paid_cents = 1000
    assert invoice.is_paid and not invoice.is_overdue(date(2024, 6, 1))


def test_format_money():
    assert format_money(123450, "EUR") == "EUR 1,234.50"
    assert format_money(-5, "USD") == "USD -0.05"
