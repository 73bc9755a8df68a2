"""`suture audit verify`: walk the hash-chained proposal history and report every change made behind suture's
back (exit 1 when there is one: a gate for CI; 0 when clean)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from agent.cli import render
from agent.cli.options import DbOpt, FormatOpt, ListFmt, RepoOpt, open_session

audit_cli = typer.Typer(help="Check the review history for changes made behind suture's back.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_cli, name="audit")


@audit_cli.command("verify")
def verify(repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table) -> None:
    """Walk the history chain: edited, deleted or reordered rows, edited diffs, validations or approver names,
    proposals without history. Exit 1 if anything is wrong, 0 if the chain is intact."""
    from agent.app import audit

    report = audit.verify(open_session(repo, db, _create=False))
    if fmt == ListFmt.json:
        render.emit_json(report.to_json())
    elif report.ok:
        render.out.print(f"audit: history intact ({report.rows} rows, chain and proposals agree)")
    else:
        render.line(f"audit: {len(report.problems)} change(s) made behind suture's back:")
        for p in report.problems:
            render.line(f"  - {p['message']}")
    if not report.ok:
        sys.exit(1)
