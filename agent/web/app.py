"""The review server as an ASGI app (Starlette): configuration, sessions, sign-in, templates and error pages.

Who the reviewer is comes from the session, never from a decision's form:
- with an access token (required off loopback), the sign-in page asks for the token and the reviewer's name;
- on loopback without a token, the reviewer is git's `user.name <user.email>` (what the CLI records without
  --reviewer); when git has no name, or the reviewer chooses "not you?", the sign-in page asks for one.
The name is checked like a --reviewer (agent.review.identity) and kept in a signed session cookie
(HttpOnly, SameSite=Strict) whose key is made fresh each time the server starts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from agent.errors import SutureError
from agent.review.identity import escape_text
from agent.web import security
from agent.web.usecases import Project

HERE = Path(__file__).parent
SESSION_HOURS = 12


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


def safe_next(target: str | None) -> str:
    """A same-site path to return to after sign-in (never another site: no scheme, no `//host`)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/queue"


async def login_page(request: Request) -> Response:
    config = config_of(request)
    return render(request, "login.html", next=safe_next(request.query_params.get("next")),
                  suggested="" if config.token else (request.session.get("reviewer") or config.git_reviewer or ""))


async def login(request: Request) -> Response:
    form = await request.form()
    refusal = security.csrf_refusal(request, form.get("csrf"))
    if refusal:
        return render(request, "error.html", 403, title="Refused", message=refusal)
    config = config_of(request)
    target = safe_next(form.get("next"))
    if config.token is not None and not security.token_matches(form.get("token"), config.token):
        flash(request, "error", "wrong access token")
        return see_other("/login?" + urlencode({"next": target}))
    from agent.web import usecases

    try:
        name = usecases.check_reviewer(str(form.get("name") or ""))
    except SutureError as error:
        flash(request, "error", str(error).replace("pass --reviewer 'Name <email>' or set git config user.name",
                                                   "type your name"))
        return see_other("/login?" + urlencode({"next": target}))
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in reviewer
    request.session.update(signed_in=True, reviewer=name, csrf=secrets.token_urlsafe(32))
    return see_other(target)


async def logout(request: Request) -> Response:
    form = await request.form()
    refusal = security.csrf_refusal(request, form.get("csrf"))
    if refusal:
        return render(request, "error.html", 403, title="Refused", message=refusal)
    request.session.clear()
    return see_other("/login")


class SignIn:
    """ASGI middleware: every page but sign-in and static files needs a reviewer (see the module docstring)."""

    OPEN_PREFIX = "/static/"
    OPEN_PATHS = ("/login", "/favicon.ico")

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path not in self.OPEN_PATHS and not path.startswith(self.OPEN_PREFIX):
            request = Request(scope, receive)
            if reviewer_of(request) is None:
                if request.method != "GET":
                    await render(request, "error.html", 403, title="Sign in first",
                                 message="this request needs a signed-in reviewer")(scope, receive, send)
                    return
                target = path + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
                await see_other("/login?" + urlencode({"next": target}))(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _error_page(request: Request, error: Exception) -> Response:
    status = 404 if isinstance(error, NotFound) or "no proposal" in str(error) or "no finding" in str(error) \
        else 400
    return render(request, "error.html", status, title="Not found" if status == 404 else "Error",
                  message=str(error))


def create_app(config: ServeConfig) -> Starlette:
    from agent.web import actions, pages

    routes = [
        Route("/", pages.home), Route("/login", login_page, methods=["GET"]), Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]), Route("/favicon.ico", lambda request: Response(status_code=204)),
        *pages.ROUTES, *actions.ROUTES,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(security.Guard, allowed_hosts=config.loopback_hosts),
        Middleware(SessionMiddleware, secret_key=config.secret, session_cookie="suture_session",
                   max_age=SESSION_HOURS * 3600, same_site="strict", https_only=False),
        Middleware(SignIn),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={SutureError: _error_page})
    app.state.config = config
    return app
