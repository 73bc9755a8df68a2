"""fix_findings in parallel on a copy of examples/billing: real worktrees, bandit, pytest, SQLite store."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent import app
from agent.engines.builtin.engine import BuiltinEngine
from agent.remediate import fix_findings, worker_count
from agent.validate.worktree import list_suture_worktrees


@pytest.fixture
def session(example_repo: Path):
    session = app.open_session(example_repo, overrides={"workers": 2, "scanners": ["bandit"]})
    app.scan_project(session, ["bandit"])
    yield session
    session.store.close()


@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_parallel_fix_keeps_order_shares_one_baseline_and_cleans_up(session) -> None:
    findings, _ = app.select_findings(session, 3, None)
    events: list[tuple[str, str, str]] = []
    proposals = fix_findings(session.ws, session.store, findings, BuiltinEngine(), session.settings,
                             lambda f, s: events.append((f.id, s, threading.current_thread().name)))
    assert [p.finding_id for p in proposals] == [f.id for f in findings]
    assert all(session.store.get_proposal(p.id).state == p.state for p in proposals)
    validated = [p.validation for p in proposals if p.validation and p.validation.baseline]
    assert len(validated) >= 2
    assert len({v.baseline.model_dump_json() for v in validated}) == 1  # one baseline run for the commit
    assert {f.id for f in findings} == {fid for fid, s, _ in events if s == "working"}
    assert {name.split("_")[0] for *_, name in events} == {"suture-fix"}  # reported from the worker threads
    assert list_suture_worktrees(session.ws.project) == []
    again = fix_findings(session.ws, session.store, findings, BuiltinEngine(), session.settings)
    assert [p.id for p in again] == [p.id for p in proposals]  # nothing redone


class ExplodingEngine(BuiltinEngine):
    """The builtin engine, except that drafting one chosen finding raises (a bug, Ctrl-C in a worker...)."""

    def __init__(self, victim: str) -> None:
        super().__init__()
        self.victim = victim

    def draft(self, finding, context, project_root, feedback=None):
        if finding.id == self.victim:
            raise RuntimeError("engine exploded")
        return super().draft(finding, context, project_root, feedback)


def test_an_error_in_one_worker_stops_the_batch_and_removes_worktrees(session) -> None:
    findings, _ = app.select_findings(session, 2, None)
    with pytest.raises(RuntimeError, match="engine exploded"):
        fix_findings(session.ws, session.store, findings, ExplodingEngine(findings[0].id), session.settings)
    assert list_suture_worktrees(session.ws.project) == []
    assert not list(Path(session.ws.project.git_root).glob(".git/worktrees/suture-wt-*"))


def test_worker_count(session) -> None:
    settings = session.settings.model_copy(update={"workers": 8})
    assert worker_count(settings, 3) == 3 and worker_count(settings, 20) == 8
    assert worker_count(settings.model_copy(update={"workers": None}), 100) >= 1
