"""The web UI's only door into suture: thin calls to the application layer's use cases, nothing decided here.

Every function takes a `Project` (one repository the server serves) and plain values, opens a session on it,
calls the use case the CLI calls (agent.app: review, export, triage, context) and returns its records. A decision
made in the browser is the one `suture review approve` would make, with the same checks and the same refusals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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


def queue(project: Project, campaign: str | None = None) -> list:
    """Every proposal of the project with its finding and risk (score, team, lane, due), highest risk first:
    `suture review list --sort risk` (agent.app.review.review_queue). Rows are agent.app.views.ProposalRow.
    With `campaign`, only the proposals of findings that campaign selected (agent.app.campaign.review_queue;
    agent.app.campaign.UnknownCampaign when the project's store has no campaign of that name)."""
    from agent import app
    from agent.app import campaign as campaigns

    with session(project) as s:
        if campaign is not None:
            return campaigns.review_queue(s, campaign, sort="risk", with_risk=True).rows
        return app.review.review_queue(s, sort="risk", with_risk=True).rows


def campaign_store(project: Project) -> str:
    """The store holding `project`'s campaigns: the one its commands use (agent.app.campaign.store_for). A URL
    that may hold a password: never shown in a page."""
    from agent.app import campaign as campaigns

    return campaigns.store_for(project.path, project.store)


def campaigns(store: str) -> list:
    """Every campaign in `store`, newest first: `suture campaign list` (agent.campaign.views.CampaignView)."""
    from agent.app import campaign as use

    return use.list_campaigns(store)


def campaign_status(store: str, name: str):
    """One campaign's progress per repo and team and its burn-down: `suture campaign status NAME`
    (agent.campaign.views.StatusView)."""
    from agent.app import campaign as use

    return use.status(name, store)


def repo_key(project: Project) -> str | None:
    """The key `project`'s records carry in its store (how a campaign names the repo)."""
    with session(project) as s:
        return s.store.repo


def rank(project: Project, finding_id: str) -> Rank | None:
    """The triage rank of an open finding, with its score factors (None when it is not open): `suture triage`."""
    from agent import app

    with session(project) as s:
        return next((r for f, r in app.ranked_open_findings(s) if f.id == finding_id), None)


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
    """One proposal, its finding and review history (`suture review show`), and its finding's status history."""
    from agent import app

    with session(project) as s:
        detail = app.review.show(s, proposal_id)
        events = s.store.finding_events(detail.finding.id) if hasattr(s.store, "finding_events") else []
        return ProposalView(detail.proposal, detail.finding, detail.history, events, s.ws.state_dir)


def approve(project: Project, proposal_id: str, reviewer: str, comment: str | None, override: bool,
            reason: str | None) -> Proposal:
    """`suture review approve ID --reviewer R [--comment C] [--override --reason W]`."""
    from agent import app

    with session(project) as s:
        return app.review.approve(s, proposal_id, reviewer, comment, override=override, reason=reason).proposal


def reject(project: Project, proposal_id: str, reviewer: str, reason: str, retract: bool) -> Proposal:
    """`suture review reject ID --reviewer R --reason W [--retract]`."""
    from agent import app

    with session(project) as s:
        return app.review.reject(s, proposal_id, reason, reviewer, retract=retract).proposal


def export(project: Project, proposal_id: str | None, to: Literal["branch", "patch"], with_test: bool = True) -> list:
    """`suture export ID|--approved --to branch|patch [--without-regression-test]` (every approved proposal when
    `proposal_id` is None); agent.app.views.Exported records. Patches go to the default folder, .suture/exports:
    a web request never chooses where files are written."""
    from agent import app

    with session(project) as s:
        return app.export.export(s, proposal_id, to, None, approved=proposal_id is None, with_test=with_test)


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
    from agent import app

    with session(project) as s:
        return app.context.prompt_preview(s, finding_id, "draft")


def metrics(project: Project):
    """The remediation metrics of `project` (agent.app.metrics, as `suture metrics --repo` computes them): its
    exported branches are checked for merges first."""
    from agent.app.metrics import metrics as compute

    with session(project) as s:
        return compute(s.store, s.store.repo)
