"""Ingest reads a commit's files from git (agent/ingest/commit_files.py): for every path a log may name it must
accept, refuse (with the same reason) and read exactly what ProjectFiles gives on a real checkout of that commit,
whatever the tree holds (symlinks in, out, absolute, chained, looping, through folders; a submodule; CRLF and bad
UTF-8), for a project at the repository root or in a subfolder; the working tree's edits are never seen."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agent.ingest.commit_files import CommitFiles
from agent.ingest.path_map import _MAX_FILES, _SKIP_DIRS
from agent.ingest.project_files import PathRejected, ProjectFiles
from agent.validate.worktree import Worktree, find_project

FILES = {
    "top.py": b"one\ntwo\nthree\n",
    "proj/a.py": b"a1\r\na2\r\na3\r\n",
    "proj/pkg/b.py": b"b1\nb2 \xff\xfe bad\nb3\n",
    "proj/pkg/deep/c.py": "c1\ns\u00e9\u2028x\nc3\n".encode(),
    "proj/node_modules/lib/x.js": b"x\n",
    "other/d.py": b"d1\rd2\rd3\r",
    "proj/run.sh": b"#!/bin/sh\necho hi\n",
}
LINKS = {  # link -> target, as committed
    "proj/link_in.py": "a.py",
    "proj/pkg/up.py": "../a.py",
    "proj/pkg_alias": "pkg",
    "proj/chain.py": "link_in.py",
    "proj/out_abs.py": "/etc/hostname",
    "proj/out_rel.py": "../other/d.py",
    "proj/back_in.py": "../proj/a.py",
    "proj/far_out.py": "../../../../x.py",
    "proj/loop_a.py": "loop_b.py",
    "proj/loop_b.py": "loop_a.py",
    "proj/dangling.py": "nowhere.py",
    "proj/folder_out": "../other",
    "proj/pkg/deep/to_pkg": "..",
    "other/into_proj": "../proj/pkg",
}
PATHS = ["a.py", "pkg/b.py", "pkg/deep/c.py", "run.sh", "link_in.py", "pkg/up.py", "pkg_alias/b.py",
         "pkg_alias/deep/c.py", "chain.py", "out_abs.py", "out_rel.py", "back_in.py", "far_out.py", "loop_a.py",
         "dangling.py", "folder_out/d.py", "pkg/deep/to_pkg/b.py", "pkg/deep/to_pkg/deep/c.py",
         "pkg/deep/to_pkg/../a.py", "pkg/../a.py", "./a.py", "pkg/./b.py", "../top.py", "../proj/a.py", "pkg",
         "pkg_alias", "missing.py", "a.py/x.py", "pkg/missing/x.py", "missing/../a.py", "sub", "sub/x.py",
         "node_modules/lib/x.js", "untracked.py", "../other/into_proj/b.py", "folder_out/into_proj/b.py"]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("commit-files") / "repo"
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "proj" / "run.sh").chmod(0o755)
    for name, target in LINKS.items():
        os.symlink(target, root / name)
    git(root, "init", "-q")
    git(root, "add", "-A")
    head = git(root, "hash-object", "-w", "--stdin")  # any object id will do for a gitlink entry
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{head.strip() or '0' * 40},proj/sub")
    git(root, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "tree")
    # the working tree moves on: none of this may be seen
    (root / "proj" / "a.py").write_bytes(b"edited\n")
    (root / "proj" / "untracked.py").write_bytes(b"new\n")
    return root


def answers(files: ProjectFiles) -> dict[str, object]:
    found: dict[str, object] = {}
    for relative in PATHS:
        try:
            files.check(relative)
        except PathRejected as rejected:
            reason = str(rejected)  # a loop's message names the checkout's own path: compare up to it
            found[relative] = reason.split(": Symlink loop")[0] if "Symlink loop" in reason else reason
        else:
            found[relative] = files.lines(relative)
    return found


@pytest.mark.parametrize("subdir", ["proj", ""])
def test_a_commits_files_are_a_checkouts(repo: Path, subdir: str):
    project = find_project(repo / subdir if subdir else repo)
    with Worktree(project, project.head) as checkout:
        want = answers(ProjectFiles.of(checkout.project_path))
        want_listing = ProjectFiles.of(checkout.project_path).listing(_SKIP_DIRS, _MAX_FILES)
    files = CommitFiles.at(project.path, project.git_root, project.head, project.subdir)
    try:
        got = answers(files)
        got_listing = files.listing(_SKIP_DIRS, _MAX_FILES)
    finally:
        files.close()
    got = {k: v.split(": symlink loop")[0] if isinstance(v, str) and ": symlink loop" in v else v
           for k, v in got.items()}
    # a checkout accepts `missing/../a.py` (resolved by name, as realpath does) but the system cannot open it
    # through the missing folder: the commit reads the file it names
    quirk = want.pop("missing/../a.py"), got.pop("missing/../a.py")
    assert quirk == (None, want["a.py"]) if subdir else quirk[0] == quirk[1]
    assert got == want
    want_listing.pop(".git", None)  # a checkout's own .git file (at the repository root)
    assert {k: sorted(v) for k, v in got_listing.items()} == {k: sorted(v) for k, v in want_listing.items()}
    if subdir:  # the cases are real: placed, refused outside, missing, and read from the commit
        assert want["a.py"] == ["a1\n", "a2\n", "a3\n"] and want["pkg_alias/b.py"] == want["pkg/b.py"]
        assert "outside the project root" in str(want["out_rel.py"]) and "outside" in str(want["out_abs.py"])
        assert "does not exist" in str(want["untracked.py"]) and "does not exist" in str(want["sub/x.py"])
        assert str(want["loop_a.py"]).startswith("cannot resolve loop_a.py")


def test_ingest_places_results_in_the_commit_not_the_working_tree(repo: Path):
    from agent.app import ingest_file, open_session

    log = repo.parent / "scan.sarif"
    results = [{"ruleId": "R1", "message": {"text": "m"}, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": uri}, "region": {"startLine": 1}}}]}
        for uri in ("a.py", "untracked.py", "pkg_alias/b.py", "out_rel.py")]
    log.write_text(__import__("json").dumps(
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scanner"}}, "results": results}]}))
    session = open_session(repo / "proj")
    try:
        [report] = ingest_file(session, log)
        findings = {f.location.path: f for f in session.store.list_findings(None)}
    finally:
        session.close()
    assert sorted(findings) == ["a.py", "pkg_alias/b.py"]
    assert findings["a.py"].location.snippet == "a1\n"  # committed, not the edit
    assert sorted(s.reason.split(":")[0] for s in report.skipped) == [
        "file does not exist in the project", "path resolves outside the project root (symlink?)"]


def test_a_commit_git_cannot_list_or_an_object_it_cannot_read_is_a_clear_error(repo: Path):
    from agent.errors import SutureError

    project = find_project(repo / "proj")
    with pytest.raises(SutureError, match="cannot list the files of commit 0000000000"):
        CommitFiles.at(project.path, project.git_root, "0" * 40, project.subdir)
    files = CommitFiles.at(project.path, project.git_root, project.head, project.subdir)
    try:
        files._entries["proj/a.py"] = ("100644", "1" * 40)  # an object the repository does not hold
        with pytest.raises(SutureError, match="cannot read object 1111111111"):
            files.lines("a.py")
    finally:
        files.close()
