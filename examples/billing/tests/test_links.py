import pytest

from billing.links import InvalidLink, signed_download_url, verify_download_url

secret = "test-download-secret"
EXPIRES = 1_714_567_890


def test_signed_link_round_trip():
    url = signed_download_url(secret, "INV-2024-0007", EXPIRES)
    assert url.startswith("/invoices/INV-2024-0007/pdf?expires=1714567890&sig=")
    assert verify_download_url(secret, url, now=EXPIRES - 1) == "INV-2024-0007"


def test_link_for_another_invoice_is_rejected():
    url = signed_download_url(secret, "INV-2024-0007", EXPIRES)
    forged = url.replace("INV-2024-0007", "INV-2024-0008")
    with pytest.raises(InvalidLink, match="signature"):
        verify_download_url(secret, forged, now=EXPIRES - 1)


def test_extending_the_expiry_breaks_the_signature():
    url = signed_download_url(secret, "INV-2024-0007", EXPIRES)
    with pytest.raises(InvalidLink, match="signature"):
        verify_download_url(secret, url.replace(str(EXPIRES), str(EXPIRES + 86400)), now=EXPIRES - 1)
    with pytest.raises(InvalidLink, match="expired"):
        verify_download_url(secret, url, now=EXPIRES)


def test_wrong_secret_and_malformed_links_are_rejected():
    url = signed_download_url(secret, "INV-2024-0007", EXPIRES)
    with pytest.raises(InvalidLink, match="signature"):
        verify_download_url("another-secret", url, now=EXPIRES - 1)
    with pytest.raises(InvalidLink, match="missing"):
        verify_download_url(secret, "/invoices/INV-2024-0007/pdf?expires=soon", now=0)
    with pytest.raises(InvalidLink, match="not a download link"):
        verify_download_url(secret, "/admin/export?sig=x", now=0)
