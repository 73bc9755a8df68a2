"""validate_patch end to end on real git repos and real pytest runs: the hostile corpus, flaky tests, targeting.

Each hostile case must be contained (nothing outside the worktree changes) and recorded with its reason.
Apply-level guards are tested in detail in tests/patch; here they are checked through the whole pipeline.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.models import Edit
from agent.validate import bwrap
from agent.validate.pipeline import run_baseline, validate_patch
from agent.validate.sandbox import network_isolation
from agent.validate.worktree import Worktree
from tests.validate.helpers import finding, make_env, make_repo, tree_state

BASE = {
    "app/__init__.py": "",
    "app/calc.py": "def add(a, b):\n    return a + b\n",
    "app/text.py": "def shout(s):\n    return s.upper()\n",
    "tests/test_calc.py": "from app.calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    "tests/test_text.py": "from app import text\n\ndef test_shout():\n    assert text.shout('a') == 'A'\n",
}


@pytest.fixture
def project(tmp_path: Path):
    return make_repo(tmp_path / "repo", BASE)


def validate(tmp_path, project, edits, **settings):
    env = make_env(tmp_path, project, **settings)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    before_repo, before_home = tree_state(project.git_root), tree_state(env.watch_home)
    git_config = (project.git_root / ".git" / "config").read_bytes()
    with Worktree(project) as wt:
        validation, diff = validate_patch(env, wt.project_path, finding(), edits, "case")
    assert outside.read_text() == "keep me\n"
    assert tree_state(project.git_root) == before_repo or validation.escapes
    assert tree_state(env.watch_home) == before_home or validation.escapes
    assert (project.git_root / ".git" / "config").read_bytes() == git_config
    return validation, diff


def test_passing_patch_runs_targeted_tests_then_full_suite(tmp_path, project) -> None:
    edit = Edit(path="app/calc.py", search="return a + b", replace="return b + a")
    validation, diff = validate(tmp_path, project, [edit])
    assert validation.passed, validation.reasons
    assert validation.targeted is not None and validation.targeted.passed == 1  # only tests/test_calc.py
    assert validation.patched.passed == 2 and "+    return b + a" in diff
    assert validation.sandbox and validation.escapes == [] and validation.flaky == []
    log = Path(validation.log_path).read_text()
    assert "## targeted tests" in log and "sandbox:" in log


def test_breaking_patch_skips_full_suite_and_says_so(tmp_path, project) -> None:
    edit = Edit(path="app/calc.py", search="return a + b", replace="return a - b")
    validation, _ = validate(tmp_path, project, [edit])
    assert not validation.passed
    assert validation.newly_failing == ["tests/test_calc.py::test_add"] and validation.flaky == []
    assert any(r.startswith("full suite not run") for r in validation.reasons)
    assert validation.patched.passed + validation.patched.failed == 1  # the full suite (2 tests) never ran


def test_full_suite_disabled_keeps_targeted_result(tmp_path, project) -> None:
    edit = Edit(path="app/text.py", search="return s.upper()", replace="return str(s).upper()")
    validation, _ = validate(tmp_path, project, [edit], full_suite=False)
    assert validation.passed and validation.patched == validation.targeted
    assert any("full suite disabled" in f for f in validation.flags)


def test_newly_failing_test_that_passes_on_rerun_is_flaky(tmp_path: Path) -> None:
    flaky_test = """
from pathlib import Path
from app.calc import add
def test_sometimes():
    counter = Path(__file__).parent.parent / "runs.txt"  # in the worktree: the one place tests may write
    runs = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(runs))
    assert runs != 2  # passes on the baseline, fails on the first patched run, passes when re-run
    assert add(1, 1) == 2
"""
    project = make_repo(tmp_path / "repo", {**BASE, "tests/test_flaky.py": flaky_test})
    edit = Edit(path="app/calc.py", search="return a + b", replace="return b + a")
    validation, _ = validate(tmp_path, project, [edit])
    assert validation.flaky == ["tests/test_flaky.py::test_sometimes"]
    assert validation.passed and validation.newly_failing == []
    assert any("flaky" in f for f in validation.flags)


@pytest.mark.parametrize(("edit", "reason"), [
    (Edit(path="../outside.txt", search="keep me", replace="owned"), "outside"),
    (Edit(path="/etc/hostname", search="x", replace="y"), "absolute"),
    (Edit(path=".git/config", search="[core]", replace="[core]\n\thooksPath = /tmp"), ".git"),
    (Edit(path="app/calc.py", search="return a + b", replace="return a + b\n" + "x = 1\n" * 5000), "lines"),
    (Edit(path="app/calc.py", search="return a + b", replace="return a + b  # \x00\x01 binary"), "binary"),
    (Edit(path="app/link.py", search="keep me", replace="owned"), "symlink"),
    (Edit(path="app/latin1.py", search="caf", replace="bar"), "utf-8"),
])
def test_hostile_edits_are_refused_with_a_reason(tmp_path: Path, edit: Edit, reason: str) -> None:
    (tmp_path / "repo" / "app").mkdir(parents=True)
    (tmp_path / "repo" / "app" / "link.py").symlink_to(tmp_path / "outside.txt")
    (tmp_path / "repo" / "app" / "latin1.py").write_bytes(b"NAME = 'caf\xe9'\n")
    project = make_repo(tmp_path / "repo", BASE)  # commits the symlink and the Latin-1 file too
    validation, diff = validate(tmp_path, project, [edit])
    assert not validation.applied and not validation.passed and diff == ""
    assert reason in validation.apply_error.lower() or reason in " ".join(validation.reasons).lower()


def test_hanging_suite_is_killed_at_the_timeout(tmp_path, project) -> None:
    edit = Edit(path="app/calc.py", search="return a + b", replace="import time; time.sleep(120); return a + b")
    env = make_env(tmp_path, project)
    with Worktree(project) as wt:
        assert run_baseline(env, wt.project_path).passed == 2  # the baseline gets the ordinary timeout ...
    env.settings.test_timeout = 4  # ... so only the patched run meets the short one, however slow the machine
    with Worktree(project) as wt:
        validation, _ = validate_patch(env, wt.project_path, finding(), [edit], "case")
    assert not validation.passed and validation.patched.timed_out
    assert any("timed out" in r for r in validation.reasons)


@pytest.fixture
def without_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback sandbox (bubblewrap off): its group kill and write detection (bwrap: test_bwrap_sandbox.py)."""
    monkeypatch.setenv("SUTURE_SANDBOX_BWRAP", "off")
    monkeypatch.setattr(bwrap, "_probed", {})


def test_children_that_outlive_the_suite_are_killed(tmp_path, project, without_bwrap) -> None:
    pidfile = tmp_path / "child.pid"
    replace = (f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']);"
               f" open({str(pidfile)!r}, 'w').write(str(p.pid)); return a + b")
    edit = Edit(path="app/calc.py", search="return a + b", replace=replace)
    validation, _ = validate(tmp_path, project, [edit])
    pid = int(pidfile.read_text())
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"
    assert "leftover process" in (validation.patched.log + (validation.targeted.log if validation.targeted else ""))


def test_network_is_loopback_only_inside_the_suite(tmp_path, project) -> None:
    if not network_isolation().active:
        pytest.skip(network_isolation().note)
    test = ("import socket\nfrom app.calc import add\n\ndef test_net():\n"
            "    assert [n for _, n in socket.if_nameindex()] == ['lo']\n"
            "    s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
            "    socket.create_connection(s.getsockname(), timeout=2).close()\n    assert add(1, 2) == 3\n")
    edits = [Edit(path="tests/test_net.py", search="", replace=test, create=True),
             Edit(path="app/calc.py", search="return a + b", replace="return b + a")]
    validation, _ = validate(tmp_path, project, edits, allow_test_edits=True)
    assert validation.passed, validation.reasons
    assert validation.patched.passed == 3 and validation.sandbox[0].startswith("network: denied")


def test_writes_to_home_and_user_repo_are_detected(tmp_path, project, without_bwrap) -> None:
    env_home = tmp_path / "watched-home"
    replace = (f"import os; open(os.path.expanduser('~/.in_fresh_home'), 'w').write('fine');"
               f" open({str(env_home / '.bashrc')!r}, 'a').write('evil');"
               f" open({str(project.git_root / 'app' / 'planted.py')!r}, 'w').write('evil'); return a + b")
    edit = Edit(path="app/calc.py", search="return a + b", replace=replace)
    validation, _ = validate(tmp_path, project, [edit])
    assert not validation.passed
    assert f"created {env_home / '.bashrc'}" in validation.escapes
    assert f"created {project.git_root / 'app' / 'planted.py'}" in validation.escapes
    assert not any(".in_fresh_home" in e for e in validation.escapes)  # ~ is the fresh temp HOME
    assert any("wrote outside the worktree" in r for r in validation.reasons)


def test_baseline_runs_once_per_commit_across_threads(tmp_path: Path) -> None:
    counting = ("from pathlib import Path\ndef test_count():\n    p = Path(__file__).parent / 'ran'\n"
                "    p.write_text(p.read_text() + 'x' if p.exists() else 'x')\n")  # in its worktree
    project = make_repo(tmp_path / "repo", {**BASE, "tests/test_count.py": counting})
    env = make_env(tmp_path, project)
    results = []
    with Worktree(project) as a, Worktree(project) as b:
        threads = [threading.Thread(target=lambda p=wt.project_path: results.append(run_baseline(env, p)))
                   for wt in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        marks = [(wt.project_path / "tests" / "ran").read_text() for wt in (a, b)
                 if (wt.project_path / "tests" / "ran").exists()]
    assert marks == ["x"] and results[0] is results[1] and results[0].passed == 3
