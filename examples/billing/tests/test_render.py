import re

from billing import __version__
from billing.buildinfo import build_label
from billing.invoicing import create_invoice
from billing.render import document_etag, render_invoice


def test_rendered_invoice_shows_lines_and_totals(conn, acme, settings, items, may_first):
    invoice = create_invoice(conn, settings, acme.id, items, may_first)
    text = render_invoice(invoice, acme, settings)
    assert "Invoice INV-2024-0001" in text
    assert "Bill to: ACME Rockets <ap@acme.example>" in text
    assert re.search(r"3 x Extra seats\s+EUR 36\.00", text)
    assert re.search(r"Tax 19%\s+EUR 16\.15", text)
    assert re.search(r"Balance due\s+EUR 101\.15", text)


def test_etag_is_quoted_stable_and_content_sensitive():
    etag = document_etag("Invoice INV-2024-0001\n")
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    assert etag == document_etag("Invoice INV-2024-0001\n")
    assert etag != document_etag("Invoice INV-2024-0002\n")


def test_build_label_starts_with_version():
    label = build_label()
    assert label == __version__ or re.fullmatch(re.escape(__version__) + r"\+[0-9a-f]{4,40}", label)
