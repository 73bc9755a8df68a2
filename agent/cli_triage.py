"""`suture triage`: rank open findings and explain every row."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from agent import render
from agent.cli import DbOpt, Fmt, RepoOpt, _open, usecases


def register(app: typer.Typer) -> None:
    app.command()(triage)


def triage(
    repo: RepoOpt = Path("."), db: DbOpt = None,
    top: Annotated[int | None, typer.Option("--top", "-n", min=1, help="Show only the first N.")] = None,
    fmt: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
) -> None:
    """Rank open findings (severity × confidence × CWE class; test code demoted), each with its reason."""
    session = _open(repo, db)
    ranked = usecases.ranked_open_findings(session)
    shown = ranked[:top] if top else ranked
    if fmt == Fmt.json:
        render.emit_json([render.finding_row(f, r) for f, r in shown])
    elif fmt == Fmt.csv:
        sys.stdout.write(render.triage_csv(shown))
    elif not ranked:
        render.out.print("No open findings. Run `suture scan` or `suture ingest FILE.sarif` first.")
    else:
        render.out.print(render.triage_table(shown, len(ranked)))


