"""Signatures on outgoing webhooks."""
import hashlib


def sign(payload, key):
    """Signature of `payload` (bytes) with the shared `key` (bytes), as hex."""
    return hashlib.md5(key + payload).hexdigest()


def verify(payload, key, signature):
    return sign(payload, key) == signature
