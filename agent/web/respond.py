"""What every page and action handler needs: the served configuration, the signed-in reviewer, the templates,
one-shot flash messages and redirects. The app (agent.web.app), the pages and the actions all build on it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.templating import Jinja2Templates

from agent.errors import SutureError
from agent.review.identity import escape_text
from agent.web import security
from agent.web.usecases import Project

HERE = Path(__file__).parent
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"  # a chart: matplotlib styles its shapes inline; no script


@dataclass
class ServeConfig:
    projects: list[Project]
    token: str | None = None  # None: no sign-in with a token (loopback only, see security.check_binding)
    git_reviewer: str | None = None  # the loopback default reviewer; None: ask on the sign-in page
    loopback_hosts: tuple[str, ...] | None = security.LOOPBACK_NAMES  # None: any Host header (token mode)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def project(self, key: str) -> Project:
        for p in self.projects:
            if p.key == key:
                return p
        raise NotFound(f"no served repository named {key!r}")


class NotFound(SutureError):
    """A page for something that is not there."""


def _finalize(value):
    """Every string a template prints shows its control, bidi and invisible characters as escapes (then Jinja
    HTML-escapes it); markup the server made itself (highlighted code) passes unchanged."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return escape_text(value, lines=True)
    return value


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, finalize=_finalize, trim_blocks=True, lstrip_blocks=True)
    env.filters["query"] = lambda params, **more: urlencode({k: v for k, v in {**params, **more}.items() if v})
    return env


templates = Jinja2Templates(env=_environment())


def config_of(request: Request) -> ServeConfig:
    return request.app.state.config


def reviewer_of(request: Request) -> str | None:
    """The signed-in reviewer, or None when the request must sign in first."""
    config = config_of(request)
    if config.token is not None:
        return request.session.get("reviewer") if request.session.get("signed_in") else None
    return request.session.get("reviewer") or config.git_reviewer


def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    config = config_of(request)
    flash = request.session.pop("flash", None)
    return templates.TemplateResponse(request, name, {
        "csrf": security.csrf_token(request), "reviewer": reviewer_of(request), "flash": flash,
        "token_mode": config.token is not None, "projects": config.projects, **context}, status_code=status)


def flash(request: Request, kind: str, text: str) -> None:
    """A one-line message shown once on the next page (kind: ok or error)."""
    request.session["flash"] = {"kind": kind, "text": text}


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: object) -> str:
    """A same-site path to return to after sign-in (never another site: no scheme, no `//host`); `target` is a
    query or form value (a posted file is no path)."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/queue"
