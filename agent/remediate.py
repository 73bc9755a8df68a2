"""Remediation of a batch of findings: one worktree of HEAD, each finding through `agent.attempt.fix_one`.

Nothing here approves anything: every proposal waits for a person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.attempt import fix_one
from agent.config import Settings
from agent.engines.base import Engine
from agent.models import Finding, Proposal
from agent.store import Store
from agent.validate.pipeline import ValidationEnv
from agent.validate.worktree import Project, Worktree, prune_stale

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


def fix_findings(
    ws: Workspace, store: Store, findings: list[Finding], engine: Engine, settings: Settings,
    progress: ProgressFn | None = None, redo: bool = False,
) -> list[Proposal]:
    """Draft and validate a proposal for each finding, in a worktree of HEAD. Returns the proposals touched."""
    results: list[Proposal] = []
    env = ValidationEnv(settings=settings, logs_dir=ws.state_dir / "logs", commit=ws.project.head)
    prune_stale(ws.project)
    with Worktree(ws.project, ws.project.head) as wt:
        for finding in findings:
            existing = None if redo else _pending(store, finding, engine.name)
            if existing is not None:
                if progress:
                    progress(finding, f"already proposed ({existing.short_id}, {existing.state})")
                results.append(existing)
                continue
            if progress:
                progress(finding, "working")
            wt.reset()
            proposal = fix_one(env, wt.project_path, store, finding, engine, settings, lambda: wt.reset())
            if progress:
                progress(finding, proposal.state)
            results.append(proposal)
    return results


