"""Remediation of a batch of findings: each finding through `agent.attempt.fix_one`, several at once.

Findings are worked on by `Settings.workers` threads (default: the CPU count), each in its own pooled git
worktree of HEAD, reset between proposals. Stale worktrees of crashed runs are pruned first; every worktree is
removed on exit, also after an error or Ctrl-C (remaining findings are cancelled, running ones finish their
current step). Shared between threads: the store (SQLAlchemy; SQLite in WAL mode with a busy timeout), the
engine (the LLM client limits concurrent calls) and the ValidationEnv (baseline once per commit).
A finding whose last outcome at this commit, engine, prompt and settings is final is skipped (agent.outcomes)
unless `retry_failed` or `redo`; every attempt's outcome is recorded. Results come back in the order of
`findings` (a skipped finding brings the proposal of its outcome, if it has one). Nothing here approves anything:
every proposal waits for a person.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from agent import outcomes
from agent.attempt import fix_one, is_no_draft
from agent.config import Settings
from agent.engines.base import Engine
from agent.models import Finding, Proposal
from agent.store import Store
from agent.validate.pipeline import ValidationEnv
from agent.validate.worktree import Project, WorktreePool, prune_stale

ProgressFn = Callable[[Finding, str], None]


@dataclass
class Workspace:
    """Where a project lives and where suture keeps its state for it."""

    project: Project
    state_dir: Path

    @property
    def project_dir(self) -> Path:
        return self.project.git_root / self.project.subdir if self.project.subdir else self.project.git_root


def _pending(store: Store, finding: Finding, engine: str) -> Proposal | None:
    for p in store.list_proposals(states=("drafted", "validated", "approved", "exported"), finding_id=finding.id):
        if p.engine == engine:
            return p
    return None


def worker_count(settings: Settings, jobs: int) -> int:
    """Threads for `jobs` findings: `settings.workers`, else the CPU count; never more than there are jobs."""
    wanted = settings.workers or os.cpu_count() or 1
    return max(1, min(wanted, jobs))


def fix_findings(
    ws: Workspace, store: Store, findings: list[Finding], engine: Engine, settings: Settings,
    progress: ProgressFn | None = None, redo: bool = False, retry_failed: bool = False,
    env: ValidationEnv | None = None,
) -> list[Proposal]:
    """Draft and validate a proposal for each finding, in parallel worktrees of HEAD. Returns the proposals touched.
    `env`: a ValidationEnv for HEAD shared with earlier calls (a campaign's: the baseline runs once per commit);
    a new one when None or when it was made for another commit."""
    if env is None or env.commit != ws.project.head:
        env = ValidationEnv(settings=settings, logs_dir=ws.state_dir / "logs", commit=ws.project.head,
                            user_repo=ws.project.git_root)
    report_lock = threading.Lock()

    def report(finding: Finding, status: str) -> None:
        if progress:
            with report_lock:
                progress(finding, status)

    results: dict[int, Proposal] = {}
    todo: list[tuple[int, Finding]] = []
    key = outcomes.outcome_key(outcomes.FIX, settings, engine, ws.project.head)
    final = {} if redo or retry_failed else outcomes.final_outcomes(store, [f.id for f in findings], outcomes.FIX, key)
    for index, finding in enumerate(findings):
        existing = None if redo else _pending(store, finding, engine.name)
        done = final.get(finding.id)
        if existing is not None:
            report(finding, f"already proposed ({existing.short_id}, {existing.state})")
            results[index] = existing
        elif done is not None:
            report(finding, f"{outcomes.SKIPPED}: {done.describe()}")
            if done.proposal_id is not None:
                results[index] = store.get_proposal(done.proposal_id)
        else:
            todo.append((index, finding))
    if not todo:
        return [results[i] for i in range(len(findings)) if i in results]

    prune_stale(ws.project)
    workers = worker_count(settings, len(todo))
    with WorktreePool(ws.project, size=workers) as pool:

        def work(finding: Finding) -> Proposal:
            report(finding, "working")
            with pool.acquire(ws.project.head) as wt:
                proposal = fix_one(env, wt.project_path, store, finding, engine, settings, wt.reset)
            kind, final, reason = outcomes.fix_outcome(proposal, outcomes.repeats_itself(engine))
            unsaved = is_no_draft(proposal)  # a finding without a draft: only its outcome row keeps the reason
            outcomes.record_outcome(store, finding.id, outcomes.FIX, key, kind, final, reason,
                                    None if unsaved else proposal.id)
            report(finding, f"no draft: {proposal.error}" if unsaved else proposal.state)
            return proposal

        if workers == 1:
            for index, finding in todo:
                results[index] = work(finding)
        else:
            _run_parallel(work, todo, workers, results)
    return [results[i] for i in range(len(findings)) if i in results]


def _run_parallel(work: Callable[[Finding], Proposal], todo: list[tuple[int, Finding]], workers: int,
                  results: dict[int, Proposal]) -> None:
    """Run `work` on every finding with `workers` threads; the first error cancels what has not started."""
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="suture-fix")
    futures: dict[Future[Proposal], int] = {}
    try:
        futures = {executor.submit(work, finding): index for index, finding in todo}
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in done if f.exception() is not None), None)
        if failed is not None:
            raise failed.exception()  # type: ignore[misc]
        for future, index in futures.items():
            results[index] = future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
