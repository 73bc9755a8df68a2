"""Run a project's test command in a sandboxed subprocess and report what happened as a TestRun.

Works for any test command given as an argument list or a shell-like string (never run through a shell).
pytest gets special care: a JUnit report for per-test outcomes and its exit codes mapped to meaning.
Other runners are judged by exit code only.

Isolation here: the command runs in its own session / process group with an environment built from an
allow-list (`scrubbed_env`). At the timeout the whole group gets SIGTERM, then SIGKILL after a grace period;
after a normal exit, processes of the group that outlived the command are killed the same way. A process that
starts its own session escapes the group: only the bubblewrap prefix from agent.validate.sandbox (a PID
namespace) contains those. pytest writes its JUnit report into an anonymous in-memory file (memfd) passed to
it as /proc/self/fd/N, so no report file is ever left on disk, even if suture is killed.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.models import TestRun
from agent.validate.junit import JUnitError, parse_junit
from agent.validate.project_env import detect_project_env
from agent.validate.test_command import TestCommandError, parse_test_command  # noqa: F401 (run_tests raises it)

DEFAULT_KILL_GRACE_S = 2.0
DEFAULT_LOG_LIMIT = 64 * 1024

# The only variables of suture's own environment a test run sees (plus names the user configures, `test_env`).
# Everything else, credentials above all, stays out: an allow-list cannot miss a secret named in a new way.
ENV_ALLOW = (
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_*", "TZ", "TERM", "NO_COLOR",
    "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING",
    "PYTHONUTF8", "PYTHONWARNINGS", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONSAFEPATH", "PYTHONFAULTHANDLER",
    "PYTHONDEVMODE", "CONDA_PREFIX",
)
_PYTEST_EXIT_REASONS = {
    3: "pytest hit an internal error (exit 3)",
    4: "pytest usage error (exit 4)",
    5: "no tests were collected",
}
_SHELL_EXIT_REASONS = {
    126: "test command could not be executed (exit 126)",
    127: "test command not found (exit 127)",
}


def detect_test_command(project_dir: Path) -> list[str] | None:
    """The pytest command for a project that has Python tests or pytest configuration, run by the project's
    own environment where it has one (agent.validate.project_env); None otherwise or when that environment
    is missing."""
    return detect_project_env(Path(project_dir)).command


def is_pytest_command(command: Sequence[str]) -> bool:
    """True for `pytest ...`, `py.test ...`, `python -m pytest ...` and wrappers like `uv run pytest ...`."""
    for index, arg in enumerate(command):
        if os.path.basename(arg) in ("pytest", "py.test"):
            return True
        if arg == "-m" and index + 1 < len(command) and command[index + 1] == "pytest":
            return True
    return False


def scrubbed_env(extra: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None,
                 allow: Sequence[str] = ()) -> dict[str, str]:
    """The environment for a test run: the variables of `base` (default os.environ) whose names match
    ENV_ALLOW or `allow` (exact names or globs like `DJANGO_*`, case-sensitive), plus `extra` (set by suture)."""
    source = os.environ if base is None else base
    patterns = (*ENV_ALLOW, *allow)
    env = {name: value for name, value in source.items()
           if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)}
    env.update(extra or {})
    return env


def run_tests(
    command: str | Sequence[str],
    cwd: Path,
    timeout: float,
    junit: bool = True,
    env_extra: Mapping[str, str] | None = None,
    *,
    kill_grace: float = DEFAULT_KILL_GRACE_S,
    log_limit: int = DEFAULT_LOG_LIMIT,
    prefix: Sequence[str] = (),
) -> TestRun:
    """Run `command` in `cwd` and report the outcome; never raises for a failing or broken command.

    `prefix` wraps the command (e.g. a network-namespace launcher); the recorded command leaves it out.
    """
    argv = parse_test_command(command)
    cwd = Path(cwd)
    if not cwd.is_dir():
        return TestRun(ran=False, command=argv, reason=f"test directory does not exist: {cwd}")
    env = scrubbed_env(env_extra)
    if prefix and "/" not in argv[0] and shutil.which(argv[0], path=env.get("PATH")) is None:
        return TestRun(ran=False, command=argv, reason=f"test command not found: {argv[0]}")
    pytest = is_pytest_command(argv)
    junit_path: Path | None = None
    report_fd: int | None = None
    run_argv = [*prefix, *argv]
    if pytest and junit:
        report_fd, junit_path = _report_sink()
        run_argv += [f"--junitxml={junit_path}", "-o", "junit_family=xunit1"]
    try:
        return _run(argv, run_argv, cwd, timeout, env, pytest, junit_path,
                    kill_grace, log_limit, () if report_fd is None else (report_fd,))
    finally:
        if report_fd is not None:
            os.close(report_fd)
        elif junit_path is not None:
            junit_path.unlink(missing_ok=True)


def _report_sink() -> tuple[int | None, Path]:
    """Where pytest writes its JUnit report: (fd, path) of an in-memory file, the same path for the test run
    (which inherits fd) and for suture reading it afterwards; (None, temp file) where memfd is not available."""
    if hasattr(os, "memfd_create") and Path("/proc/self/fd").is_dir():
        fd = os.memfd_create("suture-junit", 0)  # not inheritable until passed with pass_fds
        return fd, Path(f"/proc/self/fd/{fd}")
    fd, name = tempfile.mkstemp(prefix="suture-junit-", suffix=".xml")
    os.close(fd)
    return None, Path(name)


def compare_runs(baseline: TestRun, patched: TestRun) -> list[str]:
    """Tests failing after the patch that did not fail before it.

    Entries are test ids, except notes in angle brackets ("<...>") where a test-level comparison is not
    possible (baseline or patched run did not run or timed out, or a runner without per-test results failed).
    An empty list means the patch made no test worse.
    """
    before = set(baseline.failing_tests)
    new_ids = [test for test in patched.failing_tests if test not in before]
    if not patched.ran:
        return [f"<patched test run did not run: {patched.reason or 'unknown reason'}>"]
    if patched.timed_out:
        return [f"<patched test run timed out after {patched.duration_s:.0f}s>", *new_ids]
    if not baseline.ran:
        note = f"<baseline test run did not run ({baseline.reason or 'unknown reason'}); cannot tell new failures>"
        return [] if patched.ok else [note, *patched.failing_tests]
    if baseline.timed_out:
        return [] if patched.ok else [
            "<baseline test run timed out; cannot tell new failures>", *patched.failing_tests]
    if new_ids:
        return new_ids
    if baseline.ok and not patched.ok and not patched.failing_tests:
        return [f"<test command failed after the patch: exit {patched.exit_code} (baseline exit 0)>"]
    return []


# --- running ---------------------------------------------------------------------------------------------


def _run(
    argv: list[str], run_argv: list[str], cwd: Path, timeout: float, env: dict[str, str], pytest: bool,
    junit_path: Path | None, kill_grace: float, log_limit: int, pass_fds: tuple[int, ...] = (),
) -> TestRun:
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            run_argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, pass_fds=pass_fds,
        )
    except FileNotFoundError:
        return TestRun(ran=False, command=argv, reason=f"test command not found: {argv[0]}")
    except PermissionError:
        return TestRun(ran=False, command=argv, reason=f"test command not executable: {argv[0]}")
    except OSError as exc:
        return TestRun(ran=False, command=argv, reason=f"test command could not start: {argv[0]}: {exc.strerror}")
    output = _OutputCollector(proc, log_limit)
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        duration = time.monotonic() - started
        leftovers = _terminate_group(proc.pid, kill_grace)
        if proc.poll() is None:  # the leader survived the group signals (e.g. it left the group)
            proc.kill()
        proc.wait()
    notes = []
    if timed_out:
        notes.append(f"[suture] timed out after {timeout:g}s; killed the test process group")
    elif leftovers:
        notes.append(f"[suture] killed {leftovers} leftover process(es) of the test run")
    if not output.finish(join_timeout=2.0):
        notes.append("[suture] output still held open by a process outside the test group; log cut here")
    log = output.text() + ("\n" + "\n".join(notes) if notes else "")
    run: dict[str, Any] = {"command": argv, "exit_code": proc.returncode, "duration_s": round(duration, 3), "log": log}
    if timed_out:
        return TestRun(ran=True, timed_out=True, **run, **_pytest_counts(junit_path, log, pytest))
    code = proc.returncode
    if pytest and code in _PYTEST_EXIT_REASONS:
        reason = _PYTEST_EXIT_REASONS[code]
        if code != 5:
            reason += f": {_telling_line(log)}"
        return TestRun(ran=False, reason=reason, **run)
    if not pytest and code in _SHELL_EXIT_REASONS:
        return TestRun(ran=False, reason=f"{_SHELL_EXIT_REASONS[code]}: {_telling_line(log)}", **run)
    counts = _pytest_counts(junit_path, log, pytest) if pytest else {}
    if pytest and code != 0 and not any(counts.get(k) for k in ("passed", "failed", "errors", "skipped")):
        # pytest died before running a single test (not installed, a crashing plugin, a bad interpreter):
        # we learned nothing about the code, which is "not run", never a pass or a comparable failure.
        return TestRun(ran=False, reason=f"pytest exited {code} before running any test: {_telling_line(log)}",
                       **run)
    if junit_path is not None and not counts.get("junit_report"):
        # Only pytest's own report names every test it ran; printed counts prove nothing (code under test can
        # print them, or end the process with exit 0 before pytest reports anything).
        return TestRun(ran=False, reason=f"pytest exited {code} without writing its per-test report (the run "
                       f"ended before pytest reported): {_telling_line(log)}", **run)
    return TestRun(ran=True, **run, **counts)


def _pytest_counts(junit_path: Path | None, log: str, pytest: bool) -> dict:
    if not pytest:
        return {}
    if junit_path is not None:
        try:
            summary = parse_junit(junit_path)
        except JUnitError:
            pass
        else:
            return {"passed": summary.passed, "failed": summary.failed, "errors": summary.errors,
                    "skipped": summary.skipped, "failing_tests": summary.failing, "junit_report": True,
                    "test_ids": summary.ids, "skipped_tests": summary.skipped_ids}
    return _counts_from_pytest_output(log)


_SUMMARY_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")
_SUMMARY_LINE = re.compile(r"^=*\s*\d+ \w+.* in [\d.]+s")
_ERROR_WORD = re.compile(r"(?i)\berror\b|INTERNALERROR")
_SHORT_SUMMARY = re.compile(r"^(FAILED|ERROR) (.+?)(?: - .*)?$")


def _counts_from_pytest_output(log: str) -> dict:
    """Fallback when no JUnit report exists: pytest's final summary line and short-summary lines."""
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    lines = log.splitlines()
    for line in reversed(lines):
        if _SUMMARY_LINE.match(line.strip()):
            for number, word in _SUMMARY_COUNT.findall(line):
                key = {"xpassed": "passed", "xfailed": "skipped", "error": "errors"}.get(word, word)
                counts[key] += int(number)
            break
    failing = []
    for line in lines:
        match = _SHORT_SUMMARY.match(line)
        if match and match.group(2) not in failing:
            failing.append(match.group(2))
    return {**counts, "failing_tests": failing}


def _telling_line(log: str) -> str:
    """The most telling line of a failed start: the last one mentioning an error, else the last one."""
    lines = [line.strip() for line in log.splitlines() if line.strip() and not line.startswith("[suture]")]
    errors = [line for line in lines if _ERROR_WORD.search(line)]
    return (errors or lines or ["no output"])[-1][:300]


# --- process group handling ------------------------------------------------------------------------------


def _terminate_group(pgid: int, grace: float) -> int:
    """SIGTERM the live members of group `pgid`, SIGKILL any left after `grace`; returns how many there were."""
    members = _group_members(pgid)
    if not members:
        return 0
    _signal_group(pgid, signal.SIGTERM)
    if not _wait_group_gone(pgid, grace):
        _signal_group(pgid, signal.SIGKILL)
        _wait_group_gone(pgid, 5.0)
    return len(members)


def _wait_group_gone(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in group `pgid`. Reads /proc on Linux; elsewhere a signal-0 probe."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


class _OutputCollector:
    """Reads a process's merged output on a thread, keeping only the first and last parts of it."""

    def __init__(self, proc: subprocess.Popen, limit: int) -> None:
        self._stream = proc.stdout
        self._head_limit = limit // 4
        self._tail_limit = limit - self._head_limit
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self._total = 0
        self._thread = threading.Thread(target=self._read, name="suture-test-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._stream is not None
        fd = self._stream.fileno()
        try:
            while chunk := os.read(fd, 65536):
                self._total += len(chunk)
                room = self._head_limit - len(self._head)
                if room > 0:
                    self._head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self._tail.append(chunk)
                    self._tail_size += len(chunk)
                    while self._tail_size - len(self._tail[0]) >= self._tail_limit:
                        self._tail_size -= len(self._tail.popleft())
        except OSError:
            pass
        finally:
            self._stream.close()

    def finish(self, join_timeout: float) -> bool:
        self._thread.join(join_timeout)
        return not self._thread.is_alive()

    def text(self) -> str:
        tail = b"".join(list(self._tail))
        if len(tail) > self._tail_limit:
            tail = tail[-self._tail_limit :]
        omitted = self._total - len(self._head) - len(tail)
        if omitted <= 0:
            return (bytes(self._head) + tail).decode("utf-8", errors="replace")
        return (
            bytes(self._head).decode("utf-8", errors="replace")
            + f"\n[... {omitted} bytes of output omitted ...]\n"
            + tail.decode("utf-8", errors="replace")
        )
