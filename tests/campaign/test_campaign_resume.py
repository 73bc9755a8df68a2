"""A campaign over two real repos (copies of examples/billing, the second renamed so its findings differ), the
builtin engine, real git worktrees, bandit, and `suture campaign run` as a real process: run uninterrupted, and
run killed with SIGKILL while a finding is claimed, then run again. Both end with the same proposals, no finding
proposed twice, and no worktree left behind. On SQLite, and on PostgreSQL when it is available."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.store import Store
from tests.conftest import EXAMPLE, git
from tests.store_backends import another_store

MAX_PROPOSALS = 3
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # two campaigns of real fixes (worktrees, tests, bandit)


def _repo(root: Path, rename: str | None = None) -> Path:
    """A git repo holding examples/billing; with `rename`, the package and tests folder renamed (so the two repos'
    findings have different paths: one store holds a finding id for one repo only)."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".suture", "__pycache__", ".pytest_cache"))
    if rename:
        (root / "billing").rename(root / rename)
        (root / "tests").rename(root / f"{rename}_tests")
        for path in [*root.rglob("*.py"), root / "pyproject.toml"]:
            text = re.sub(r"\bbilling\b", rename, path.read_text())
            path.write_text(text.replace('testpaths = ["tests"]', f'testpaths = ["{rename}_tests"]'))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def suture(store: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "agent", "--store", store, *args], capture_output=True, text=True,
                          timeout=1200, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"suture {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return proc


def _prepare(store: str, repos: list[Path]) -> None:
    for repo in repos:
        suture(store, "scan", "--tool", "bandit", "--repo", str(repo))
    suture(store, "campaign", "create", "sweep", *[a for r in repos for a in ("--repo", str(r))],
           "--has-builtin-fix", "--max-proposals", str(MAX_PROPOSALS), "--due", "2099-12-31", "--owner", "sec")


def _outcome(store: str | Store) -> tuple[dict, list]:
    s = store if isinstance(store, Store) else Store(store)
    try:
        items = {(i["repo"], i["finding_id"]): (i["state"], i["proposal_id"]) for i in s.campaign_items("sweep")}
        proposals = sorted((p.finding_id, p.id, p.state) for p in s.list_proposals())
        return items, proposals
    finally:
        if s is not store:
            s.close()


def _baselines(store: str) -> set[tuple[float, str]]:
    s = Store(store)
    try:
        runs = [p.validation.baseline for p in s.list_proposals() if p.validation and p.validation.baseline]
        return {(run.duration_s, run.log) for run in runs if run.ran}
    finally:
        s.close()


def _worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def test_killed_campaign_resumes_to_the_same_proposals(store_url, tmp_path):
    repos = [_repo(tmp_path / "billing"), _repo(tmp_path / "ledger-svc", rename="ledger")]
    straight = store_url
    _prepare(straight, repos)
    if straight.startswith("sqlite:///"):  # the same scans and campaign, copied (saves the scans and triage)
        killed = f"sqlite:///{tmp_path / 'killed.db'}"
        shutil.copy(straight.removeprefix("sqlite:///"), tmp_path / "killed.db")
    else:
        killed = another_store(straight, tmp_path)
        _prepare(killed, repos)
    selected = _outcome(straight)[0]
    assert len({repo for repo, _ in selected}) == 2 and len(selected) > MAX_PROPOSALS

    run = suture(straight, "campaign", "run", "sweep", "--workers", "2", "--format", "json")
    report = json.loads(run.stdout)
    assert report["stop_reason"] == "max_proposals", report
    want_items, want_proposals = _outcome(straight)
    assert sum(1 for _, pid in want_items.values() if pid) == MAX_PROPOSALS
    # the project's baseline tests ran once per repo and commit, not once per finding: proposals of one repo
    # carry the very same baseline run (a second run would differ at least in its measured duration)
    assert _baselines(straight) and len(_baselines(straight)) <= len(repos) < MAX_PROPOSALS

    # the same campaign, killed with SIGKILL while a finding is claimed and worked on in a worktree (after
    # another one finished)
    child = subprocess.Popen([sys.executable, "-m", "agent", "--store", killed, "campaign", "run", "sweep",
                              "--workers", "2", "--format", "json"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 1200
    watcher = Store(killed)
    try:
        while True:
            states = [state for state, _ in _outcome(watcher)[0].values()]
            if "done" in states and "claimed" in states and any(len(_worktrees(r)) > 1 for r in repos):
                break
            assert child.poll() is None, "the run ended before it could be killed mid-way"
            assert time.monotonic() < deadline, "the run never had a finished item and one in a worktree at once"
            time.sleep(0.2)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        watcher.close()
    assert "claimed" in [state for state, _ in _outcome(killed)[0].values()]  # killed mid-way: a claim is held
    assert any(len(_worktrees(r)) > 1 for r in repos)  # and its worktree is left behind

    resumed = json.loads(suture(killed, "campaign", "run", "sweep", "--workers", "2", "--format", "json").stdout)
    assert resumed["released_claims"] >= 1  # the dead run's claims were given back at once (no lease wait)
    got_items, got_proposals = _outcome(killed)
    assert got_items == want_items  # every item ended the same way
    assert got_proposals == want_proposals  # the same proposals, in the same states
    finding_ids = [finding for finding, _, _ in got_proposals]
    assert len(finding_ids) == len(set(finding_ids)) == MAX_PROPOSALS  # none proposed twice
    for repo in repos:
        assert len(_worktrees(repo)) == 1, _worktrees(repo)  # only the checkout itself
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"suture-wt-{child.pid}-*"))

    status = json.loads(suture(killed, "campaign", "status", "sweep", "--format", "json").stdout)
    assert status["total"]["selected"] == len(selected)
    assert status["total"]["drafted"] == MAX_PROPOSALS
    assert sum(c["drafted"] for c in status["by_repo"].values()) == MAX_PROPOSALS
    assert status["burn_down"]["remaining"] == len(selected) and status["burn_down"]["days_left"] > 0


def test_a_proposal_a_killed_worker_left_drafted_is_completed_not_duplicated(tmp_path):
    """The moment between storing a draft and recording its validation: the run is killed there. The next run
    gives the dead worker's claim back at once and completes that same proposal."""
    from agent.campaign.runner import HOST
    from agent.store.campaigns import campaign_items_t

    repo = _repo(tmp_path / "billing")
    straight = f"sqlite:///{tmp_path / 'straight.db'}"
    for_kill = tmp_path / "killed.db"
    suture(straight, "scan", "--tool", "bandit", "--repo", str(repo))
    suture(straight, "campaign", "create", "one", "--repo", str(repo), "--has-builtin-fix", "--max-proposals", "1")
    shutil.copy(tmp_path / "straight.db", for_kill)
    suture(straight, "campaign", "run", "one")
    s = Store(straight)
    [done] = [i for i in s.campaign_items("one") if i["proposal_id"]]
    finished = s.get_proposal(done["proposal_id"])
    s.close()
    assert finished.state in ("validated", "unproven", "failed")

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that no longer runs: the killed worker's
    killed = f"sqlite:///{for_kill}"
    k = Store(killed)
    k.add_proposal(finished.model_copy(update={"state": "drafted", "validation": None}))
    with k.engine.begin() as conn:
        conn.execute(campaign_items_t.update().where(campaign_items_t.c.id == done["id"]).values(
            state="claimed", claimed_by=f"{HOST}:{gone.pid}:0", claimed_at=done["updated_at"], attempts=1))
    k.close()

    resumed = json.loads(suture(killed, "campaign", "run", "one", "--format", "json").stdout)
    assert resumed["released_claims"] == 1
    k = Store(killed)
    try:
        [item] = [i for i in k.campaign_items("one") if i["id"] == done["id"]]
        assert item["state"] == "done" and item["proposal_id"] == finished.id and item["attempts"] == 2
        proposals = k.list_proposals(finding_id=finished.finding_id)
        assert [(p.id, p.state) for p in proposals] == [(finished.id, finished.state)]  # completed, not a second
        assert proposals[0].validation is not None
    finally:
        k.close()
