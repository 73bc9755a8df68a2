"""Time-limited download links for invoice PDFs, signed so a customer cannot forge a link to another
customer's invoice or extend an expired one."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit


class InvalidLink(ValueError):
    pass


def _signature(secret: str, invoice_number: str, expires: int) -> str:
    return hashlib.md5(f"{secret}:{invoice_number}:{expires}".encode()).hexdigest()


def signed_download_url(secret: str, invoice_number: str, expires: int) -> str:
    """A relative URL for the PDF of `invoice_number`, valid until the unix time `expires`."""
    signature = _signature(secret, invoice_number, expires)
    return f"/invoices/{invoice_number}/pdf?expires={expires}&sig={signature}"


def verify_download_url(secret: str, url: str, now: int) -> str:
    """Return the invoice number a signed URL grants access to, or raise InvalidLink."""
    parts = urlsplit(url)
    segments = parts.path.strip("/").split("/")
    if len(segments) != 3 or segments[0] != "invoices" or segments[2] != "pdf":
        raise InvalidLink(f"not a download link: {parts.path}")
    query = parse_qs(parts.query)
    try:
        expires = int(query["expires"][0])
        signature = query["sig"][0]
    except (KeyError, ValueError) as exc:
        raise InvalidLink("link is missing its expiry or signature") from exc
    if not hmac.compare_digest(signature, _signature(secret, segments[1], expires)):
        raise InvalidLink("bad link signature")
    if now >= expires:
        raise InvalidLink("link has expired")
    return segments[1]
