"""The review server as an ASGI app (Starlette): routes, sessions, sign-in and error pages (the configuration,
templates and request helpers every handler shares are in agent.web.respond).

Who the reviewer is comes from the session, never from a decision's form:
- with an access token (required off loopback), the sign-in page asks for the token and the reviewer's name;
- on loopback without a token, the reviewer is git's `user.name <user.email>` (what the CLI records without
  --reviewer); when git has no name, or the reviewer chooses "not you?", the sign-in page asks for one.
The name is checked like a --reviewer (agent.review.identity) and kept in a signed session cookie
(HttpOnly, SameSite=Strict) whose key is made fresh each time the server starts.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from agent.errors import SutureError
from agent.web import actions, campaigns, pages, security, usecases
from agent.web.respond import (
    HERE,
    NotFound,
    ServeConfig,
    config_of,
    flash,
    render,
    reviewer_of,
    safe_next,
    see_other,
)

SESSION_HOURS = 12


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
    routes = [
        Route("/", pages.home), Route("/login", login_page, methods=["GET"]), Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]), Route("/favicon.ico", lambda request: Response(status_code=204)),
        *pages.ROUTES, *campaigns.ROUTES, *actions.ROUTES,
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
