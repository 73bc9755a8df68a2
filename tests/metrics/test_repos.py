"""`suture repo add/list` against a real shared SQLite store and real git checkouts: first use registers a repo with
its checkout path, --name gives it a short name `--repo` accepts, a moved checkout's path is replaced."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.app import repos
from agent.errors import SutureError
from tests.conftest import git
from tests.test_e2e import suture


def checkout(root: Path, name: str) -> Path:
    repo = root / name
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "app.py").write_text("print('hi')\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "init")
    return repo


def test_repo_add_and_list_share_one_store(tmp_path: Path):
    store = tmp_path / "team.db"
    one, two = checkout(tmp_path, "one"), checkout(tmp_path, "two")
    git(two, "remote", "add", "origin", "https://ann:secret@github.com/org/two.git")
    env = {"SUTURE_STORE": str(store)}
    added = json.loads(suture(tmp_path, "repo", "add", str(one), "--name", "billing", "--format", "json", env=env).stdout)
    assert added["key"] == f"local:{one.resolve().as_posix()}" and added["name"] == "billing"
    assert added["path"] == str(one.resolve()) and added["path_exists"]
    suture(two, "triage", "--format", "json", env=env)  # any command registers its repo, with its checkout path
    listed = json.loads(suture(tmp_path, "repo", "list", "--format", "json", env=env).stdout)
    assert [(r["key"], r["name"], r["path"]) for r in listed] == [
        (f"local:{one.resolve().as_posix()}", "billing", str(one.resolve())),
        ("github.com/org/two", None, str(two.resolve()))]
    table = suture(tmp_path, "repo", "list", env=env).stdout
    assert "github.com/org/two" in table and "billing" in table and "secret" not in table

    clash = suture(tmp_path, "repo", "add", str(two), "--name", "billing", env=env, expect=2)
    assert "already used by local:" in clash.stderr and "Traceback" not in clash.stderr


def test_a_moved_checkout_path_is_replaced_and_repo_names_resolve(tmp_path: Path):
    store_path = tmp_path / "team.db"
    one = checkout(tmp_path, "one")
    git(one, "remote", "add", "origin", "git@github.com:org/one.git")
    env = {"SUTURE_STORE": str(store_path)}
    suture(tmp_path, "repo", "add", str(one), "--name", "one", env=env)
    moved = tmp_path / "moved"
    shutil.move(one, moved)
    assert json.loads(suture(tmp_path, "repo", "list", "--format", "json", env=env).stdout)[0]["path_exists"] is False
    suture(moved, "triage", env=env)  # the old folder is gone: this checkout's path replaces it
    listed = json.loads(suture(tmp_path, "repo", "list", "--format", "json", env=env).stdout)
    assert [(r["key"], r["path"], r["name"]) for r in listed] == [("github.com/org/one", str(moved.resolve()), "one")]

    store = repos.open_store(str(store_path), tmp_path)
    try:
        assert repos.resolve_repo(store, "one") == "github.com/org/one"
        assert repos.resolve_repo(store, "github.com/org/one") == "github.com/org/one"
        assert repos.resolve_repo(store, str(moved)) == "github.com/org/one"
        with pytest.raises(SutureError, match="known: github.com/org/one"):
            repos.resolve_repo(store, "nope")
    finally:
        store.close()


def test_repo_list_outside_a_project_without_a_store_says_what_to_do(tmp_path: Path):
    env = {"SUTURE_STORE": ""}
    proc = suture(tmp_path, "repo", "list", env=env, expect=2)
    assert "--store" in proc.stderr and "Traceback" not in proc.stderr
    proc = suture(tmp_path, "repo", "list", env={"SUTURE_STORE": str(tmp_path / "none.db")}, expect=2)
    assert "no such store file" in proc.stderr
    assert not (tmp_path / "none.db").exists()
