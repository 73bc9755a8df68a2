"""Working through a campaign: parallel workers, each claiming one item at a time from the store, calling the fix
use case (agent.app.fix) for its finding in the repo's registered checkout, and recording what came of it.

Safe to kill at any moment (`kill -9` included) and run again:
* claims are leases in the store (agent.store.campaigns); a run first releases the claims of workers of this
  machine whose process is gone, and any worker may take over a claim whose lease ran out (another machine);
* proposal ids are derived from the finding, the engine and the patch, and the fix use case returns a stored
  proposal instead of adding a second: a finding attempted again ends with the same proposal (builtin engine;
  a model engine gives the same reply from the store's response cache, unless --no-cache);
* a proposal a killed worker stored but did not finish validating is completed when its item is attempted
  again (the fix use case with `redo`: the same draft, validated, its state moved on);
* worktrees a killed run left behind in a campaign repo are removed at start (`prune_stale`: suture's worktree
  directories whose creating process is gone; then `git worktree prune`).

A model that cannot be used (endpoint down, budget reached) stops every worker: the item goes back to pending.
Any other error fails that item only (its outcome says why) and the campaign goes on.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from agent.errors import SutureError
from agent.store.campaigns import DONE, FAILED

Progress = Callable[[dict[str, Any], str], None]  # (item, status)
HOST = socket.gethostname()
BUSY, BUSY_WAIT = "busy", 0.5  # seconds a worker waits while the claims held may use up --max-proposals


def claimant(index: int) -> str:
    """The name a worker of this process claims items under: host, process id, worker number."""
    return f"{HOST}:{os.getpid()}:{index}"


def dead_local_claimants(claimants: list[str]) -> list[str]:
    """Claimants of this machine whose process no longer runs (a run killed with -9)."""
    dead = []
    for name in claimants:
        host, _, rest = name.partition(":")
        pid = rest.partition(":")[0]
        if host != HOST or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            dead.append(name)
        except PermissionError:
            continue
    return dead


def clean_worktrees(path: Path) -> list[Path]:
    """Remove the suture worktrees a killed run left in the repo at `path`; returns what was removed."""
    from agent.validate.worktree import find_project, prune_stale

    project = find_project(path)
    removed = prune_stale(project)
    subprocess.run(["git", "-C", str(project.git_root), "worktree", "prune"], capture_output=True, check=False)
    return removed


@dataclass
class RunState:
    """What a run did, shared by its workers."""

    claimed: int = 0
    finished: dict[str, int] = field(default_factory=dict)  # done / failed / lost
    stop_reason: str | None = None  # why claiming ended: empty, max_proposals, budget, closed, or the model error
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def count(self, key: str) -> None:
        with self.lock:
            self.finished[key] = self.finished.get(key, 0) + 1


class Sessions:
    """One session per campaign repo, opened on first use and shared by the workers (thread-safe)."""

    def __init__(self, repos: dict[str, str], store_url: str, overrides: dict[str, Any]) -> None:
        self.repos, self.store_url, self.overrides = repos, store_url, overrides
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, repo: str) -> Any:
        from agent.app.session import open_session

        with self._lock:
            if repo not in self._open:
                if repo not in self.repos:
                    raise SutureError(f"the campaign has no checkout for repo {repo}")
                session = open_session(Path(self.repos[repo]), None, self.overrides, store=self.store_url)
                if session.store.repo != repo:
                    session.close()
                    raise SutureError(f"{self.repos[repo]} is now repo {session.store.repo}, not {repo} "
                                      "(its remote changed?)")
                self._open[repo] = session
            return self._open[repo]

    def close(self) -> None:
        for session in self._open.values():
            session.close()


def work_item(sessions: Sessions, item: dict[str, Any], campaign: dict[str, Any], spent: float,
              progress: Progress | None = None) -> tuple[str, str | None, str, float]:
    """Fix one item's finding: (state, proposal id, outcome, cost in USD)."""
    from agent.app import fix as fixing

    session = sessions.get(item["repo"])
    finding = session.store.get_finding(item["finding_id"])
    if finding.status != "open":
        return DONE, None, f"finding is {finding.status}", 0.0
    earlier = [p for p in session.store.list_proposals(finding_id=finding.id) if p.created_at >= campaign["created_at"]]
    redo = any(p.state == "drafted" and not p.without_draft for p in earlier)  # a killed worker's, to complete
    if campaign["budget_usd"] is not None:
        remaining = max(0.0, campaign["budget_usd"] - spent)
        session = replace(session, settings=session.settings.model_copy(update={"budget_usd": remaining}))

    def step(_finding: Any, status: str) -> None:
        if progress is not None:
            progress(item, status)

    proposals = fixing.fix(session, [finding], step, redo=redo)
    if not proposals:
        return DONE, None, "skipped: a final outcome at this commit, engine and settings", 0.0
    proposal = proposals[0]
    cost = float(proposal.usage.cost_usd or 0.0) if not any(p.id == proposal.id for p in earlier) else 0.0
    if proposal.without_draft:
        return DONE, None, f"no draft: {proposal.error}", cost
    return DONE, proposal.id, proposal.state, cost


def run_workers(store: Any, campaign: dict[str, Any], sessions: Sessions, workers: int, lease: timedelta,
                progress: Progress | None = None) -> RunState:
    """Run `workers` threads on the campaign until nothing is left to claim (or a limit, or the model, stops
    them). Leases are renewed while the workers run."""
    from agent.llm.errors import ModelUnavailableError

    name = campaign["name"]
    state = RunState()
    names = [claimant(i) for i in range(workers)]

    def spent() -> float:
        return sum(i["cost_usd"] for i in store.campaign_items(name)) if campaign["budget_usd"] is not None else 0.0

    def worker(me: str) -> None:
        while not state.stop.is_set():
            got = store.claim_item(name, me, lease)
            if got == BUSY:
                state.stop.wait(BUSY_WAIT)
                continue
            if isinstance(got, str):
                with state.lock:
                    state.stop_reason = state.stop_reason or got
                return
            with state.lock:
                state.claimed += 1
            if progress is not None:
                progress(got, "working")
            try:
                result = work_item(sessions, got, campaign, spent(), progress)
            except ModelUnavailableError as exc:
                store.release_items(name, [me])
                with state.lock:
                    state.stop_reason = f"model unavailable: {exc}"
                state.stop.set()
                return
            except Exception as exc:  # noqa: BLE001 - one finding's error fails that item, not the campaign
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                result = (FAILED, None, f"error: {detail}", 0.0)
                with state.lock:
                    state.errors.append(f"{got['finding_id'][:10]}: {detail}")
            kept = store.finish_item(got["id"], me, result[0], proposal_id=result[1], outcome=result[2],
                                     cost_usd=result[3])
            state.count(result[0] if kept else "lost")
            if progress is not None:
                progress(got, "finished: " + (result[2] if kept else "claim lost (lease ran out)"))

    def renew() -> None:
        while not state.stop.wait(lease.total_seconds() / 3):
            with contextlib.suppress(SutureError, sa.exc.SQLAlchemyError):  # a hiccup: the next renewal retries
                store.renew_claims(name, names)

    renewer = threading.Thread(target=renew, name="suture-campaign-lease", daemon=True)
    renewer.start()
    threads = [threading.Thread(target=worker, args=(me,), name=f"suture-campaign-{i}") for i, me in enumerate(names)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        state.stop.set()
        store.release_items(name, names)  # an interrupted run (Ctrl-C) gives its claims back
    return state
