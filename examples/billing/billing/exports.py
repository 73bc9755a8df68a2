"""Monthly exports for the accountant: one CSV per invoice, bundled into invoices-<period>.tar.gz."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
from pathlib import Path

from billing.db import invoices_issued_in
from billing.models import Invoice


def write_invoice_csv(invoice: Invoice, export_dir: Path) -> Path:
    path = export_dir / f"{invoice.number}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["invoice", "description", "quantity", "unit_price_cents", "total_cents"])
        for item in invoice.items:
            writer.writerow(
                [invoice.number, item.description, item.quantity, item.unit_price_cents, item.total_cents]
            )
        writer.writerow([invoice.number, "TAX", "", "", invoice.tax_cents])
    return path


def export_period(conn: sqlite3.Connection, period: str, export_dir: Path) -> list[Path]:
    """Write the CSVs for every invoice issued in `period` ('YYYY-MM', as typed in the export form)."""
    export_dir.mkdir(parents=True, exist_ok=True)
    return [write_invoice_csv(invoice, export_dir) for invoice in invoices_issued_in(conn, period)]


def archive_exports(export_dir: Path, period: str) -> Path:
    """Bundle an export folder into a gzipped tarball next to it and return the tarball's path."""
    archive = export_dir.parent / f"invoices-{period}.tar.gz"
    subprocess.run(f"tar -czf {archive} -C {export_dir} .", shell=True, check=True)
    return archive
