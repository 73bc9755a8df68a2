from datetime import date

import pytest

from billing.models import Invoice, LineItem
from billing.payments import Charge, PaymentError, PaymentGateway


def open_invoice(paid_cents=0):
    return Invoice(
        "INV-2024-0042", 1, date(2024, 5, 1), date(2024, 5, 15), items=[LineItem("Plan", 1, 4900)],
        paid_cents=paid_cents,
    )


def test_create_charge_posts_open_balance(provider, api_key):
    url, handler = provider
    gateway = PaymentGateway(url + "/", api_key, timeout=5)
    charge = gateway.create_charge(open_invoice(paid_cents=900), "tok_visa")
    assert charge == Charge(id="ch_1", status="pending", amount_cents=4000, currency="eur")
    sent = handler.requests_seen[-1]
    assert sent["path"] == "/v1/charges"
    assert sent["body"]["metadata"] == {"invoice": "INV-2024-0042"}


def test_charge_status_is_polled(provider, api_key):
    url, _ = provider
    gateway = PaymentGateway(url, api_key, timeout=5)
    charge = gateway.create_charge(open_invoice(), "tok_visa")
    assert gateway.charge_status(charge.id).status == "succeeded"
    with pytest.raises(PaymentError, match="404"):
        gateway.charge_status("ch_missing")


def test_provider_errors_and_paid_invoices(provider, api_key):
    url, handler = provider
    with pytest.raises(PaymentError, match="401"):
        PaymentGateway(url, "sk_test_wrong", timeout=5).create_charge(open_invoice(), "tok_visa")
    with pytest.raises(PaymentError, match="nothing left to pay"):
        PaymentGateway(url, api_key, timeout=5).create_charge(open_invoice(paid_cents=4900), "tok_visa")
    assert len(handler.requests_seen) == 1
