from decimal import Decimal

import pytest

from billing.settings import SettingsError, TenantSettings, load_settings, parse_settings

FULL = """
company_name: Northwind Billing GmbH
currency: eur
tax_rate: 0.19
payment_terms_days: 21
invoice_prefix: NW
reminder_days: [3, 10, 30]
"""


def test_parse_full_settings():
    assert parse_settings(FULL) == TenantSettings(
        company_name="Northwind Billing GmbH",
        currency="EUR",
        tax_rate=Decimal("0.19"),
        payment_terms_days=21,
        invoice_prefix="NW",
        reminder_days=(3, 10, 30),
    )


def test_defaults_apply(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("company_name: Tiny Co\n", encoding="utf-8")
    assert load_settings(path) == TenantSettings(company_name="Tiny Co")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("- just\n- a list\n", "mapping"),
        ("company_name: X\ntax_rte: 0.2\n", "unknown settings: tax_rte"),
        ("currency: EUR\n", "company_name is required"),
        ("company_name: X\ntax_rate: 19\n", "between 0 and 1"),
        ("company_name: X\ntax_rate: nineteen\n", "not a number"),
        ("company_name: X\ncurrency: EURO\n", "ISO 4217"),
    ],
)
def test_invalid_settings_are_rejected(document, message):
    with pytest.raises(SettingsError, match=message):
        parse_settings(document)
