"""`suture export`: approved patches out as a branch (the checkout untouched) or a patch file."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import render
from agent.cli.options import DbOpt, FormatOpt, ListFmt, RepoOpt, open_session
from agent.errors import SutureError


class ExportTo(str, Enum):
    branch = "branch"
    patch = "patch"


def register(app: typer.Typer) -> None:
    app.command()(export)


def export(
    proposal_id: Annotated[str | None, typer.Argument(help="Proposal id or prefix.")] = None,
    approved: Annotated[bool, typer.Option("--approved", help="Export every approved proposal.")] = False,
    to: Annotated[ExportTo, typer.Option("--to", help="branch: suture/<id> with one commit; patch: a "
                                         ".patch file.")] = ExportTo.branch,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for patch files (default "
                                                ".suture/exports).")] = None,
    without_regression_test: Annotated[bool, typer.Option(
        "--without-regression-test", help="Leave out the security regression test, which otherwise follows the "
        "fix as a commit of its own.")] = False,
    repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table,
) -> None:
    """Export approved patches as a branch (your checkout is not touched) or a patch file."""
    from agent.app import export as exporting

    if bool(proposal_id) == approved:  # refused before the store is opened
        raise SutureError("give a proposal id or --approved (one of them)")
    results = exporting.export(open_session(repo, db, _create=False), proposal_id, to.value, out, approved,
                               with_test=not without_regression_test)
    if fmt == ListFmt.json:
        render.emit_json([r.to_json() for r in results])
        return
    if not results:
        render.out.print("No approved proposals to export.")
    for r in results:
        where = f"branch {r.branch}" if r.branch else f"patch {r.patch}"
        render.line(f"exported {r.proposal_id[:8]} → {where} (commit {r.commit[:10]})")
