# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import ssl

import httpx
import requests


def fetch(url):
    # ruleid: python-tls-verify-disabled
    return requests.get(url, timeout=10, verify=False)


def client():
    # ruleid: python-tls-verify-disabled
    return httpx.Client(base_url="https://api.example.com", verify=False)


def session_post(session, url, payload):
    # ruleid: python-tls-verify-disabled
    return session.post(url, json=payload, verify=False)


def context():
    # ruleid: python-tls-verify-disabled
    return ssl._create_unverified_context()


def lax_context():
    ctx = ssl.create_default_context()
    # ruleid: python-tls-verify-disabled
    ctx.check_hostname = False
    # ruleid: python-tls-verify-disabled
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def verified(url, bundle):
    # ok: python-tls-verify-disabled
    requests.get(url, timeout=10)
    # ok: python-tls-verify-disabled
    return requests.get(url, timeout=10, verify=bundle)


def session_get(url):
    session = requests.Session()
    # ruleid: python-tls-verify-disabled
    return session.get(url, timeout=10, verify=False)


def pool():
    import urllib3

    # ruleid: python-tls-verify-disabled
    return urllib3.PoolManager(cert_reqs="CERT_NONE")


def read_claims(token, key):
    import jwt

    # a JWT signature bypass (CWE-347), not TLS: another rule's business
    # ok: python-tls-verify-disabled
    unchecked = jwt.decode(token, verify=False)
    # ok: python-tls-verify-disabled
    checker = Verifier(verify=False)
    # ok: python-tls-verify-disabled
    return unchecked, checker.check(token, verify=False)
