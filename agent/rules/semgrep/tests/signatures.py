# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import hashlib
import hmac
import os

from django.conf import settings


def sign(payload, key):
    # ruleid: python-hash-keyed-by-concatenation, python-weak-hash
    return hashlib.md5(key + payload).hexdigest()


def webhook_signature(body):
    # ruleid: python-hash-keyed-by-concatenation
    return hashlib.sha256((settings.SECRET_KEY + body).encode("utf-8")).hexdigest()


def api_signature(query):
    # ruleid: python-hash-keyed-by-concatenation, python-weak-hash
    return hashlib.new("sha1", query + os.environ["API_SECRET"]).hexdigest()


def cache_entry(cache_key, body):
    # ok: python-hash-keyed-by-concatenation
    return hashlib.sha256(cache_key + body).hexdigest()


def key_fingerprint(public_key, body):
    # ok: python-hash-keyed-by-concatenation
    return hashlib.sha256(public_key + body).hexdigest()


def content_digest(header, body):
    # ok: python-hash-keyed-by-concatenation
    return hashlib.sha256(header + body).hexdigest()


def proper(key, payload):
    # ok: python-hash-keyed-by-concatenation
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def verify(payload, key, signature):
    # ruleid: python-signature-compared-with-eq
    return sign(payload, key) == signature


def verify_header(request, key):
    expected = hmac.new(key, request.body, hashlib.sha256).hexdigest()
    # ruleid: python-signature-compared-with-eq
    if expected != request.headers["X-Hub-Signature-256"]:
        raise PermissionError


def verify_sig(received_sig, body, key):
    # ruleid: python-signature-compared-with-eq
    return hmac.new(key, body, hashlib.sha256).hexdigest() == received_sig


def checks(signature, request):
    # ok: python-signature-compared-with-eq
    if signature == "":
        return False
    # ok: python-signature-compared-with-eq
    if len(signature) != 64:
        return False
    # ok: python-signature-compared-with-eq
    return hmac.compare_digest(signature, request.headers["X-Signature"])


def machine_check(machine, other):
    # ok: python-signature-compared-with-eq
    return machine.name == other
