"""Campaigns as use cases: `create`, `run`, `status`, `list_campaigns`, `close`, a campaign's `review_queue`
(agent/campaign does the work).

A campaign spans repos, so it lives in a store they share: `store` (a URL or SQLite path), else $SUTURE_STORE;
a campaign over one repo may use that repo's own `.suture/suture.db`. Each repo is reached through a checkout:
the folder given to `create` (`--repo PATH`), else the path the store registered for it (agent.store.events: a
repos row's `detail.path`, written when a command first opened the store from that checkout).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.campaign.views import CampaignView, RunView, StatusView
from agent.errors import SutureError

if TYPE_CHECKING:
    from agent.app.review import Sort
    from agent.app.session import Session
    from agent.app.views import ReviewQueue

Progress = Callable[[int, int, str], None]  # (items finished, items to do, status line)
DEFAULT_LEASE = timedelta(minutes=10)


def _store_url(store: str | None, repos: list[Path]) -> str:
    from agent.store.url import ENV, store_url
    from agent.validate.worktree import find_project

    if store is None and not os.environ.get(ENV):
        if len(repos) > 1:
            raise SutureError("a campaign over several repos needs a store they share: --store URL (a SQLite "
                              "path or postgresql://…) or SUTURE_STORE")
        project = find_project((repos[0] if repos else Path(".")).resolve())
        return store_url(None, project.path / ".suture" / "suture.db")
    return store_url(store, Path("suture.db"))


class UnknownCampaign(SutureError):
    """A campaign name the store does not hold."""


def store_for(repo: Path, store: str | None = None) -> str:
    """The URL of the store a command run in checkout `repo` uses, where that repo's campaigns live: `store` (a
    URL or SQLite path), else $SUTURE_STORE, else the checkout's .suture/suture.db."""
    return _store_url(store, [repo])


def open_store(store: str | None, repos: list[Path] | None = None) -> Any:
    """The shared store, opened store-wide (every repo's rows)."""
    from agent.store import Store

    return Store(_store_url(store, repos or []))


def _view(store: Any, record: dict[str, Any]) -> CampaignView:
    from agent.campaign.select import Selectors

    items = store.campaign_items(record["name"])
    return CampaignView(**{k: record[k] for k in ("name", "state", "owner", "due", "created_at", "closed_at",
                                                  "selectors", "repos", "max_proposals", "budget_usd")},
                        selection=Selectors.model_validate(record["selectors"]).describe(),
                        items=dict(Counter(i["state"] for i in items)),
                        cost_usd=round(sum(i["cost_usd"] for i in items), 6))


def create(name: str, repos: list[Path], selectors: Any, store: str | None = None, due: str | None = None,
           owner: str | None = None, max_proposals: int | None = None, budget_usd: float | None = None,
           progress: Callable[[str], None] | None = None) -> CampaignView:
    """Create campaign `name` over `repos` (checkout folders; none: every repo the store knows a checkout of),
    selecting their open findings that match `selectors` (agent.campaign.select.Selectors), in rank order."""
    from agent.app.session import open_session
    from agent.app.triage import parse_date, triage
    from agent.campaign.select import check, rank_order, repo_items

    check(selectors)
    if max_proposals is not None and max_proposals < 1:
        raise SutureError("--max-proposals must be 1 or more")
    when = parse_date(due, "--due") if due else None
    url = _store_url(store, repos)
    shared = open_store(url)
    try:
        if any(c["name"] == name for c in shared.list_campaigns()):  # before ranking every repo for nothing
            raise SutureError(f"campaign {name!r} exists already (see `suture campaign list`)")
        if not repos:
            known = {r["repo"]: (r["detail"] or {}).get("path") for r in shared.list_repos()}
            repos = [Path(p) for p in known.values() if p]
            if not repos:
                raise SutureError("the store knows no repo checkout: pass --repo PATH (repeat it for each repo)")
        checkouts: dict[str, str] = {}
        per_repo = []
        for path in repos:
            session = open_session(path, None, None, store=url)
            try:
                key = session.store.repo
                assert key is not None  # open_session opens the store for the checkout's repo key
                if key in checkouts:
                    raise SutureError(f"{path} is the same repo as {checkouts[key]} ({key}); give it once")
                if progress:
                    progress(f"ranking {key}")
                checkouts[key] = str(session.ws.project_dir)
                per_repo.append(repo_items(key, triage(session).rows, selectors))
            finally:
                session.close()
        chosen = selectors.model_copy(update={"repos": sorted(checkouts)})
        record = shared.create_campaign(name, selectors=chosen.model_dump(mode="json"), repos=checkouts,
                                        items=rank_order(per_repo), owner=owner, due=when,
                                        max_proposals=max_proposals, budget_usd=budget_usd)
        return _view(shared, record)
    finally:
        shared.close()


def run(name: str, store: str | None = None, workers: int = 1, lease: timedelta = DEFAULT_LEASE,
        overrides: dict[str, Any] | None = None, progress: Progress | None = None) -> RunView:
    """Work through campaign `name` with `workers` parallel workers until its items are done or a limit stops
    it; safe to kill and run again (agent.campaign.runner). `overrides`: settings for every repo (model, …)."""
    from agent.campaign.runner import Sessions, clean_worktrees, dead_local_claimants, run_workers

    if workers < 1:
        raise SutureError("--workers must be 1 or more")
    shared = open_store(store)
    try:
        campaign = shared.get_campaign(name)
        if campaign["state"] != "open":
            raise SutureError(f"campaign {name!r} is closed")
        released = shared.release_items(name, dead_local_claimants(shared.claimants(name)))
        cleaned: list[str] = []
        for path in campaign["repos"].values():
            if not Path(path).is_dir():
                raise SutureError(f"{path}: the campaign's checkout is gone; restore it or close the campaign")
            cleaned += [str(p) for p in clean_worktrees(Path(path))]
        items = shared.campaign_items(name)
        todo = sum(1 for i in items if i["state"] in ("pending", "claimed"))
        done = [0]
        sessions = Sessions(campaign["repos"], shared.url, {**(overrides or {}), "workers": 1})

        def step(item: dict[str, Any], status: str) -> None:
            if status.startswith("finished: "):
                done[0] += 1
            if progress is not None:
                progress(done[0], todo, f"{item['finding_id'][:10]} {item['rule_id']}: {status}")

        try:
            state = run_workers(shared, campaign, sessions, workers, lease, step)
        finally:
            sessions.close()
        after = Counter(i["state"] for i in shared.campaign_items(name))
        return RunView(campaign=name, workers=workers, claimed=state.claimed, finished=state.finished,
                       stop_reason=state.stop_reason, cleaned_worktrees=cleaned, released_claims=released,
                       errors=state.errors, items=dict(after))
    finally:
        shared.close()


def status(name: str, store: str | None = None) -> StatusView:
    """Per repo and per team: selected, drafted, validated, unproven, approved, exported, merged, fixed; and the
    burn-down against the due date (agent.campaign.status)."""
    from agent.campaign.status import CLOSED_STATUSES, STEPS, burn_down, steps_of, tally
    from agent.models import utcnow

    shared = open_store(store)
    try:
        record = shared.get_campaign(name)
        items = shared.campaign_items(name)
        wanted = {i["proposal_id"] for i in items if i["proposal_id"]}
        proposals = {p.id: p for p in shared.list_proposals() if p.id in wanted}
        merged = {e.subject for e in shared.events(kinds=["merge"])} if wanted else set()
        ids = {i["finding_id"] for i in items}
        findings = {f.id: f for f in shared.list_findings(None) if f.id in ids}
        now = utcnow()
        rows, closed = [], []
        for item in items:
            finding = findings.get(item["finding_id"])
            fstatus = finding.status if finding is not None else None
            reached = steps_of(proposals.get(item["proposal_id"]), item["proposal_id"] in merged, fstatus)
            rows.append((item, reached))
            closed.append(None if fstatus not in CLOSED_STATUSES else
                          (finding.fixed_at if fstatus == "fixed" and finding is not None and finding.fixed_at else now))
        total = tally(("all", r) for _, r in rows).get("all", dict.fromkeys(STEPS, 0))
        return StatusView(campaign=_view(shared, record), steps=list(STEPS), total=total,
                          by_repo=tally((i["repo"], r) for i, r in rows),
                          by_team=tally((i["team"] or "unowned", r) for i, r in rows),
                          burn_down=burn_down(record["created_at"], now, record["due"], closed))
    finally:
        shared.close()


def review_queue(session: Session, name: str, states: list[str] | None = None, team: str | None = None,
                 lane: str | None = None, engine: str | None = None, sort: Sort = "created",
                 with_risk: bool = False) -> ReviewQueue:
    """The review queue of campaign `name` in the session's repo: `agent.app.review.review_queue` (same filters,
    sort and counts) kept to the proposals of findings the campaign selected there (a proposal belongs to the
    campaign whether a campaign worker or `suture fix` drafted it). UnknownCampaign when the session's store has
    no campaign of that name."""
    from agent.app.review import review_queue as queue
    from agent.app.views import ReviewQueue

    store = session.store
    if not any(c["name"] == name for c in store.list_campaigns()):
        raise UnknownCampaign(f"no campaign named {name!r} (see `suture campaign list`)")
    selected = {i["finding_id"] for i in store.campaign_items(name) if i["repo"] == store.repo}
    rows = queue(session, states, team, lane, engine, sort, with_risk).rows
    return ReviewQueue.of([r for r in rows if r.proposal.finding_id in selected])


def list_campaigns(store: str | None = None) -> list[CampaignView]:
    shared = open_store(store)
    try:
        return [_view(shared, record) for record in shared.list_campaigns()]
    finally:
        shared.close()


def close(name: str, store: str | None = None) -> CampaignView:
    """Close campaign `name`: no item is claimed any more; its history and status stay."""
    shared = open_store(store)
    try:
        return _view(shared, shared.close_campaign(name))
    finally:
        shared.close()




def enqueue(name: str, store: str | None = None) -> int:
    """Queue campaign `name`'s pending items for `suture worker` processes (PostgreSQL store; agent.campaign.queue).
    Returns how many jobs were queued."""
    from agent.campaign.queue import enqueue as put

    shared = open_store(store)
    try:
        if shared.get_campaign(name)["state"] != "open":
            raise SutureError(f"campaign {name!r} is closed")
        return put(shared, name)
    finally:
        shared.close()


def worker(store: str | None = None, concurrency: int = 1, burst: bool = False, lease: timedelta = DEFAULT_LEASE,
           overrides: dict[str, Any] | None = None) -> None:
    """Run queued campaign items (agent.campaign.queue) until stopped, or with `burst` until the queue is empty."""
    from agent.campaign.queue import run_worker

    if concurrency < 1:
        raise SutureError("--concurrency must be 1 or more")
    shared = open_store(store)
    try:
        run_worker(shared, concurrency, burst, lease, overrides)
    finally:
        shared.close()


__all__ = ["UnknownCampaign", "close", "create", "enqueue", "list_campaigns", "open_store", "review_queue", "run",
           "status", "store_for", "worker"]
