"""Bank statement imports: the finance team uploads a tar bundle of CSV statements; payments are matched to
invoices by the invoice number the customer put in the transfer reference."""

from __future__ import annotations

import csv
import re
import sqlite3
import tarfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from billing.db import NotFound, record_payment

INVOICE_REFERENCE = re.compile(r"\b([A-Z]{2,5}-\d{4}-\d{3,6})\b")


@dataclass(frozen=True)
class BankPayment:
    booked: str
    reference: str
    amount_cents: int


def unpack_bundle(archive: Path, dest: Path) -> list[Path]:
    """Extract an uploaded statement bundle into `dest` and return the CSV statements it contained."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as bundle:
        bundle.extractall(dest)
    return sorted(dest.rglob("*.csv"))


def read_statement(path: Path) -> list[BankPayment]:
    """Credits from one statement (columns: booked, reference, amount); debits are ignored."""
    payments = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            amount_cents = int(Decimal(row["amount"]) * 100)
            if amount_cents > 0:
                payments.append(BankPayment(row["booked"], row["reference"].strip(), amount_cents))
    return payments


def match_payments(conn: sqlite3.Connection, payments: list[BankPayment]) -> dict[str, list[BankPayment]]:
    """Book each payment against the invoice named in its reference; return {"matched": [...], "unmatched": [...]}."""
    result: dict[str, list[BankPayment]] = {"matched": [], "unmatched": []}
    for payment in payments:
        found = INVOICE_REFERENCE.search(payment.reference.upper())
        try:
            if found is None:
                raise NotFound(payment.reference)
            record_payment(conn, found.group(1), payment.amount_cents)
        except NotFound:
            result["unmatched"].append(payment)
        else:
            result["matched"].append(payment)
    return result
