"""Merged detection with real git and a real SQLite store: an exported suture/<id> branch counts as merged when
its fix commit (the first after the proposal's base; a regression-test commit after it may be dropped) is on the
default branch, and the merge is recorded once."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agent.app.merged import default_branch, detect_merges
from agent.models import Proposal
from agent.store import Store
from agent.store.events import EXPORT, MERGE
from tests.conftest import git

ID = "ab12cd34" + "0" * 56


def commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", name)
    return git(repo, "rev-parse", "HEAD").strip()


def test_a_branch_is_merged_once_its_fix_commit_reaches_the_default_branch(tmp_path: Path):
    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "app.py", "x = 1\n")
    store = Store.open(tmp_path / "s.db", "local:app")
    store.add_proposal(Proposal(id=ID, finding_id="f" * 64, kind="patch", engine="builtin", commit=base))
    git(repo, "checkout", "-q", "-b", "suture/ab12cd34")
    fix = commit(repo, "app.py", "x = 2\n")
    commit(repo, "test_app.py", "def test(): pass\n")  # the regression test's own commit
    git(repo, "checkout", "-q", "main")
    store.add_event(EXPORT, ID, {"from": "approved", "to": "exported", "target": "branch suture/ab12cd34"})

    assert default_branch(repo) == "main"
    assert detect_merges(store, "local:app", repo) == []  # exported, not merged yet
    commit(repo, "other.py", "y = 1\n")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@e", "merge", "-q", "--no-edit", fix)  # the fix, not the test
    assert detect_merges(store, "local:app", repo) == [ID]
    assert detect_merges(store, "local:app", repo) == []  # recorded once
    [event] = store.events(kinds=[MERGE])
    assert (event.subject, event.repo, event.detail) == (ID, "local:app", {
        "branch": "suture/ab12cd34", "commit": fix, "default": "main"})
    assert detect_merges(store, "local:other", repo) == []  # another repo's exports are not this checkout's
    store.close()


def test_default_branch_prefers_the_setting_then_origin_head(tmp_path: Path):
    upstream = tmp_path / "up"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "trunk")
    commit(upstream, "a.py", "a = 1\n")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    assert default_branch(clone) == "origin/trunk"
    assert default_branch(clone, "trunk") == "trunk"
    assert default_branch(clone, "develop") is None  # configured but missing: nothing is judged merged
    bare = tmp_path / "plain"
    bare.mkdir()
    git(bare, "init", "-q", "-b", "work")
    commit(bare, "a.py", "a = 1\n")
    assert default_branch(bare) is None


def test_events_once_and_repo_paths_on_every_backend(store_url: str, tmp_path: Path):
    here, gone = tmp_path / "here", tmp_path / "gone"
    here.mkdir()
    store = Store(store_url, "github.com/org/app")
    try:
        store.note_repo_path("github.com/org/app", str(gone))  # registered by the opener; its path recorded now
        store.note_repo_path("github.com/org/app", str(here))  # the recorded folder is not here: replaced
        store.note_repo_path("github.com/org/app", str(tmp_path))  # the recorded one exists: kept
        assert [(r["repo"], r["detail"]) for r in store.list_repos()] == [("github.com/org/app", {"path": str(here)})]
        assert store.add_event(MERGE, ID, {"branch": "suture/ab12cd34"}, once=True) is True
        assert store.add_event(MERGE, ID, {"branch": "suture/ab12cd34"}, once=True) is False
        assert [(e.kind, e.subject, e.repo) for e in store.events(kinds=[MERGE])] == [(MERGE, ID, "github.com/org/app")]
    finally:
        store.close()


def _exported(tmp_path: Path, fixed_text: str) -> tuple[Path, Store, str]:
    """A repo whose suture/<id> branch changes app.py to `fixed_text`, exported; the proposal holds the real diff."""
    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "app.py", "import yaml\n\n\ndef load(text):\n    return yaml.load(text)\n")
    git(repo, "checkout", "-q", "-b", "suture/ab12cd34")
    fix = commit(repo, "app.py", fixed_text)
    git(repo, "checkout", "-q", "main")
    store = Store.open(tmp_path / "s.db", "local:app")
    store.add_proposal(Proposal(id=ID, finding_id="f" * 64, kind="patch", engine="builtin", commit=base,
                                diff=git(repo, "diff", base, fix)))
    store.add_event(EXPORT, ID, {"from": "approved", "to": "exported", "target": "branch suture/ab12cd34"})
    return repo, store, fix


SAFE = "import yaml\n\n\ndef load(text):\n    return yaml.safe_load(text)\n"


def test_a_squash_merge_is_seen_even_after_the_branch_is_deleted(tmp_path: Path):
    repo, store, fix = _exported(tmp_path, SAFE)
    commit(repo, "other.py", "y = 1\n")
    assert detect_merges(store, "local:app", repo) == []
    git(repo, "merge", "-q", "--squash", "suture/ab12cd34")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "Squashed fix")
    git(repo, "branch", "-q", "-D", "suture/ab12cd34")  # as hosting services do after a squash merge
    ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", fix, "main"], cwd=repo, check=False)
    assert ancestor.returncode == 1  # the squash made a new commit: the fix commit itself is not on main
    assert detect_merges(store, "local:app", repo) == [ID]
    [event] = store.events(kinds=[MERGE])
    assert event.detail == {"branch": "suture/ab12cd34", "commit": None, "default": "main", "via": "content"}
    assert git(repo, "status", "--porcelain") == ""  # the check used a throw-away index: the checkout is untouched
    store.close()


def test_a_rebased_fix_is_merged_but_a_different_edit_of_the_same_line_is_not(tmp_path: Path):
    repo, store, fix = _exported(tmp_path, SAFE)
    commit(repo, "app.py", "import yaml\n\n\ndef load(text):\n    return yaml.load(text, Loader=yaml.SafeLoader)\n")
    assert detect_merges(store, "local:app", repo) == []  # fixed by hand another way: not this proposal's merge
    commit(repo, "app.py", "import yaml\n\n\ndef load(text):\n    return yaml.load(text)\n")  # reverted
    git(repo, "-c", "user.name=T", "-c", "user.email=t@e", "cherry-pick", fix)  # a rebase merge: a new commit
    assert detect_merges(store, "local:app", repo) == [ID]
    assert store.events(kinds=[MERGE])[0].detail["via"] == "content"
    store.close()
