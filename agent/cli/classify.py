"""`suture classify`: verdicts only (true positive / false positive / uncertain), for whole backlogs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agent.cli import render
from agent.cli.options import (
    ApiBaseOpt,
    BudgetOpt,
    DbOpt,
    FormatOpt,
    ListFmt,
    ModelOpt,
    NoCacheOpt,
    RepoOpt,
    open_session,
)
from agent.cli.progress import task_bar
from agent.errors import SutureError


def register(app: typer.Typer) -> None:
    app.command()(classify)


def classify(
    repo: RepoOpt = Path("."), db: DbOpt = None,
    top: Annotated[int | None, typer.Option("--top", "-n", min=1, help="Classify the N top-ranked open "
                                            "findings (default: the `top` setting, 10).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Classify every open finding.")] = False,
    model: ModelOpt = None, api_base: ApiBaseOpt = None, budget_usd: BudgetOpt = None,
    no_cache: NoCacheOpt = False, fmt: FormatOpt = ListFmt.table,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Classify again findings that already have "
                                               "a verdict (or no opinion) at this commit, engine, prompt and "
                                               "settings; skipped otherwise.")] = False,
) -> None:
    """Verdicts only (true positive / false positive / uncertain), for whole backlogs: a cheap triage pass.

    Without --model the builtin engine answers from static evidence (constant input, dead code, test code) and
    has no opinion otherwise. Verdicts are stored; a false positive becomes a dismissal proposal for a person
    to approve (`suture review`) — a finding is never closed by a verdict alone. Findings already answered at
    this commit, engine, prompt and settings are skipped (their stored verdict is shown) unless --retry-failed."""
    from agent.app import classify as classifying

    if top and all_:  # refused before the store is opened
        raise SutureError("give either --top or --all, not both")
    session = open_session(repo, db, model=model, api_base=api_base, budget_usd=budget_usd,
                           cache=False if no_cache else None)
    findings = classifying.classify_targets(session, top, all_)
    if not findings:
        render.line("No open findings to classify. Run `suture scan` first.", render.err)
        if fmt == ListFmt.json:
            render.emit_json([])
        return
    with task_bar("classifying", len(findings), quiet=fmt == ListFmt.json) as bar:
        def step(finding, status: str) -> None:
            bar.status(f"{finding.short_id} {finding.rule_id}: {status}")
            bar.advance()

        verdicts = classifying.classify(session, findings, step, retry_failed=retry_failed)
    if verdicts.skipped and fmt != ListFmt.json:
        render.line(f"skipped {verdicts.skipped}: final outcome at this commit (their stored verdicts are shown); "
                    "--retry-failed to try again", render.err)
    for note in verdicts.notes:
        render.warn(note, "note")
    rows = verdicts.rows
    if fmt == ListFmt.json:
        render.emit_json(verdicts.to_json())
        return
    render.out.print(_table(rows, verdicts.engine))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["verdict"] or ("error" if row["error"] else "no opinion")] = counts.get(
            row["verdict"] or ("error" if row["error"] else "no opinion"), 0) + 1
    dismissals = sum(1 for row in rows if row["dismissal_id"])
    render.out.print(", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                     + (f". {dismissals} dismissal proposal(s) await review: `suture review list`."
                        if dismissals else "."))


def _table(rows: list[dict], engine: str) -> Table:
    table = Table(title=f"Verdicts ({engine})", show_lines=False)
    for name in ("finding", "rule", "location", "verdict", "conf."):
        table.add_column(name, no_wrap=True)
    table.add_column("rationale / error", overflow="fold", ratio=1)
    table.add_column("dismissal", no_wrap=True)
    for r in rows:
        why = r["rationale"] or r["error"] or "no static evidence either way"
        table.add_row(r["id"][:10], r["rule_id"], f"{r['path']}:{r['line']}", r["verdict"] or "—",
                      f"{r['confidence']:.2f}" if r["confidence"] is not None else "",
                      render.escape(why[:160] + ("…" if len(why) > 160 else "")),
                      (r["dismissal_id"] or "")[:8])
    return table
