"""Who may talk to the review server, and how a state change proves it came from one of its own pages.

- Binding: a loopback address needs no token; any other address refuses to start without one (`--token` or
  $SUTURE_SERVE_TOKEN, at least 16 characters). With a token every request but the login page and the static
  files needs a session that presented it.
- Host check on loopback: requests must name the loopback host (127.0.0.1, localhost, [::1]). A web page the
  reviewer visits cannot reach the server through a DNS name it controls (DNS rebinding).
- CSRF: each session holds a random token; every POST must send it back in the `csrf` form field (compared in
  constant time) and, when the browser sends an Origin header, come from this server's own origin. A request
  that fails either is refused with 403 before any use case runs.
- Headers: a strict Content-Security-Policy (only this server's own scripts, styles and images; no inline
  script, no framing, forms post only here), nosniff, no referrer, no caching of pages.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.errors import SutureError

MIN_TOKEN = 16
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


class ServeError(SutureError):
    """A server that must not start as asked (a public address without a token, a token too short)."""


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> str | None:
    """The token the server will require (None: none), or ServeError when binding `host` without one is unsafe."""
    token = token or None
    if token is not None and len(token) < MIN_TOKEN:
        raise ServeError(f"the access token is {len(token)} characters long; use at least {MIN_TOKEN} "
                         "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)")
    if token is None and not is_loopback(host):
        raise ServeError(f"binding to {host} makes the review queue reachable from other machines: give an access "
                         "token with --token or $SUTURE_SERVE_TOKEN (or bind to 127.0.0.1)")
    return token


def token_matches(given: object, expected: str) -> bool:
    """`given` is a posted form value: anything but a string (a missing field, an uploaded file) matches nothing."""
    return hmac.compare_digest((given if isinstance(given, str) else "").encode(), expected.encode())


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_refusal(request: Request, form_token: object) -> str | None:
    """Why this state-changing request is refused (None: it carries the session's token from our own origin)."""
    expected = request.session.get("csrf")
    if not expected or not token_matches(form_token, expected):
        return "the form's CSRF token is missing or wrong; reload the page and try again"
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
        return f"the request came from another origin ({origin})"
    return None


def host_allowed(host_header: str, allowed: tuple[str, ...]) -> bool:
    """The Host header's name (port removed, IPv6 brackets understood) is one of `allowed`."""
    name = host_header.rsplit("]", 1)[0] + "]" if host_header.startswith("[") else host_header.split(":", 1)[0]
    return name.lower() in allowed


@dataclass
class Guard:
    """An ASGI middleware: security headers on every response, and the loopback host check."""

    app: ASGIApp
    allowed_hosts: tuple[str, ...] | None  # None: any host (a token protects a public binding)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.allowed_hosts is not None and not host_allowed(Headers(scope=scope).get("host", ""),
                                                               self.allowed_hosts):
            await _plain(send, 421, "this server answers only to its loopback address")
            return

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in names]
                if b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
               *((k.encode(), v.encode()) for k, v in HEADERS.items())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
