import csv
import tarfile
from datetime import date

from billing.exports import archive_exports, export_period
from billing.invoicing import create_invoice


def test_export_period_writes_one_csv_per_invoice_of_that_month(conn, acme, settings, items, tmp_path):
    may = create_invoice(conn, settings, acme.id, items, date(2024, 5, 3))
    create_invoice(conn, settings, acme.id, items, date(2024, 6, 1))
    paths = export_period(conn, "2024-05", tmp_path / "exports")
    assert [p.name for p in paths] == [f"{may.number}.csv"]
    with paths[0].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["description"] for r in rows] == ["Pro plan, monthly", "Extra seats", "TAX"]
    assert rows[-1]["total_cents"] == str(may.tax_cents)


def test_archive_bundles_the_export_folder(conn, acme, settings, items, tmp_path):
    create_invoice(conn, settings, acme.id, items, date(2024, 5, 3))
    create_invoice(conn, settings, acme.id, items, date(2024, 5, 20))
    export_dir = tmp_path / "exports"
    written = export_period(conn, "2024-05", export_dir)
    archive = archive_exports(export_dir, "2024-05")
    assert archive == tmp_path / "invoices-2024-05.tar.gz"
    with tarfile.open(archive, "r:gz") as bundle:
        names = sorted(name.removeprefix("./") for name in bundle.getnames() if name.endswith(".csv"))
        content = bundle.extractfile(f"./{written[0].name}").read()
    assert names == sorted(p.name for p in written)
    assert content == written[0].read_bytes()
