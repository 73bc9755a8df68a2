# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import hashlib
import hmac


def sign(secret, message):
    # ruleid: python-weak-hash, python-hash-keyed-by-concatenation
    return hashlib.md5(secret + message).hexdigest()


def password_digest(password):
    # ruleid: python-weak-hash
    return hashlib.sha1(password.encode()).hexdigest()


def legacy(data):
    # ruleid: python-weak-hash
    return hashlib.new("md5", data).hexdigest()


def mac(key, message):
    # ruleid: python-weak-hash
    return hmac.new(key, message, hashlib.sha1).hexdigest()


def etag(body):
    # ok: python-weak-hash
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def strong(data, key):
    # ok: python-weak-hash
    a = hashlib.sha256(data).hexdigest()
    # ok: python-weak-hash
    b = hmac.new(key, data, hashlib.sha256).hexdigest()
    return a, b
