"""`suture fix` and `suture run`: draft, validate and queue proposals, then show this run's review queue."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli import render
from agent.cli.options import (
    ApiBaseOpt,
    BudgetOpt,
    DbOpt,
    FormatOpt,
    KOpt,
    ListFmt,
    ModelOpt,
    NoCacheOpt,
    RepoOpt,
    TopOpt,
    WorkersOpt,
    open_session,
    repo_or_positional,
    where,
)
from agent.cli.progress import task_bar
from agent.cli.review import queue_summary
from agent.cli.scan import RepoArg, RepoOrArgOpt, ingest_lines, scan_and_report
from agent.errors import SutureError

if TYPE_CHECKING:
    from agent.app import Session


def register(app: typer.Typer) -> None:
    app.command()(fix)
    app.command()(run)


def _run_fix(session: Session, top: int | None, finding: str | None, redo: bool, fmt: ListFmt,
             retry_failed: bool = False) -> list[Any]:
    from agent.app import fix as fixing
    from agent.outcomes import SKIPPED

    findings, duplicates = fixing.select_findings(session, top, finding)
    if duplicates and fmt != ListFmt.json:
        render.line(f"{len(duplicates)} finding(s) not drafted separately: grouped with a selected one "
                    "(same spot from another tool, or an import of the module it uses): "
                    + ", ".join(f"{d.short_id} {d.rule_id}" for d in duplicates), render.err)
    if not findings:
        render.line("No open findings to fix. Run `suture scan` first.", render.err)
        return []
    skipped: list[tuple[Any, str]] = []
    with task_bar("fixing", len(findings), quiet=fmt == ListFmt.json) as bar:
        def step(f, status: str) -> None:
            bar.status(f"{f.short_id} {f.rule_id} {f.location.path}: {status}")
            if status.startswith(SKIPPED + ":"):
                skipped.append((f, status.removeprefix(SKIPPED + ":").strip()))
            if status != "working":
                bar.advance()

        proposals = fixing.fix(session, findings, step, redo=redo, retry_failed=retry_failed)
    if skipped and fmt != ListFmt.json:
        _skipped_lines(skipped)
    return proposals


def _skipped_lines(skipped: list[tuple[Any, str]]) -> None:
    """What a fix run skipped and why, on stderr: one summary line, then one line per finding (at most 20)."""
    render.line(f"skipped {len(skipped)}: final outcome at this commit; --retry-failed to try again", render.err)
    for f, why in skipped[:20]:
        render.line(f"  {f.short_id} {f.rule_id} {f.location.path}:{f.location.start_line}: {why}", render.err)
    if len(skipped) > 20:
        render.line(f"  … and {len(skipped) - 20} more", render.err)


def _fix_and_summarise(session: Session, top: int | None, finding: str | None, redo: bool, fmt: ListFmt,
                       hint: str = "", retry_failed: bool = False) -> None:
    """Fix and show the queue. If the model stops the run (endpoint down, budget reached), what was finished
    is still shown before the one-line error."""
    from agent.app import fix as fixing
    from agent.llm.errors import ModelUnavailableError
    from agent.models import utcnow

    started = utcnow()
    try:
        proposals = _run_fix(session, top, finding, redo, fmt, retry_failed)
    except ModelUnavailableError:
        done = fixing.proposals_since(session, started)
        if done and fmt != ListFmt.json:
            queue_summary(fixing.queue(session, done), fmt, hint)
        raise
    queue_summary(fixing.queue(session, proposals), fmt, hint)


def fix(
    repo: RepoOpt = Path("."), db: DbOpt = None, top: TopOpt = None,
    finding: Annotated[str | None, typer.Option("--finding", help="Fix this finding id (or prefix).")] = None,
    model: ModelOpt = None, api_base: ApiBaseOpt = None,
    redo: Annotated[bool, typer.Option("--redo", help="Draft again even if a proposal exists.")] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Attempt again findings whose last outcome "
                                               "at this commit, engine, prompt and settings was final (no fixer "
                                               "for the rule, a failed or validated patch); skipped otherwise.")
                            ] = False,
    k: KOpt = None, budget_usd: BudgetOpt = None, no_cache: NoCacheOpt = False, workers: WorkersOpt = None,
    fmt: FormatOpt = ListFmt.table,
) -> None:
    """Draft, validate (tests + re-scan in a worktree) and queue a proposal for each selected finding.

    Skips findings whose last outcome at this commit, engine, prompt and result-changing settings was final
    (validated, dismissal proposed, no fixer for the rule, a failed patch the engine would repeat) and says so;
    --retry-failed attempts them again."""
    if top and finding:
        raise SutureError("give either --top or --finding, not both")
    session = open_session(repo, db, model=model, api_base=api_base, k=k, budget_usd=budget_usd,
                           cache=False if no_cache else None, workers=workers)
    _fix_and_summarise(session, top, finding, redo, fmt, where(repo, db), retry_failed)


def run(
    repo_arg: RepoArg = None, repo: RepoOrArgOpt = None,
    db: DbOpt = None, top: TopOpt = None, model: ModelOpt = None, api_base: ApiBaseOpt = None,
    k: KOpt = None, budget_usd: BudgetOpt = None, no_cache: NoCacheOpt = False, workers: WorkersOpt = None,
    fmt: FormatOpt = ListFmt.table,
) -> None:
    """The main job: scan, triage, fix the top N findings, and show the review queue."""
    folder = repo_or_positional(repo_arg, repo)
    session = open_session(folder, db, model=model, api_base=api_base, k=k, budget_usd=budget_usd,
                           cache=False if no_cache else None, workers=workers)
    reports = scan_and_report(session, None)
    if fmt != ListFmt.json:
        ingest_lines(reports, fmt)
    _fix_and_summarise(session, top, None, False, fmt, where(folder, db))
