"""`suture repo add/list`: the repositories that share a store (see README, "For security teams")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli import options, render
from agent.cli.options import FormatOpt, ListFmt

repo_cli = typer.Typer(help="The repositories sharing this store: register one, list them.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(repo_cli, name="repo")


@repo_cli.command("add")
def repo_add(
    path: Annotated[Path, typer.Argument(help="A git checkout (or a project folder inside one).")],
    name: Annotated[str | None, typer.Option("--name", help="A short name `--repo` accepts besides the repo key "
                                             "(unique in the store).")] = None,
    fmt: FormatOpt = ListFmt.table,
) -> None:
    """Register a repository in the store (the global --store, $SUTURE_STORE, else its own .suture/suture.db),
    with the path of this checkout. Any command run in a repository registers it too; add it ahead of time to
    include it in campaigns and metrics. Adding it again records this checkout's path (and --name)."""
    from agent.app import repos

    view = repos.add(path, name, options.store_option())
    if fmt == ListFmt.json:
        render.emit_json(view.to_json())
    else:
        render.line(f"registered {view.key}" + (f" as {view.name}" if view.name else "") + f" ({view.path})")


@repo_cli.command("list")
def repo_list(
    at: Annotated[Path, typer.Option("--in", "-C", help="Find the store from this folder's project when neither "
                                     "--store nor $SUTURE_STORE is set.")] = Path("."),
    fmt: FormatOpt = ListFmt.table,
) -> None:
    """Every repository registered in the store, oldest first: key, name, checkout path (marked missing when the
    folder is not on this machine) and when it was added."""
    from agent.app import repos

    store = repos.open_store(options.store_option(), at)
    try:
        views = repos.list_repos(store)
    finally:
        store.close()
    if fmt == ListFmt.json:
        render.emit_json([v.to_json() for v in views])
        return
    if not views:
        render.out.print("No repositories yet. Run `suture repo add PATH`.")
        return
    from rich.table import Table

    table = Table(title=f"Repositories ({len(views)})")
    for column in ("repo", "name", "checkout", "added"):
        table.add_column(column)
    for v in views:
        where = (v.path or "–") + ("" if v.path_exists or not v.path else " (missing here)")
        table.add_row(render.escape(v.key), render.escape(v.name or ""), render.escape(where), v.added_at.strftime("%Y-%m-%d %H:%M"))
    render.out.print(table)
