"""Per-tenant billing settings, uploaded by account admins as a YAML file from the settings page."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class TenantSettings:
    company_name: str
    currency: str = "EUR"
    tax_rate: Decimal = Decimal(0)
    payment_terms_days: int = 30
    invoice_prefix: str = "INV"
    reminder_days: tuple[int, ...] = (7, 14)


def parse_settings(text: str) -> TenantSettings:
    """Validate an uploaded settings document; unknown keys are rejected so typos do not pass silently."""
    data = yaml.load(text, Loader=yaml.Loader)
    if not isinstance(data, dict):
        raise SettingsError("settings must be a YAML mapping")
    unknown = set(data) - set(TenantSettings.__dataclass_fields__)
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
    if not data.get("company_name"):
        raise SettingsError("company_name is required")
    try:
        tax_rate = Decimal(str(data.get("tax_rate", "0")))
    except InvalidOperation as exc:
        raise SettingsError(f"tax_rate is not a number: {data['tax_rate']!r}") from exc
    if not Decimal(0) <= tax_rate < Decimal(1):
        raise SettingsError("tax_rate must be a fraction between 0 and 1, e.g. 0.19")
    currency = str(data.get("currency", "EUR")).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise SettingsError(f"currency must be an ISO 4217 code, got {currency!r}")
    return TenantSettings(
        company_name=str(data["company_name"]),
        currency=currency,
        tax_rate=tax_rate,
        payment_terms_days=int(data.get("payment_terms_days", 30)),
        invoice_prefix=str(data.get("invoice_prefix", "INV")),
        reminder_days=tuple(int(day) for day in data.get("reminder_days", (7, 14))),
    )


def load_settings(path: Path) -> TenantSettings:
    return parse_settings(path.read_text(encoding="utf-8"))
