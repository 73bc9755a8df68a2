"""The sandbox around one test run: what it prevents where bubblewrap is usable, what it only detects elsewhere.

Works for any test command (an argument list) run in a work directory (normally a suture git worktree). Each
protection is recorded as a line on the Validation (`sandbox`); a line starting "not isolated:" names a gap.

With bubblewrap (agent.validate.bwrap; probed once per process) the run is *prevented* from:
- writing outside the work directory's tree (read-only filesystem; private tmpfs /tmp, HOME; .git read-only);
- leaving processes behind (PID namespace: all die with the run, and with suture if it is killed);
- reaching the network (loopback only), and reading suture's environment (allow-list, agent.validate.runner).
Nothing is left on disk by the run, even if suture is killed: HOME and /tmp are tmpfs inside the sandbox.
Detected (not prevented), as the worktree must stay writable: changes to the files git tracks in it (size, mtime
and ctime, which a process cannot set back), so tests cannot rewrite the code they are judging.

Without it (no bwrap, no work directory given, or SUTURE_SANDBOX_BWRAP=off), today's weaker sandbox:
- network: on Linux with `unshare` usable by this user, the command runs in a new network namespace (as root:
  `unshare -n`; otherwise a user namespace too, `unshare -rn`, where the tests see themselves as uid 0). Only
  the loopback interface exists inside and a tiny launcher brings it up. Elsewhere the record says "not isolated".
- HOME, TMPDIR (and XDG dirs) point to a fresh temp dir per run, removed afterwards (left if suture is killed).
- writes outside the worktree are only detected: sizes and mtimes of the user's repository working tree (plus
  `.git/config` and `.git/hooks`) and of the files at the real HOME's top level (folders there: created or
  deleted only) are compared before and after the run. When validations run in parallel, a change lands on every
  run in flight. Processes that start their own session escape the kill of the process group.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import site
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agent.validate.bwrap import (
    HOME_IN_BOX,
    Bubblewrap,
    bubblewrap,
    bwrap_argv,
    hidden_credentials,
    writable_root,
)

# Brings up `lo` inside a fresh network namespace (SIOCGIFFLAGS / SIOCSIFFLAGS with IFF_UP), then execs argv.
# Needs no `ip` binary. Runs with the interpreter suture runs on, independent of the project's environment.
LAUNCHER = (
    "import fcntl,os,socket,struct,sys\n"
    "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
    "f=struct.unpack('16sH14x',fcntl.ioctl(s.fileno(),0x8913,struct.pack('16sH14x',b'lo',0)))[1]\n"
    "fcntl.ioctl(s.fileno(),0x8914,struct.pack('16sH14x',b'lo',f|1))\n"
    "s.close()\n"
    "if len(sys.argv)>1:\n"
    " try: os.execvp(sys.argv[1],sys.argv[1:])\n"
    " except FileNotFoundError: print('command not found: '+sys.argv[1],file=sys.stderr); sys.exit(127)\n"
    " except PermissionError: print('command not executable: '+sys.argv[1],file=sys.stderr); sys.exit(126)\n"
)
_PROBE = (
    "import socket\n"
    "names=[n for _,n in socket.if_nameindex()]\n"
    "l=socket.socket();l.bind(('127.0.0.1',0));l.listen(1)\n"
    "socket.create_connection(l.getsockname(),timeout=2).close()\n"
    "print(','.join(names))\n"
)
_SNAPSHOT_LIMIT = 50_000  # files; beyond this a repository snapshot is cut short (and the record says so)
_SKIP_IN_REPO = {".git", ".suture", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox",
                 "node_modules", ".venv", "venv"}


@dataclass(frozen=True)
class NetworkIsolation:
    """How test processes are kept off the network here: an argv prefix (empty when not possible) and a note."""

    prefix: tuple[str, ...]
    note: str

    @property
    def active(self) -> bool:
        return bool(self.prefix)


_detected: NetworkIsolation | None = None
_detect_lock = threading.Lock()


def network_isolation() -> NetworkIsolation:
    """Detect once per process whether `unshare` gives test runs a loopback-only network namespace."""
    global _detected
    with _detect_lock:
        if _detected is None:
            _detected = _detect()
        return _detected


def network_wanted() -> bool:
    """False when the user switched network isolation off (SUTURE_SANDBOX_NETWORK=off)."""
    return os.environ.get("SUTURE_SANDBOX_NETWORK", "").lower() not in ("0", "off", "false", "no")


def _detect() -> NetworkIsolation:
    if not network_wanted():
        return NetworkIsolation((), "network: not isolated (disabled by SUTURE_SANDBOX_NETWORK)")
    if not sys.platform.startswith("linux"):
        return NetworkIsolation((), f"network: not isolated (no network namespaces on {sys.platform})")
    unshare = shutil.which("unshare")
    if unshare is None:
        return NetworkIsolation((), "network: not isolated (`unshare` not installed; util-linux provides it)")
    flags = "-n" if os.geteuid() == 0 else "-rn"
    prefix = (unshare, flags, sys.executable, "-c", LAUNCHER)
    try:
        out = subprocess.run([*prefix, sys.executable, "-c", _PROBE], check=False, capture_output=True, text=True,
                             timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return NetworkIsolation((), f"network: not isolated (unshare {flags} failed: {exc})")
    interfaces = out.stdout.strip().split(",") if out.returncode == 0 else []
    if interfaces != ["lo"]:
        detail = (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1][:200]
        if out.returncode == 0:
            detail = f"namespace still shows interfaces {interfaces}"
        return NetworkIsolation((), f"network: not isolated (unshare {flags} unusable here: {detail})")
    return NetworkIsolation(prefix, f"network: denied (unshare {flags}; loopback only)")


# --- snapshots -------------------------------------------------------------------------------------------

Snapshot = dict[str, tuple[int, int, int]]  # path -> (size, mtime_ns, ctime_ns); directories have size -1


def snapshot_tracked(root: Path, paths: list[str] | None = None) -> Snapshot | None:
    """Sizes and times of the files git tracks in the worktree `root` (or of `paths`); None if git cannot tell."""
    if paths is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        try:
            out = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, timeout=120,
                                 stdin=subprocess.DEVNULL, env=env, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        if out.returncode != 0:
            return None
        paths = [str(root / os.fsdecode(name)) for name in out.stdout.split(b"\0") if name]
    snap: Snapshot = {}
    for path in paths:
        if not _add(snap, Path(path)):
            snap[path] = (-2, 0, 0)  # missing: a deleted tracked file shows as modified
    return snap


def snapshot_repo(root: Path) -> tuple[Snapshot, bool]:
    """Sizes and times of a working tree's files (plus .git/config and .git/hooks); True if cut short."""
    snap: Snapshot = {}
    for special in (root / ".git" / "config", root / ".git" / "hooks"):
        _add(snap, special)
        if special.is_dir():
            for child in special.iterdir():
                _add(snap, child)
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_IN_REPO]
        for name in files:
            _add(snap, Path(dirpath) / name)
            if len(snap) >= _SNAPSHOT_LIMIT:
                return snap, True
    return snap, False


def snapshot_home(home: Path) -> Snapshot:
    """Sizes and mtimes of the top level of a home directory (files and folders directly in it)."""
    snap: Snapshot = {}
    try:
        children = list(home.iterdir())
    except OSError:
        return snap
    for child in children:
        _add(snap, child, dir_mtime=False)  # tools (scanners, caches) touch folders like ~/.cache all the time
    return snap


def _add(snap: Snapshot, path: Path, dir_mtime: bool = True) -> bool:
    try:
        st = path.lstat()
    except OSError:
        return False
    is_dir = path.is_dir() and not path.is_symlink()
    # ctime: a write that restores size and mtime (os.utime) still moves it
    snap[str(path)] = ((-1, st.st_mtime_ns, st.st_ctime_ns) if is_dir and dir_mtime else (-1, 0, 0) if is_dir
                       else (st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return True


def diff_snapshots(before: Snapshot, after: Snapshot) -> list[str]:
    """Human lines for created, deleted and modified paths."""
    changes = [f"created {p}" for p in sorted(after.keys() - before.keys())]
    changes += [f"deleted {p}" for p in sorted(before.keys() - after.keys())]
    changes += [f"modified {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    return changes


# --- one run ---------------------------------------------------------------------------------------------


@dataclass
class SandboxRun:
    """What one sandboxed test run needs (argv prefix, environment) and what it found afterwards."""

    prefix: tuple[str, ...]
    env: dict[str, str]
    protections: list[str]
    escapes: list[str] = field(default_factory=list)  # writes found afterwards where the tests must not write


@contextmanager
def sandboxed(user_repo: Path | None, real_home: Path | None = None, *, workdir: Path | None = None,
              pass_env: Sequence[str] = (), read_only: Sequence[Path] = (),
              writable: Sequence[Path] = ()) -> Iterator[SandboxRun]:
    """Set up a sandbox for one test run in `workdir`; on exit fill `escapes`: with bwrap, changes to files git
    tracks in the worktree (the tests must not rewrite the code under validation, e.g. before its re-scan);
    without, writes to `user_repo` and the top of `real_home` too.

    `pass_env`: names or globs (the `test_env` setting) of suture's environment variables the run may see on
    top of the built-in allow-list. `user_repo` and `real_home` are watched for writes where bwrap is not used.
    `read_only`: folders outside `workdir` the run must read (the project's virtualenv), kept visible by bwrap.
    `writable`: suture's own folders outside `workdir` the run writes into (coverage data), bind-mounted by bwrap.
    """
    real_home = Path(real_home or os.path.expanduser("~"))
    passed = {name: value for name, value in os.environ.items()
              if any(fnmatch.fnmatchcase(name, pattern) for pattern in pass_env)}
    env_note = ("environment: allow-list only (PATH, locale, TERM, TZ, Python variables"
                + (f"; configured: {', '.join(pass_env)})" if pass_env else ")")
                + "; everything else, credentials included, withheld")
    box = bubblewrap(network_wanted())
    if box.active and workdir is not None:
        run = _bwrap_run(box, Path(workdir), real_home, passed, env_note, read_only, writable)
        root = writable_root(Path(workdir))[0]
        tracked = snapshot_tracked(root)
        try:
            yield run
        finally:
            if tracked is not None:
                changed = diff_snapshots(tracked, snapshot_tracked(root, list(tracked)) or {})
                run.escapes = [f"{c} (a tracked file in the worktree: the tests changed the code under validation)"
                               for c in changed]
        return
    reason = box.note if workdir is not None else "no work directory given"
    with _fallback(user_repo, real_home, passed, env_note, reason) as run:
        yield run


def _bwrap_run(box: Bubblewrap, workdir: Path, real_home: Path, passed: dict[str, str], env_note: str,
               read_only: Sequence[Path] = (), writable: Sequence[Path] = ()) -> SandboxRun:
    env = {**passed, **_home_env(Path(HOME_IN_BOX), Path("/tmp"))}
    prefix = bwrap_argv(box, workdir, real_home, os.environ, read_only, writable)
    hidden = [p.name for p in hidden_credentials(real_home)]
    net = ("network: denied (bubblewrap --unshare-net; loopback only)" if box.network
           else "network: not isolated (disabled by SUTURE_SANDBOX_NETWORK)")
    protections = [
        net,
        ("writes outside the worktree: prevented (bubblewrap: read-only filesystem, .git read-only; "
         "only the worktree is writable)"),
        "HOME and /tmp: private tmpfs, gone when the run ends (nothing left on disk, even if suture is killed)",
        "processes: contained (bubblewrap PID namespace; every process dies with the run and with suture)",
        env_note,
        "changes to files git tracks in the worktree: detected (they fail the validation)",
        "reads: the filesystem stays readable"
        + (f" (hidden: ~/{', ~/'.join(hidden)})" if hidden else ""),
    ]
    return SandboxRun(prefix=tuple(prefix), env=env, protections=protections)


def _home_env(home: Path, tmp: Path) -> dict[str, str]:
    env = {"HOME": str(home), "TMPDIR": str(tmp), "TMP": str(tmp), "TEMP": str(tmp),
           "XDG_CACHE_HOME": str(home / ".cache"), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local" / "share"), "USERPROFILE": str(home)}
    user_base = site.getuserbase()
    if user_base and Path(user_base).is_dir():
        env["PYTHONUSERBASE"] = user_base  # the real user site-packages stay importable
    return env


@contextmanager
def _fallback(user_repo: Path | None, real_home: Path, passed: dict[str, str], env_note: str,
              reason: str) -> Iterator[SandboxRun]:
    net = network_isolation()
    scratch = Path(tempfile.mkdtemp(prefix="suture-sandbox-"))
    home, tmp = scratch / "home", scratch / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = {**passed, **_home_env(home, tmp)}
    protections = [net.note, f"not isolated: {reason}; the protections below are weaker",
                   "HOME and TMPDIR: fresh temp dir per run (left behind if suture is killed)",
                   "not isolated: processes that start their own session can outlive the run", env_note]
    repo_before, cut = snapshot_repo(user_repo) if user_repo else ({}, False)
    home_before = snapshot_home(real_home)
    watched = ["HOME top level"] + (["your repository's working tree"] if user_repo else [])
    protections.append("not isolated: writes outside the worktree are only detected, in " + " and ".join(watched)
                       + (" (repository snapshot cut short: very large tree)" if cut else ""))
    run = SandboxRun(prefix=net.prefix, env=env, protections=protections)
    try:
        yield run
    finally:
        escapes = diff_snapshots(home_before, snapshot_home(real_home))
        if user_repo:
            escapes += diff_snapshots(repo_before, snapshot_repo(user_repo)[0])
        run.escapes = escapes
        shutil.rmtree(scratch, ignore_errors=True)
