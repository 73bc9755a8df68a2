"""The web UI's only door into suture: thin calls to the application layer's use cases, nothing decided here.

Every function takes a `Project` (one repository the server serves) and plain values, and returns records. The
same functions back the CLI (`agent.app`, `agent.review.service`, `agent.export.service`), so a decision made in
the browser is the decision `suture review approve` would make, with the same checks and the same refusals.
When the application layer grows dedicated review use cases, switching to them is a change to this file only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agent.errors import SutureError
from agent.models import Finding, Proposal, Rank, Transition


@dataclass(frozen=True)
class Project:
    """One repository served: `key` names it in URLs and filters, `path` is what `--repo` gave."""

    key: str
    path: Path
    store: str | None = None  # the global --store (URL or SQLite path); None: $SUTURE_STORE or .suture/suture.db


@contextmanager
def session(project: Project) -> Iterator:
    """An application session on `project`'s existing store (never creates one), closed on exit. One per
    request: HEAD, the working tree and the store are read fresh, as a CLI command would."""
    from agent import app

    opened = app.open_session(project.path, None, None, create=False, store=project.store)
    try:
        yield opened
    finally:
        opened.close()


def check_project(project: Project) -> list[str]:
    """Open `project` once (at start-up) so a wrong --repo fails before the server listens; its warnings."""
    with session(project) as s:
        return list(s.warnings)


def git_root(project: Project) -> Path:
    with session(project) as s:
        return s.ws.project.git_root


def reviewer_from_git(project: Project) -> str | None:
    """git's `user.name <user.email>` in the project, checked like a --reviewer; None when git has no name."""
    from agent import app

    try:
        return app.reviewer_identity(git_root(project), None)
    except SutureError:
        return None


def check_reviewer(name: str) -> str:
    """The name as it will be recorded, or IdentityError (one line, visible, no controls)."""
    from agent.review.identity import check_reviewer as check

    return check(name)


def proposals(project: Project) -> list[tuple[Proposal, Finding | None]]:
    """Every proposal of the project with its finding (None if the store lost it), newest last."""
    with session(project) as s:
        findings: dict[str, Finding | None] = {}
        rows = []
        for p in s.store.list_proposals():
            if p.finding_id not in findings:
                findings[p.finding_id] = _finding_or_none(s.store, p.finding_id)
            rows.append((p, findings[p.finding_id]))
        return rows


def ranks(project: Project) -> dict[str, Rank]:
    """The triage rank (score, factors, team, lane) of every open finding, by finding id, as `suture triage`
    computes it (which also re-opens expired risk acceptances)."""
    from agent import app

    with session(project) as s:
        return {f.id: r for f, r in app.ranked_open_findings(s)}


def triage(project: Project) -> list[tuple[Finding, Rank]]:
    """Open findings in triage order, each with its rank: `suture triage`."""
    from agent import app

    with session(project) as s:
        return app.ranked_open_findings(s)


@dataclass
class ProposalView:
    proposal: Proposal
    finding: Finding
    history: list[Transition]
    finding_events: list[dict]
    state_dir: Path


def show(project: Project, proposal_id: str) -> ProposalView:
    """One proposal, its finding, its review history and its finding's status history: `suture review show`."""
    with session(project) as s:
        p = s.store.get_proposal(proposal_id)
        f = s.store.get_finding(p.finding_id)
        events = s.store.finding_events(f.id) if hasattr(s.store, "finding_events") else []
        return ProposalView(p, f, s.store.transitions(p.id), events, s.ws.state_dir)


def approve(project: Project, proposal_id: str, reviewer: str, comment: str | None, override: bool,
            reason: str | None) -> Proposal:
    """`suture review approve ID --reviewer R [--comment C] [--override --reason W]`."""
    from agent.review import service

    with session(project) as s:
        return service.approve(s.store, proposal_id, reviewer, comment, override=override, reason=reason)


def reject(project: Project, proposal_id: str, reviewer: str, reason: str, retract: bool) -> Proposal:
    """`suture review reject ID --reviewer R --reason W [--retract]`."""
    from agent.review import service

    with session(project) as s:
        return service.reject(s.store, proposal_id, reviewer, reason, retract=retract)


def export(project: Project, proposal_id: str | None, to: str, with_test: bool = True) -> list:
    """`suture export ID --to branch|patch [--without-regression-test]` (or `--approved` when `proposal_id` is
    None). Patches go to the default folder, .suture/exports: a web request never chooses where files are written."""
    from agent.export.service import export as export_proposals

    with session(project) as s:
        return export_proposals(s, proposal_id, to, None, with_test=with_test)


def exported_patch(project: Project, proposal: Proposal) -> Path | None:
    """The patch file `export --to patch` wrote for `proposal` into the default folder, if there is one."""
    with session(project) as s:
        path = s.ws.state_dir / "exports" / f"suture-{proposal.short_id}.patch"
        return path if path.is_file() else None


MAX_LOG = 200_000  # characters of a validation log shown in a page (its end: where failures are)


def validation_log(view: ProposalView) -> str | None:
    """The end of the proposal's validation log, if it is a file inside the project's .suture/ folder (a path
    recorded elsewhere is not read: the store is not trusted to name files the server may show)."""
    v = view.proposal.validation
    if v is None or not v.log_path:
        return None
    path = Path(v.log_path).resolve()
    if not path.is_relative_to(view.state_dir.resolve()) or not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    return text if len(text) <= MAX_LOG else "[… beginning cut …]\n" + text[-MAX_LOG:]


def context_preview(project: Project, finding_id: str):
    """What a fix would send a model for this finding now (redacted, rebuilt from HEAD): `suture context`."""
    from agent.preview import preview_in_head

    with session(project) as s:
        return preview_in_head(s.ws, s.store, finding_id, s.settings, "draft")


def summary(p: Proposal) -> str:
    """The one-line outcome `suture review list` shows for a proposal."""
    try:
        from agent.app.views import proposal_summary
    except ImportError:  # the application layer before its typed views
        from agent.cli.render import proposal_summary
    return proposal_summary(p)


def _finding_or_none(store, finding_id: str) -> Finding | None:
    try:
        return store.get_finding(finding_id)
    except SutureError:
        return None
