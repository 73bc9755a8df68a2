"""`suture serve`: the review web UI for one or more repositories, served by uvicorn."""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from agent.errors import SutureError

DEFAULT_PORT = 8700


def project_keys(paths: list[Path]) -> list[str]:
    """A short, URL-safe, unique name per repository: its folder's name (`billing`, `billing-2`, …)."""
    keys: list[str] = []
    for path in paths:
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", path.resolve().name).strip("-.") or "repo"
        key, n = base, 2
        while key in keys:
            key, n = f"{base}-{n}", n + 1
        keys.append(key)
    return keys


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise SutureError(f"cannot listen on {host}:{port}: {error.strerror or error}"
                              + (" (another `suture serve`? pick one with --port)" if error.errno == 98 else ""))


def build_config(repos: list[Path], host: str, token: str | None, store: str | None):
    """The server's configuration, after checking the binding and opening every repository's store once."""
    from agent.web import security, usecases
    from agent.web.app import ServeConfig

    token = security.check_binding(host, token)
    projects = [usecases.Project(key, path, store) for key, path in zip(project_keys(repos), repos, strict=True)]
    warnings = [w for p in projects for w in usecases.check_project(p)]
    config = ServeConfig(projects, token=token,
                         git_reviewer=None if token else usecases.reviewer_from_git(projects[0]),
                         loopback_hosts=None if token and not security.is_loopback(host) else
                         (*security.LOOPBACK_NAMES, host.lower()))
    return config, warnings


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option("--host", help="Address to listen on. Anything but loopback needs "
                                          "--token.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")
                        ] = DEFAULT_PORT,
        repo: Annotated[list[Path] | None, typer.Option("--repo", "-C", metavar="PATH", help="Repository (or project folder) "
                        "whose proposals to serve; repeat to serve several in one queue. Default: .")] = None,
        token: Annotated[str | None, typer.Option("--token", envvar="SUTURE_SERVE_TOKEN", help="Access token "
                         "every browser must give once to sign in (at least 16 characters); required off "
                         "loopback. Prefer $SUTURE_SERVE_TOKEN: a command line is visible to other users.")
                         ] = None,
    ) -> None:
        """Review in the browser: the queue, each proposal's diff and evidence, approve / reject / export.

        Listens on 127.0.0.1:8700 by default, where your git identity is the reviewer. To let others in, bind
        another address with an access token: each reviewer signs in with the token and their name, which is
        recorded with every decision. Decisions are the ones `suture review` and `suture export` make, with the
        same checks. Stop with Ctrl-C."""
        import uvicorn

        from agent.web.app import create_app

        store = (ctx.find_root().params or {}).get("store")
        repos = repo or [Path(".")]
        config, warnings = build_config(repos, host, token, store)
        _check_port(host, port)
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
        shown = f"[{host}]" if ":" in host else host
        who = "each reviewer signs in with the token and a name" if config.token else \
            f"reviewing as {config.git_reviewer}" if config.git_reviewer else "the browser asks for your name"
        print(f"suture review on http://{shown}:{port}/ ({who}; "
              f"{', '.join(p.key for p in config.projects)}); Ctrl-C stops", file=sys.stderr)
        uvicorn.run(create_app(config), host=host, port=port, log_level="warning", server_header=False,
                    proxy_headers=False)
