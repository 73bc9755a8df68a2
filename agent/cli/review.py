"""`suture review list/show/approve/reject`: look at proposals and decide on them, as a named reviewer."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli import render
from agent.cli.options import (
    DbOpt,
    FormatOpt,
    ListFmt,
    RepoOpt,
    ReviewerOpt,
    open_session,
    store_option,
    where,
)

if TYPE_CHECKING:
    from agent.app.views import ReviewQueue

review_cli = typer.Typer(help="Look at proposals and approve or reject them (a named reviewer is recorded).",
                         no_args_is_help=True)


class Sort(str, Enum):
    created = "created"
    risk = "risk"


def register(app: typer.Typer) -> None:
    app.add_typer(review_cli, name="review")


def queue_summary(queue: ReviewQueue, fmt: ListFmt, hint: str = "") -> None:
    """A run's proposals: a table and one line of counts with the next step, or JSON rows."""
    if fmt == ListFmt.json:
        render.emit_json(queue.to_json())
        return
    render.out.print(render.proposals_table(queue.rows, "Review queue for this run"))
    counts: dict[str, int] = {}
    for row in queue.rows:
        p = row.proposal
        key = "dismissal" if p.kind == "dismissal" else "without a draft" if p.without_draft else p.state
        counts[key] = counts.get(key, 0) + 1
    render.line(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) +
                f". Next: `suture review show ID{hint}`, then `suture review approve ID{hint}`.")


@review_cli.command("list")
def review_list(
    repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table,
    state: Annotated[list[str] | None, typer.Option("--state", help="Only these states (repeat).")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only proposals for findings this team owns.")] = None,
    lane: Annotated[str | None, typer.Option("--lane", help="Only proposals for open findings in this triage "
                                             "lane: now, batch or defer.")] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="Only this engine (e.g. builtin, llm, or "
                                               "builtin:yaml_load).")] = None,
    sort: Annotated[Sort, typer.Option("--sort", help="created: newest last; risk: highest triage score "
                                       "first.")] = Sort.created,
    campaign: Annotated[str | None, typer.Option("--campaign", help="Only proposals for findings this campaign "
                                                 "selected (see `suture campaign list`).")] = None,
) -> None:
    """List proposals, newest last (or by risk). --team, --lane and --sort risk add a risk column (triage's
    score, lane and owning team) and, like `suture triage`, re-open expired risk acceptances first. Run outside
    any repository with a shared store (--store, $SUTURE_STORE), it lists every registered repo's proposals."""
    from agent.app import campaign as campaigns
    from agent.app import repos, review

    def queue_of(session):
        if campaign is not None:
            return campaigns.review_queue(session, campaign, states=state, team=team, lane=lane, engine=engine,
                                          sort=sort.value)
        return review.review_queue(session, states=state, team=team, lane=lane, engine=engine, sort=sort.value)

    filtered = bool(state or team or lane or engine or campaign)
    wide = repos.store_wide(store_option()) if repo == Path(".") and db is None else None
    if wide is not None:  # outside any project, with a shared store: every repo's proposals
        parts = [(key, queue_of(open_session(path, None, _create=False))) for key, path in wide[0]]
        for key in wide[1]:
            render.warn(f"{key}: no checkout of it on this machine; skipped (run `suture repo add PATH`)")
        if fmt == ListFmt.json:
            render.emit_json([{"repo": key, **row} for key, queue in parts for row in queue.to_json()])
            return
        for key, queue in parts:
            if not queue.rows:
                render.line(f"{key}: no proposals" + (" match" if filtered else ""))
                continue
            render.out.print(render.proposals_table(queue.rows, f"Proposals in {render.escape(key)} "
                                                                f"({len(queue.rows)})"))
        return
    queue = queue_of(open_session(repo, db, _create=False))
    if fmt == ListFmt.json:
        render.emit_json(queue.to_json())
    elif not queue.rows:
        render.out.print("No proposals yet. Run `suture fix` or `suture run`." if not filtered
                         else "No proposals match.")
    else:
        render.out.print(render.proposals_table(queue.rows, f"Proposals ({len(queue.rows)})"))


@review_cli.command("show")
def review_show(proposal_id: Annotated[str, typer.Argument(help="Proposal id or prefix.")],
                repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table) -> None:
    """The finding, rationale, coloured diff, validation summary and history of one proposal."""
    from agent.app import review

    detail = review.show(open_session(repo, db, _create=False), proposal_id)
    if fmt == ListFmt.json:
        render.emit_json(detail.to_json())
    else:
        render.show_proposal(detail.proposal, detail.finding, detail.history)


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
    from agent.app import review
    from agent.errors import SutureError

    if override and not (reason or "").strip():  # refused before the store is opened
        raise SutureError("--override needs --reason: say why a patch that failed validation should be approved")
    decision = review.approve(open_session(repo, db, _create=False), proposal_id, reviewer, comment,
                              override=override, reason=reason)
    p = decision.proposal
    next_step = (f"; export it with `suture export {p.short_id}{where(repo, db)}`" if p.kind == "patch"
                 else "; finding dismissed")
    render.line(f"approved {p.short_id} as {decision.reviewer}" + (" (OVERRIDE)" if override else "") + next_step)


@review_cli.command("reject")
def review_reject(
    proposal_id: str,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the log).")],
    repo: RepoOpt = Path("."), db: DbOpt = None, reviewer: ReviewerOpt = None,
    retract: Annotated[bool, typer.Option("--retract", help="Withdraw an approval that was not exported yet.")
                       ] = False,
) -> None:
    """Reject a proposal awaiting review, with the reason (or, with --retract, withdraw an approval)."""
    from agent.app import review

    decision = review.reject(open_session(repo, db, _create=False), proposal_id, reason, reviewer, retract=retract)
    render.line(f"rejected {decision.proposal.short_id} as {decision.reviewer}")
