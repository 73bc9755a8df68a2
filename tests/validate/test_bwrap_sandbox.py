"""A hostile test suite inside the bubblewrap sandbox, with real processes, real git worktrees and real bwrap.

Goal (issue 9, part 2): the suite leaves 0 processes, 0 writes outside the worktree, reaches 0 network and sees
0 secrets, also when suture itself is killed mid-run. Skipped only where bwrap is missing or unusable.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.validate.bwrap import bubblewrap
from agent.validate.runner import run_tests
from agent.validate.sandbox import sandboxed
from agent.validate.worktree import Worktree
from tests.validate.helpers import make_repo

SECRETS = {  # the six that leaked through the old deny-list, then typical ones
    "GH_PAT": "ghp_planted", "DATABASE_URL": "postgres://app:hunter2@db/prod", "SENTRY_DSN": "https://k@sentry/1",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.test/T/B/x", "SESSION_COOKIE": "sess=planted", "MY_PASS": "hunter2",
    "OPENAI_API_KEY": "sk-planted", "AWS_SECRET_ACCESS_KEY": "planted", "GITHUB_TOKEN": "ghp-planted",
    "NPM_TOKEN": "planted", "PGPASSWORD": "planted", "PYTEST_ADDOPTS": "-p planted",
}
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]

# One daemon per call: setsid + double fork, then exec so its command line carries `marker` (to find it from
# outside the PID namespace). Once the file `go` exists (the outer test creates it after the run ended, so a
# write can never land while the run was still allowed to write) it writes every target, then idles.
DAEMON = '''
def daemon(marker, go, targets):
    code = ("import os,sys,time\\nend=time.time()+30\\n"
            "while not os.path.exists(sys.argv[2]) and time.time()<end: time.sleep(0.02)\\n"
            "for t in sys.argv[3:]:\\n"
            "    try: open(t, 'a').write('daemon was here')\\n"
            "    except OSError: pass\\n"
            "time.sleep(60)\\n")
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", code, marker, go, *targets])
        os._exit(0)
    os.wait()
'''


def _skip_without_bwrap() -> None:
    box = bubblewrap(network=True)
    if not box.active:
        pytest.skip(f"bubblewrap not usable here: {box.note}")


@pytest.fixture
def outside() -> Iterator[Path]:
    """A folder outside /tmp (so the sandbox must make it read-only, not merely hide it under a tmpfs)."""
    _skip_without_bwrap()
    try:
        path = Path(tempfile.mkdtemp(prefix=".suture-test-", dir=Path.home()))
    except OSError as exc:
        pytest.skip(f"home folder not writable: {exc}")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if marker.encode() in cmdline and state not in ("Z", "X"):
                found.append(int(entry.name))
    return found


@pytest.fixture
def marker() -> Iterator[str]:
    """A unique word in the daemons' command lines; any daemon that escaped is killed after the test."""
    word = f"suture-hostile-{uuid.uuid4().hex}"
    yield word
    for pid in _processes_with(word):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _wait_until_gone(marker: str, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_hostile_suite_leaves_no_process_write_network_or_secret(outside: Path, marker: str, monkeypatch) -> None:
    home, tmp_target = outside / "home", Path(tempfile.gettempdir()) / f"suture-escape-{uuid.uuid4().hex}"
    home.mkdir()
    (home / ".bashrc").write_text("original\n")
    repo_root = outside / "repo"
    targets = [str(repo_root / "app" / "planted.py"), str(repo_root / ".git" / "hooks" / "pre-push"),
               str(home / ".bashrc"), str(tmp_target)]
    suite = textwrap.dedent('''
        import json, os, socket, sys
        from pathlib import Path
        MARKER, TARGETS = {marker!r}, {targets!r}
        {daemon}
        def test_hostile():
            root = Path(__file__).parent.parent
            daemon(MARKER, str(root / "go"), [str(root / "app" / "late.py"), *TARGETS])
            blocked = []
            for target in TARGETS:
                try:
                    with open(target, "a") as handle:
                        handle.write("evil")
                except OSError:
                    blocked.append(target)
            server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
            socket.create_connection(server.getsockname(), timeout=2).close()  # loopback works
            try:
                socket.create_connection(("192.0.2.1", 80), timeout=1).close()
                outbound = "connected"
            except OSError as exc:
                outbound = type(exc).__name__
            print("HOSTILE" + json.dumps({{"blocked": blocked, "outbound": outbound, "env": sorted(os.environ),
                                           "ok": os.environ.get("HOSTILE_OK")}}))
        def test_plain():
            assert True
    ''').format(marker=marker, targets=targets, daemon=DAEMON)
    project = make_repo(repo_root, {"app/__init__.py": "", "tests/test_hostile.py": suite})
    for name, value in {**SECRETS, "HOSTILE_OK": "passed through"}.items():
        monkeypatch.setenv(name, value)
    before = {t: Path(t).read_bytes() if Path(t).exists() else None for t in targets}
    with Worktree(project) as wt:
        with sandboxed(project.git_root, home, workdir=wt.project_path, pass_env=["HOSTILE_OK"]) as box:
            # -p no:terminal: no summary in the output, so the counts can only come from the JUnit report
            run = run_tests([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:terminal", "-s"],
                            wt.project_path,
                            timeout=60, env_extra=box.env, prefix=box.prefix)
        left = _processes_with(marker)
        (wt.project_path / "go").write_text("")
        time.sleep(2.0)  # a surviving daemon (polling for `go` every 20 ms) would have written by now
        late = (wt.project_path / "app" / "late.py").exists()
    assert "HOSTILE" in run.log, run.log
    seen = json.loads(next(x for x in run.log.splitlines() if x.startswith("HOSTILE"))[len("HOSTILE"):])
    after = {t: Path(t).read_bytes() if Path(t).exists() else None for t in targets}
    tmp_target.unlink(missing_ok=True)
    assert left == [] and _processes_with(marker) == []  # 0 processes
    assert not late  # the worktree stays as the run left it
    assert after == before  # 0 writes outside the worktree
    assert sorted(seen["blocked"]) == sorted(targets[:3])  # read-only; /tmp/... went to the private tmpfs
    assert seen["outbound"] != "connected"  # 0 network beyond loopback
    assert [name for name in SECRETS if name in seen["env"]] == [] and seen["ok"] == "passed through"
    assert run.passed == 2 and run.ok, run.log  # read from the JUnit report written inside the sandbox
    assert any(p.startswith("writes outside the worktree: prevented") for p in box.protections)
    assert any(p.startswith("processes: contained") for p in box.protections)
    assert not any(p.startswith("not isolated") for p in box.protections)


KILLED_RUNNER = '''
import sys
from pathlib import Path
from agent.validate.runner import run_tests
from agent.validate.sandbox import sandboxed
workdir, home = Path(sys.argv[1]), Path(sys.argv[2])
with sandboxed(None, home, workdir=workdir) as box:
    run_tests([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], workdir, timeout=120,
              env_extra=box.env, prefix=box.prefix)
'''


def test_killing_suture_mid_run_leaves_no_process_and_no_temp_file(tmp_path: Path, marker: str) -> None:
    _skip_without_bwrap()
    suite = textwrap.dedent('''
        import os, sys, time
        from pathlib import Path
        {daemon}
        def test_long():
            root = Path(__file__).parent.parent
            daemon({marker!r}, str(root / "go"), [str(root / "late.txt")])
            (root / "started").write_text("")
            time.sleep(60)
    ''').format(marker=marker, daemon=DAEMON)
    project = make_repo(tmp_path / "repo", {"tests/test_long.py": suite})
    own_tmp = tmp_path / "suture-tmp"  # suture's TMPDIR: whatever the run leaves on disk lands here
    own_tmp.mkdir()
    (tmp_path / "home").mkdir()
    with Worktree(project) as wt:
        child = subprocess.Popen([sys.executable, "-c", KILLED_RUNNER, str(wt.project_path), str(tmp_path / "home")],
                                 env={**os.environ, "TMPDIR": str(own_tmp)}, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not (wt.project_path / "started").exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (wt.project_path / "started").exists(), child.stderr.read().decode() if child.poll() else "slow"
        assert _processes_with(marker)  # the daemon runs
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stderr.close()
        left = _wait_until_gone(marker, 5.0)
        (wt.project_path / "go").write_text("")
        time.sleep(2.0)  # a surviving daemon (polling for `go` every 20 ms) would have written by now
        late = (wt.project_path / "late.txt").exists()
    assert left == [] and _processes_with(marker) == []
    assert not late
    assert sorted(p.name for p in own_tmp.iterdir()) == []  # no sandbox dir, no JUnit report left behind


def test_probe_finds_bwrap_usable_from_a_virtualenv_under_tmp(tmp_path: Path) -> None:
    """suture installed in a venv below /tmp (masked by a tmpfs inside the box) must still see bwrap as usable:
    the probe re-mounts the interpreter's folders exactly as a real run does."""
    _skip_without_bwrap()
    venv = Path(tempfile.mkdtemp(prefix="suture-venv-", dir="/tmp"))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
                       check=True, capture_output=True, timeout=120)
        code = ("import sys; from agent.validate.bwrap import bubblewrap; b = bubblewrap(True); "
                "print(sys.prefix); print(b.active, b.note)")
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                             timeout=120, env=env, check=True).stdout.splitlines()
        assert Path(out[0]).resolve() == venv.resolve()
        assert out[1] == "True bubblewrap"
    finally:
        shutil.rmtree(venv, ignore_errors=True)
