"""Customers, invoices and line items. Money is kept in integer cents; tax is rounded half-up per invoice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    email: str


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: int
    unit_price_cents: int

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass
class Invoice:
    number: str
    customer_id: int
    issued: date
    due: date
    currency: str = "EUR"
    tax_rate: Decimal = Decimal(0)
    items: list[LineItem] = field(default_factory=list)
    paid_cents: int = 0

    @property
    def subtotal_cents(self) -> int:
        return sum(item.total_cents for item in self.items)

    @property
    def tax_cents(self) -> int:
        tax = Decimal(self.subtotal_cents) * self.tax_rate
        return int(tax.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.tax_cents

    @property
    def balance_cents(self) -> int:
        return self.total_cents - self.paid_cents

    @property
    def is_paid(self) -> bool:
        return self.balance_cents <= 0

    def is_overdue(self, today: date) -> bool:
        return not self.is_paid and today > self.due


def format_money(cents: int, currency: str) -> str:
    """Format cents as e.g. 'EUR 1,234.50' (negative amounts keep their sign)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{currency} {sign}{whole:,}.{rest:02d}"
