"""Signatures on outgoing webhooks."""
import hashlib
import hmac


def sign(payload, key):
    """Signature of `payload` (bytes) with the shared `key` (bytes), as hex."""
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def verify(payload, key, signature):
    return hmac.compare_digest(sign(payload, key), signature)
