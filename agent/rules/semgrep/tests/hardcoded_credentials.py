# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import os

import requests

# ruleid: python-hardcoded-credential
DB_PASSWORD = "Sup3r-s3cret!"
# ruleid: python-hardcoded-credential
STRIPE_API_KEY = "sk_live_51HxQ2eZvKYlo2CabcdEF"


class Settings:
    def __init__(self):
        # ruleid: python-hardcoded-credential
        self.client_secret = "3c5f9a0e7b1d4c2a"


def connect(url):
    # ruleid: python-hardcoded-credential
    return requests.get(url, auth=("admin", "x"), headers={"api_key": "AKIAIOSFODNN7EXAMPLE"}, timeout=5)


def login(client):
    # ruleid: python-hardcoded-credential
    return client.login(username="admin", password="hunter2hunter2")


# ok: python-hardcoded-credential
DB_PASSWORD_FROM_ENV = os.environ.get("DB_PASSWORD", "")
# ok: python-hardcoded-credential
PASSWORD = ""
# ok: python-hardcoded-credential
API_KEY = "changeme"
# ok: python-hardcoded-credential
SECRET_KEY = "${SECRET_KEY}"
# ok: python-hardcoded-credential
PASSWORD_FIELD = "password"
# ok: python-hardcoded-credential
api_key = "<your-api-key>"
