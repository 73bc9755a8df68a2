"""The sandbox around a test run, with real processes: bubblewrap where usable, else the fallback (loopback-only
network through unshare, fresh HOME/TMPDIR, escape watch) that says "not isolated". Hostile suites:
test_bwrap_sandbox.py."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from agent.config import load_settings
from agent.validate import bwrap, sandbox
from agent.validate.runner import run_tests
from agent.validate.sandbox import diff_snapshots, network_isolation, sandboxed, snapshot_home, snapshot_repo
from agent.validate.worktree import Worktree
from tests.validate.helpers import make_repo

PROBE = r"""
import json, os, socket, tempfile, sys
names = [n for _, n in socket.if_nameindex()]
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
socket.create_connection(server.getsockname(), timeout=2).close()
print("PROBE" + json.dumps({"interfaces": names, "home": os.environ["HOME"], "tmp": tempfile.gettempdir(),
                            "key": os.environ.get("OPENAI_API_KEY")}))
"""


def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, list[str]]:
    """The fallback sandbox (no work directory given, so no bubblewrap) seen from inside."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    (tmp_path / "probe.py").write_text(PROBE)
    with sandboxed(None, tmp_path / "home-watch") as box:
        run = run_tests([sys.executable, "probe.py"], tmp_path, timeout=30, junit=False, env_extra=box.env,
                        prefix=box.prefix)
        home = box.env["HOME"]
    line = next(x for x in run.log.splitlines() if x.startswith("PROBE"))
    assert not Path(home).exists()  # removed after the run
    return json.loads(line[len("PROBE"):]), box.protections


def test_network_namespace_keeps_only_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = network_isolation()
    if not net.active:
        pytest.skip(f"no network isolation on this host: {net.note}")
    seen, protections = probe(tmp_path, monkeypatch)
    assert seen["interfaces"] == ["lo"]  # no route anywhere but loopback, which works (connected above)
    assert protections[0].startswith("network: denied")


def test_fresh_home_and_tmpdir_without_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen, protections = probe(tmp_path, monkeypatch)
    assert seen["home"] != os.path.expanduser("~") and "suture-sandbox-" in seen["home"]
    assert seen["tmp"].startswith(str(Path(seen["home"]).parent))
    assert seen["key"] is None
    assert any(p.startswith("HOME and TMPDIR") for p in protections)
    assert "not isolated: no work directory given; the protections below are weaker" in protections
    assert any(p.startswith("not isolated: writes outside the worktree are only detected") for p in protections)


def _bwrap_or_skip() -> None:
    box = bwrap.bubblewrap(network=True)
    if not box.active:
        pytest.skip(f"bubblewrap not usable here: {box.note}")


def test_bwrap_run_sees_private_home_and_tmp_and_records_what_is_prevented(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _bwrap_or_skip()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    (tmp_path / "probe.py").write_text(PROBE)
    with sandboxed(None, tmp_path / "home-watch", workdir=tmp_path) as box:
        run = run_tests([sys.executable, "probe.py"], tmp_path, timeout=30, junit=False, env_extra=box.env,
                        prefix=box.prefix)
    seen = json.loads(next(x for x in run.log.splitlines() if x.startswith("PROBE"))[len("PROBE"):])
    assert seen == {"interfaces": ["lo"], "home": "/tmp/home", "tmp": "/tmp", "key": None}
    assert box.protections[:5] == [
        "network: denied (bubblewrap --unshare-net; loopback only)",
        ("writes outside the worktree: prevented (bubblewrap: read-only filesystem, .git read-only; "
        "only the worktree is writable)"),
        "HOME and /tmp: private tmpfs, gone when the run ends (nothing left on disk, even if suture is killed)",
        "processes: contained (bubblewrap PID namespace; every process dies with the run and with suture)",
        ("environment: allow-list only (PATH, locale, TERM, TZ, Python variables); everything else, "
        "credentials included, withheld"),
    ]
    assert box.escapes == []


GIT_PROBE = r"""
import subprocess, sys
from pathlib import Path
log = subprocess.run(["git", "log", "--format=%s"], capture_output=True, text=True)
print("LOG", log.returncode, log.stdout.strip())
hooks = Path(subprocess.run(["git", "rev-parse", "--git-common-dir"], capture_output=True, text=True,
                            check=True).stdout.strip()).resolve() / "hooks"
try:
    (hooks / "pre-push").write_text("#!/bin/sh\ncurl evil\n")
    print("HOOK written")
except OSError as exc:
    print("HOOK refused", type(exc).__name__)
Path("made-in-worktree.txt").write_text("fine")
"""


def test_git_reads_work_in_the_worktree_but_hooks_cannot_be_planted(tmp_path: Path) -> None:
    _bwrap_or_skip()
    project = make_repo(tmp_path / "repo", {"probe.py": GIT_PROBE})
    with Worktree(project) as wt:
        with sandboxed(project.git_root, tmp_path, workdir=wt.project_path) as box:
            run = run_tests([sys.executable, "probe.py"], wt.project_path, timeout=30, env_extra=box.env,
                            prefix=box.prefix)
        assert (wt.project_path / "made-in-worktree.txt").read_text() == "fine"
    assert "LOG 0 initial" in run.log, run.log  # the worktree's .git file resolves inside the sandbox
    assert "HOOK refused" in run.log, run.log
    assert not (project.git_root / ".git" / "hooks" / "pre-push").exists()


def test_fallback_says_not_isolated_when_bwrap_is_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUTURE_SANDBOX_BWRAP", "off")
    monkeypatch.setattr(bwrap, "_probed", {})
    with sandboxed(None, tmp_path, workdir=tmp_path) as box:
        pass
    assert ("not isolated: bubblewrap disabled by SUTURE_SANDBOX_BWRAP; the protections below are weaker"
            in box.protections)
    assert "not isolated: processes that start their own session can outlive the run" in box.protections


def test_configured_variables_pass_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(tmp_path, environ={"SUTURE_TEST_ENV": "DJANGO_*, MY_FLAG"})
    assert settings.test_env == ["DJANGO_*", "MY_FLAG"]
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "site.settings")
    monkeypatch.setenv("MY_FLAG", "1")
    monkeypatch.setenv("MY_FLAGS", "not this one")
    with sandboxed(None, tmp_path, workdir=tmp_path, pass_env=settings.test_env) as box:
        pass
    assert box.env["DJANGO_SETTINGS_MODULE"] == "site.settings" and box.env["MY_FLAG"] == "1"
    assert "MY_FLAGS" not in box.env
    assert any("configured: DJANGO_*, MY_FLAG" in p for p in box.protections)


def test_fallback_when_network_isolation_is_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_detected", None)
    monkeypatch.setenv("SUTURE_SANDBOX_NETWORK", "off")
    net = network_isolation()
    assert not net.active and net.prefix == () and "not isolated" in net.note
    monkeypatch.setattr(sandbox, "_detected", None)  # the next caller detects again


def test_snapshots_see_created_modified_deleted(tmp_path: Path) -> None:
    repo, home = tmp_path / "repo", tmp_path / "home"
    (repo / ".git" / "hooks").mkdir(parents=True)
    (repo / ".git" / "config").write_text("[core]\n")
    (repo / "a.py").parent.mkdir(exist_ok=True)
    (repo / "a.py").write_text("x = 1\n")
    (repo / "gone.py").write_text("")
    (home / ".cache").mkdir(parents=True)
    (home / ".bashrc").write_text("")
    repo_before, home_before = snapshot_repo(repo)[0], snapshot_home(home)
    (repo / "a.py").write_text("x = 22\n")
    (repo / "gone.py").unlink()
    (repo / ".git" / "hooks" / "pre-commit").write_text("evil")
    (repo / ".git" / "config").write_text("[core]\n\thooksPath = /tmp\n")
    (home / ".cache" / "inside-a-folder").write_text("")  # folders at HOME's top level: not watched inside
    (home / ".ssh").mkdir()
    changes = diff_snapshots(repo_before, snapshot_repo(repo)[0]) + diff_snapshots(home_before, snapshot_home(home))
    assert changes == [
        f"created {repo / '.git' / 'hooks' / 'pre-commit'}", f"deleted {repo / 'gone.py'}",
        f"modified {repo / '.git' / 'config'}", f"modified {repo / '.git' / 'hooks'}", f"modified {repo / 'a.py'}",
        f"created {home / '.ssh'}",
    ]


REWRITER = r"""
import os
from pathlib import Path
target = Path("app.py")
st = target.stat()
target.write_text(target.read_text().replace("eval(x)", "int(x)"))  # same size: looks "fixed" to a re-scan
os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime back
Path("scratch.txt").write_text("untracked output is fine")
"""


def test_tests_that_rewrite_tracked_files_of_the_worktree_are_caught(tmp_path: Path) -> None:
    _bwrap_or_skip()
    project = make_repo(tmp_path / "repo", {"app.py": "def run(x):\n    return eval(x)\n", "rewrite.py": REWRITER})
    with Worktree(project) as wt:
        with sandboxed(project.git_root, tmp_path, workdir=wt.project_path) as box:
            run_tests([sys.executable, "rewrite.py"], wt.project_path, timeout=30, env_extra=box.env,
                      prefix=box.prefix)
        assert "int(x)" in (wt.project_path / "app.py").read_text()  # it did rewrite it
        worktree = wt.path
    assert box.escapes == [(f"modified {worktree / 'app.py'} (a tracked file in the worktree: the tests changed "
                           "the code under validation)")]


def test_a_masked_folder_itself_on_the_python_path_does_not_break_the_box(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """suture run from /tmp (cwd /tmp on sys.path, or PYTHONPATH=/tmp) used to bind the host's /tmp read-only
    over the private tmpfs: bwrap then failed to make the fresh HOME and every validation failed."""
    _bwrap_or_skip()
    monkeypatch.setenv("PYTHONPATH", "/tmp")
    monkeypatch.setattr(sys, "path", ["/tmp", *sys.path])
    (tmp_path / "probe.py").write_text("import os\nprint('HOME', os.environ['HOME'], os.path.isdir(os.environ['HOME']))\n")
    with sandboxed(None, tmp_path / "home-watch", workdir=tmp_path) as box:
        run = run_tests([sys.executable, "probe.py"], tmp_path, timeout=30, junit=False, env_extra=box.env,
                        prefix=box.prefix)
    assert run.exit_code == 0, run.log
    assert "HOME /tmp/home True" in run.log
