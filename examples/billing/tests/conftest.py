from __future__ import annotations

import json
import threading
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from billing import db
from billing.models import LineItem
from billing.settings import TenantSettings

TEST_API_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"


@pytest.fixture
def api_key():
    return TEST_API_KEY


@pytest.fixture
def conn():
    connection = db.connect()
    yield connection
    connection.close()


@pytest.fixture
def acme(conn):
    return db.add_customer(conn, "ACME Rockets", "ap@acme.example")


@pytest.fixture
def settings():
    return TenantSettings(company_name="Northwind Billing", tax_rate=Decimal("0.19"), payment_terms_days=14)


@pytest.fixture
def items():
    return [LineItem("Pro plan, monthly", 1, 4900), LineItem("Extra seats", 3, 1200)]


@pytest.fixture
def may_first():
    return date(2024, 5, 1)


class FakeProvider(BaseHTTPRequestHandler):
    """A stand-in for the payment provider's REST API, served on loopback."""

    charges: ClassVar[dict[str, dict]] = {}
    requests_seen: ClassVar[list[dict]] = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _reply(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {TEST_API_KEY}":
            self._reply(401, {"error": "invalid api key"})
            return False
        return True

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        self.requests_seen.append({"method": "POST", "path": self.path, "body": body})
        if not self._authorized():
            return
        charge = {"id": f"ch_{len(self.charges) + 1}", "status": "pending", **body}
        self.charges[charge["id"]] = charge
        self._reply(201, charge)

    def do_GET(self):
        self.requests_seen.append({"method": "GET", "path": self.path})
        if not self._authorized():
            return
        charge_id = self.path.rsplit("/", 1)[-1]
        if charge_id not in self.charges:
            self._reply(404, {"error": f"no such charge: {charge_id}"})
            return
        self._reply(200, {**self.charges[charge_id], "status": "succeeded"})


@pytest.fixture
def provider(monkeypatch):
    """Base URL of a fake payment provider on 127.0.0.1; yields (url, handler class with recorded requests)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    handler = type("Provider", (FakeProvider,), {"charges": {}, "requests_seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()
