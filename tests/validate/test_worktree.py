"""Worktrees on real git repositories in tmp dirs: isolation from the user's checkout, pools, crash cleanup."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from agent.validate.worktree import (
    WORKTREE_PREFIX,
    Project,
    Worktree,
    WorktreeError,
    WorktreePool,
    ensure_excluded,
    find_project,
    is_dirty,
    list_suture_worktrees,
    prune_stale,
)


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    for name, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}.items():
        monkeypatch.setenv(name, value)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "--no-optional-locks", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def commit_files(root: Path, files: dict[str, str], message: str = "commit") -> str:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "add", *files)
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "user-repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit_files(root, {"app.py": "print('committed')\n", ".gitignore": "*.log\n",
                        "examples/app/service.py": "VALUE = 1\n"})
    return root


def snapshot(root: Path) -> tuple[str, str, str]:
    """Checksum of every file outside .git, `git status`, and the bytes of the user's index."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if ".git" not in p.relative_to(root).parts):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    index = hashlib.sha256((root / ".git" / "index").read_bytes()).hexdigest()
    return digest.hexdigest(), git(root, "status", "--porcelain", "--ignored"), index


def test_worktree_has_committed_content_and_user_tree_is_untouched(repo: Path) -> None:
    (repo / "app.py").write_text("print('uncommitted edit')\n")
    (repo / "scratch.txt").write_text("untracked\n")
    (repo / "examples/app/service.py").write_text("VALUE = 2\n")
    git(repo, "add", "examples/app/service.py")
    before = snapshot(repo)
    project = find_project(repo)
    assert is_dirty(project)

    with Worktree(project) as worktree:
        wt = worktree.path
        assert wt.parent == Path(tempfile.gettempdir()).resolve()
        assert wt.name.startswith(f"{WORKTREE_PREFIX}{os.getpid()}-")
        assert not wt.is_relative_to(repo)
        assert (wt / "app.py").read_text() == "print('committed')\n"
        assert (wt / "examples/app/service.py").read_text() == "VALUE = 1\n"
        assert not (wt / "scratch.txt").exists()
        assert git(wt, "rev-parse", "HEAD").strip() == project.head
        (wt / "app.py").write_text("patched\n")
        (wt / "new_file.py").write_text("x = 1\n")
        git(wt, "add", "new_file.py")
        assert list_suture_worktrees(project) == [wt]

    assert not wt.exists()
    assert list_suture_worktrees(project) == []
    assert snapshot(repo) == before
    assert (repo / "app.py").read_text() == "print('uncommitted edit')\n"


def test_worktree_is_removed_when_the_block_raises(repo: Path) -> None:
    project = find_project(repo)
    with pytest.raises(RuntimeError, match="boom"), Worktree(project) as worktree:
        path = worktree.path
        raise RuntimeError("boom")
    assert not path.exists()
    assert WORKTREE_PREFIX not in git(repo, "worktree", "list", "--porcelain")


def test_worktree_at_an_older_commit_and_unknown_commit(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    commit_files(repo, {"app.py": "print('second')\n"})
    project = find_project(repo)
    assert project.head != first
    with Worktree(project, first) as worktree:
        assert (worktree.path / "app.py").read_text() == "print('committed')\n"
    with pytest.raises(WorktreeError, match="not a commit"):
        Worktree(project, "no-such-ref").open()


def test_subdir_project_in_a_monorepo(repo: Path) -> None:
    project = find_project(repo / "examples" / "app")
    assert project == Project(git_root=repo.resolve(), subdir="examples/app",
                              head=git(repo, "rev-parse", "HEAD").strip())
    assert project.path == repo.resolve() / "examples" / "app"
    (repo / "app.py").write_text("dirty outside the project\n")
    assert not is_dirty(project)
    assert is_dirty(find_project(repo))
    (repo / "examples/app/service.py").write_text("VALUE = 3\n")
    assert is_dirty(project)
    with Worktree(project) as worktree:
        assert worktree.project_path == worktree.path / "examples" / "app"
        assert (worktree.project_path / "service.py").read_text() == "VALUE = 1\n"


def test_untracked_files_do_not_make_a_project_dirty(repo: Path) -> None:
    (repo / ".suture").mkdir()
    (repo / ".suture" / "suture.db").write_text("db")
    (repo / "notes.txt").write_text("untracked")
    assert not is_dirty(find_project(repo))


def test_find_project_errors(tmp_path: Path, repo: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(WorktreeError, match="not a git repository"):
        find_project(plain)
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(WorktreeError, match="commit your code first: suture works from HEAD"):
        find_project(empty)
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    with pytest.raises(WorktreeError, match="bare"):
        find_project(bare)
    with pytest.raises(WorktreeError, match="does not exist"):
        find_project(tmp_path / "missing")
    (repo / "uncommitted_dir").mkdir()
    with pytest.raises(WorktreeError, match="not in the last commit"):
        find_project(repo / "uncommitted_dir")
    with pytest.raises(WorktreeError, match=r"\.git directory"):
        find_project(repo / ".git" / "refs")


def test_pool_reuses_and_resets_worktrees(repo: Path) -> None:
    project = find_project(repo)
    with WorktreePool(project, size=1) as pool:
        with pool.acquire() as worktree:
            first_path = worktree.path
            (worktree.path / "app.py").write_text("patched\n")
            (worktree.path / "untracked.py").write_text("x\n")
            (worktree.path / "ignored.log").write_text("log\n")
            (worktree.path / "pkg" / "__pycache__").mkdir(parents=True)
        with pool.acquire() as worktree:
            assert worktree.path == first_path
            assert (worktree.path / "app.py").read_text() == "print('committed')\n"
            assert not (worktree.path / "untracked.py").exists()
            assert not (worktree.path / "ignored.log").exists()
            assert not (worktree.path / "pkg").exists()
            assert git(worktree.path, "status", "--porcelain", "--ignored") == ""
        older = project.head
        second = commit_files(repo, {"app.py": "print('second')\n"})
        with pool.acquire(second) as worktree:
            assert worktree.path == first_path
            assert (worktree.path / "app.py").read_text() == "print('second')\n"
        with pool.acquire(older) as worktree:
            assert (worktree.path / "app.py").read_text() == "print('committed')\n"
    assert not first_path.exists()
    assert list_suture_worktrees(project) == []


def test_pool_hands_out_distinct_worktrees_and_blocks_when_full(repo: Path) -> None:
    project = find_project(repo)
    pool = WorktreePool(project, size=2)
    got_third = threading.Event()

    def third() -> None:
        with pool.acquire():
            got_third.set()

    try:
        with pool.acquire() as a:
            with pool.acquire() as b:
                assert a.path != b.path
                waiter = threading.Thread(target=third)
                waiter.start()
                assert not got_third.wait(0.3)
            assert got_third.wait(10)
            waiter.join(10)
        assert len(list_suture_worktrees(project)) == 2
    finally:
        pool.close()
    assert list_suture_worktrees(project) == []
    with pytest.raises(WorktreeError, match="closed"), pool.acquire():
        pass


_CRASHING_RUN = """
import os, sys
from pathlib import Path
from agent.validate.worktree import Worktree, find_project
worktree = Worktree(find_project(Path(sys.argv[1])), temp_root=Path(sys.argv[2])).open()
print(worktree.path, flush=True)
os._exit(1)  # crash: no cleanup
"""


def test_prune_stale_removes_worktrees_of_a_crashed_run(repo: Path, tmp_path: Path) -> None:
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    crashed = subprocess.run([sys.executable, "-c", _CRASHING_RUN, str(repo), str(temp_root)],
                             check=False, capture_output=True, text=True)
    assert crashed.returncode == 1, crashed.stderr
    leftover = Path(crashed.stdout.strip())
    project = find_project(repo)
    assert leftover.is_dir()
    assert list_suture_worktrees(project) == [leftover]
    dead_pid = int(leftover.name.removeprefix(WORKTREE_PREFIX).split("-")[0])
    orphan = temp_root / f"{WORKTREE_PREFIX}{dead_pid}-orphan"
    orphan.mkdir()  # a crash between creating the directory and `git worktree add`
    unrelated = temp_root / f"{WORKTREE_PREFIX}{dead_pid}-other"
    unrelated.mkdir()
    (unrelated / "keep.txt").write_text("not a worktree of this repository")

    with Worktree(project, temp_root=temp_root) as live:
        removed = prune_stale(project, temp_root=temp_root)
        assert sorted(removed) == sorted([leftover, orphan])
        assert live.path.is_dir()
        assert list_suture_worktrees(project) == [live.path]
    assert not leftover.exists() and not orphan.exists()
    assert (unrelated / "keep.txt").exists()
    registry = repo / ".git" / "worktrees"
    assert not registry.exists() or list(registry.iterdir()) == []
    assert prune_stale(project, temp_root=temp_root) == []


def test_ensure_excluded_is_idempotent(repo: Path) -> None:
    exclude = repo / ".git" / "info" / "exclude"
    exclude.unlink(missing_ok=True)
    assert ensure_excluded(repo) is True
    assert ensure_excluded(repo) is False
    assert exclude.read_text().splitlines().count(".suture/") == 1
    (repo / ".suture").mkdir()
    (repo / ".suture" / "suture.db").write_text("db")
    assert git(repo, "status", "--porcelain") == ""

    exclude.write_text("# user line without newline")
    assert ensure_excluded(repo, ".suture/") is True
    assert exclude.read_text() == "# user line without newline\n.suture/\n"


def test_ensure_excluded_from_a_linked_worktree_writes_the_shared_exclude(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked))
    assert (linked / ".git").is_file()
    assert ensure_excluded(linked) is True
    assert ".suture/" in (repo / ".git" / "info" / "exclude").read_text().splitlines()
    assert ensure_excluded(repo) is False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to list child processes")
def test_no_git_processes_are_left_behind(repo: Path) -> None:
    project = find_project(repo / "examples" / "app")
    is_dirty(project)
    with WorktreePool(project, size=1) as pool:
        for _ in range(2):
            with pool.acquire():
                pass
    me = str(os.getpid())
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        name = text[text.find("(") + 1 : text.rfind(")")]
        # git's own children only: other tests of this worker may leave their own (a server, a pool) running
        if fields[1] == me and fields[0] != "Z" and name.startswith("git"):
            children.append(text[: text.rfind(")") + 1])
    assert children == []
