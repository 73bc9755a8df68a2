import io
import tarfile
from datetime import date

from billing import db
from billing.invoicing import create_invoice
from billing.statements import BankPayment, match_payments, read_statement, unpack_bundle

STATEMENT = """booked,reference,amount
2024-05-20,Payment INV-2024-0001 thank you,20.00
2024-05-21,Card fee,-3.50
2024-05-22,inv-2024-0001 rest,81.15
2024-05-23,no reference at all,10.00
"""


def make_bundle(path, members):
    with tarfile.open(path, "w:gz") as bundle:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            bundle.addfile(info, io.BytesIO(data))
    return path


def test_unpack_bundle_returns_nested_statements(tmp_path):
    archive = make_bundle(
        tmp_path / "upload.tar.gz",
        {"2024-05/checking.csv": STATEMENT, "2024-05/savings.csv": "booked,reference,amount\n", "README": "x"},
    )
    paths = unpack_bundle(archive, tmp_path / "statements")
    assert [p.relative_to(tmp_path / "statements").as_posix() for p in paths] == [
        "2024-05/checking.csv",
        "2024-05/savings.csv",
    ]
    assert paths[0].read_text() == STATEMENT


def test_read_statement_keeps_credits_only(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(STATEMENT)
    payments = read_statement(path)
    assert [p.amount_cents for p in payments] == [2000, 8115, 1000]
    assert payments[0] == BankPayment("2024-05-20", "Payment INV-2024-0001 thank you", 2000)


def test_match_payments_books_against_referenced_invoice(conn, acme, settings, items, tmp_path):
    invoice = create_invoice(conn, settings, acme.id, items, date(2024, 5, 1))
    path = tmp_path / "s.csv"
    path.write_text(STATEMENT)
    result = match_payments(conn, read_statement(path))
    assert [p.amount_cents for p in result["matched"]] == [2000, 8115]
    assert [p.reference for p in result["unmatched"]] == ["no reference at all"]
    assert db.load_invoice(conn, invoice.number).is_paid
