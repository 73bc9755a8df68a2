"""The tests run offline: names under example.com resolve to a documentation address, nothing else resolves."""
import socket

import pytest

PUBLIC = "93.184.216.34"


@pytest.fixture(autouse=True)
def offline_dns(monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and (host == "example.com" or host.endswith(".example.com")):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port or 0))]
        return real(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
