"""Scale-out through procrastinate on a real PostgreSQL store: a campaign over two real repos queued once (and
queuing again adds nothing), then two `suture worker` processes at once share it: every finding claimed at most
once, the same number of proposals as --max-proposals, none twice, no worktree left. Skips without PostgreSQL
unless SUTURE_REQUIRE_POSTGRES=1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from agent.store import Store
from tests.campaign.test_campaign_resume import MAX_PROPOSALS, _outcome, _prepare, _repo, _worktrees, suture
from tests.store_backends import new_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _worker(store: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agent", "--store", store, "worker", "--burst"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_workers_share_one_campaign(pg_server, tmp_path):
    store = new_database(pg_server)
    repos = [_repo(tmp_path / "billing"), _repo(tmp_path / "ledger-svc", rename="ledger")]
    _prepare(store, repos)
    selected = len(_outcome(store)[0])
    queued = json.loads(suture(store, "campaign", "run", "sweep", "--queue", "--format", "json").stdout)
    assert queued == {"campaign": "sweep", "queued": selected}
    again = json.loads(suture(store, "campaign", "run", "sweep", "--queue", "--format", "json").stdout)
    assert again["queued"] == 0  # one queued job per item at most

    workers = [_worker(store), _worker(store)]
    for w in workers:
        _, err = w.communicate(timeout=1500)
        assert w.returncode == 0, err[-3000:]
    time.sleep(3)  # a job told to wait for the limit (busy) may be due again after both workers left: drain it
    last = _worker(store)
    assert last.wait(timeout=600) == 0

    items, proposals = _outcome(store)
    with_proposal = [pid for _, pid in items.values() if pid]
    assert len(with_proposal) == MAX_PROPOSALS == len(proposals)
    assert len({finding for finding, _, _ in proposals}) == MAX_PROPOSALS  # no finding proposed twice
    s = Store(store)
    try:
        claimed = [i for i in s.campaign_items("sweep") if i["attempts"]]
        assert all(i["attempts"] == 1 for i in claimed)  # every item claimed at most once
        assert all(i["state"] == "done" for i in claimed)
        by = {int(i["claimed_by"].split(":")[1]) for i in claimed}
        assert {w.pid for w in workers} <= by <= {w.pid for w in workers} | {last.pid}  # both workers worked
    finally:
        s.close()
    for repo in repos:
        assert len(_worktrees(repo)) == 1


def _jobs(store: str) -> dict[str, int]:
    import sqlalchemy as sa

    s = Store(store)
    try:
        with s.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status")).all()
        return {str(status): int(count) for status, count in rows}
    finally:
        s.close()


def test_a_running_worker_requeues_the_job_of_a_worker_killed_mid_job(pg_server, tmp_path):
    """Worker B is already running when worker A is killed with SIGKILL in the middle of a job: B notices A's
    silence (no heartbeat) while it runs, not only when it starts, queues A's job again, and finishes it."""
    import signal

    store = new_database(pg_server)
    repos = [_repo(tmp_path / "billing")]
    suture(store, "scan", "--tool", "bandit", "--repo", str(repos[0]))
    # one proposal at most: the rest of the queue waits for A's claim (busy), so the run is one fix, two at most
    suture(store, "campaign", "create", "sweep", "--repo", str(repos[0]), "--has-builtin-fix", "--max-proposals", "1")
    suture(store, "campaign", "run", "sweep", "--queue", "--format", "json")
    first = subprocess.Popen([sys.executable, "-m", "agent", "--store", store, "worker"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    second = None
    try:
        deadline = time.monotonic() + 600
        while not any(state == "claimed" for state, _ in _outcome(store)[0].values()):
            assert first.poll() is None and time.monotonic() < deadline, "worker A never claimed an item"
            time.sleep(0.2)
        second = subprocess.Popen([sys.executable, "-m", "agent", "--store", store, "worker"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(5)  # B is up (its start-up pass found nothing stalled: A is alive)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        assert _jobs(store).get("doing", 0) >= 1  # A's job is left "doing"
        deadline = time.monotonic() + 900
        while _jobs(store).get("doing", 0) or _jobs(store).get("todo", 0):
            assert second.poll() is None, second.stderr.read()[-3000:] if second.stderr else ""
            assert time.monotonic() < deadline, f"the killed worker's job was never run again: {_jobs(store)}"
            time.sleep(1)
        items = _outcome(store)[0]
        assert "claimed" not in {state for state, _ in items.values()}  # nothing is left held by the dead worker
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=120)
    for repo in repos:
        assert len(_worktrees(repo)) == 1
