"""`suture review list/show/approve/reject`: look at proposals and decide on them, as a named reviewer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli import render
from agent.cli.options import DbOpt, FormatOpt, ListFmt, RepoOpt, ReviewerOpt, open_session, where
from agent.errors import SutureError

if TYPE_CHECKING:
    from agent.app import Session

review_cli = typer.Typer(help="Look at proposals and approve or reject them (a named reviewer is recorded).",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(review_cli, name="review")


def _finding_or_none(session: Session, fid: str) -> Any:
    try:
        return session.store.get_finding(fid)
    except SutureError:
        return None


def queue_summary(session: Session, proposals: list[Any], fmt: ListFmt, hint: str = "") -> None:
    """This run's proposals: a table and one line of counts with the next step, or JSON rows."""
    rows = [(p, _finding_or_none(session, p.finding_id)) for p in proposals]
    if fmt == ListFmt.json:
        render.emit_json([render.proposal_row(p, f) for p, f in rows])
        return
    render.out.print(render.proposals_table(rows, "Review queue for this run"))
    counts: dict[str, int] = {}
    for p, _ in rows:
        key = "dismissal" if p.kind == "dismissal" else "without a draft" if p.without_draft else p.state
        counts[key] = counts.get(key, 0) + 1
    render.line(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) +
                f". Next: `suture review show ID{hint}`, then `suture review approve ID{hint}`.")


@review_cli.command("list")
def review_list(
    repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table,
    state: Annotated[list[str] | None, typer.Option("--state", help="Only these states (repeat).")] = None,
) -> None:
    """List proposals, newest last."""
    session = open_session(repo, db, _create=False)
    proposals = session.store.list_proposals(states=state)
    rows = [(p, _finding_or_none(session, p.finding_id)) for p in proposals]
    if fmt == ListFmt.json:
        render.emit_json([render.proposal_row(p, f) for p, f in rows])
    elif not rows:
        render.out.print("No proposals yet. Run `suture fix` or `suture run`.")
    else:
        render.out.print(render.proposals_table(rows, f"Proposals ({len(rows)})"))


@review_cli.command("show")
def review_show(proposal_id: Annotated[str, typer.Argument(help="Proposal id or prefix.")],
                repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table) -> None:
    """The finding, rationale, coloured diff, validation summary and history of one proposal."""
    session = open_session(repo, db, _create=False)
    p = session.store.get_proposal(proposal_id)
    f = session.store.get_finding(p.finding_id)
    history = session.store.transitions(p.id)
    if fmt == ListFmt.json:
        render.emit_json({"proposal": p.model_dump(mode="json"), "finding": f.model_dump(mode="json"),
                          "history": [t.model_dump(mode="json") for t in history]})
    else:
        render.show_proposal(p, f, history)


@review_cli.command("approve")
def review_approve(
    proposal_id: str, repo: RepoOpt = Path("."), db: DbOpt = None, reviewer: ReviewerOpt = None,
    comment: Annotated[str | None, typer.Option("--comment", "-c")] = None,
    override: Annotated[bool, typer.Option("--override", help="Approve a patch whose validation failed; needs "
                                           "--reason (shown in the history, the commit, the PR text and SARIF).")
                        ] = False,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why (required with --override).")] = None,
) -> None:
    """Approve a validated or unproven patch (it can then be exported) or a dismissal (the finding becomes
    dismissed); a patch that failed validation needs --override --reason."""
    from agent import app
    from agent.review import service

    if override and not (reason or "").strip():
        raise SutureError("--override needs --reason: say why a patch that failed validation should be approved")
    session = open_session(repo, db, _create=False)
    who = app.reviewer_identity(session.ws.project.git_root, reviewer)
    p = service.approve(session.store, proposal_id, who, comment, override=override, reason=reason)
    next_step = (f"; export it with `suture export {p.short_id}{where(repo, db)}`" if p.kind == "patch"
                 else "; finding dismissed")
    render.line(f"approved {p.short_id} as {who}" + (" (OVERRIDE)" if override else "") + next_step)


@review_cli.command("reject")
def review_reject(
    proposal_id: str,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the log).")],
    repo: RepoOpt = Path("."), db: DbOpt = None, reviewer: ReviewerOpt = None,
    retract: Annotated[bool, typer.Option("--retract", help="Withdraw an approval that was not exported yet.")
                       ] = False,
) -> None:
    """Reject a proposal awaiting review, with the reason (or, with --retract, withdraw an approval)."""
    from agent import app
    from agent.review import service

    session = open_session(repo, db, _create=False)
    who = app.reviewer_identity(session.ws.project.git_root, reviewer)
    p = service.reject(session.store, proposal_id, who, reason, retract=retract)
    render.line(f"rejected {p.short_id} as {who}")
