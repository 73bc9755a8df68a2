"""bubblewrap (`bwrap`) around one test run: the probe that decides whether it is usable, and its arguments.

Works on Linux with bwrap installed and usable by this user (setuid or user namespaces; as root it just works).
Inside, the run sees:
- the host filesystem read-only (`--ro-bind / /`), except the work directory's tree (read-write) and private,
  empty tmpfs mounts on /tmp, /var/tmp, /run and /dev/shm that vanish with the sandbox;
- a fresh HOME on that tmpfs; the usual credential files of the real home hidden;
- the repository's git directory read-only (tests may run git; hooks and config cannot be planted);
- the interpreter, venv, user site-packages and PYTHONPATH entries that live under a masked folder, re-mounted
  read-only so they stay importable;
- a PID namespace (`--unshare-pid`, `--die-with-parent`, `--new-session`): every process of the run, daemons
  included, is killed when the run's main process exits, when bwrap dies or when suture dies;
- no capabilities (`--cap-drop ALL`, also when suture runs as root), no IPC with the host (`--unshare-ipc`);
- loopback-only network (`--unshare-net`; bwrap brings `lo` up) unless network isolation is switched off.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HOME_IN_BOX = "/tmp/home"
MASKED = ("/tmp", "/var/tmp", "/run")  # each becomes an empty private tmpfs inside (and /dev a minimal /dev)
CREDENTIAL_DIRS = (".ssh", ".aws", ".gnupg", ".docker", ".kube", ".azure", ".config/gh", ".config/gcloud")
CREDENTIAL_FILES = (".netrc", ".git-credentials", ".pypirc", ".npmrc", ".pgpass")
_PROBE = (
    "import os,socket,sys\n"
    "names=[n for _,n in socket.if_nameindex()]\n"
    "l=socket.socket();l.bind(('127.0.0.1',0));l.listen(1)\n"
    "socket.create_connection(l.getsockname(),timeout=2).close()\n"
    "ro=bool(os.statvfs('/').f_flag&os.ST_RDONLY)\n"
    "print(','.join(names)+'|'+str(ro)+'|'+str(os.getpid()<10))\n"
)


@dataclass(frozen=True)
class Bubblewrap:
    """Whether bwrap is usable here (`path`), whether it isolates the network, and a note for the record."""

    path: str | None
    network: bool
    note: str

    @property
    def active(self) -> bool:
        return self.path is not None


_probed: dict[bool, Bubblewrap] = {}
_probe_lock = threading.Lock()


def bubblewrap(network: bool) -> Bubblewrap:
    """Probe once per process (per network setting) whether bwrap can sandbox a test run here."""
    with _probe_lock:
        if network not in _probed:
            _probed[network] = _probe(network)
        return _probed[network]


def _probe(network: bool) -> Bubblewrap:
    if os.environ.get("SUTURE_SANDBOX_BWRAP", "").lower() in ("0", "off", "false", "no"):
        return Bubblewrap(None, False, "bubblewrap disabled by SUTURE_SANDBOX_BWRAP")
    if not sys.platform.startswith("linux"):
        return Bubblewrap(None, False, f"bubblewrap needs Linux (this is {sys.platform})")
    path = shutil.which("bwrap")
    if path is None:
        return Bubblewrap(None, False, "`bwrap` not installed (Debian/Ubuntu package: bubblewrap)")
    # The interpreter's own folders are re-mounted as in a real run: a venv under /tmp must not look unusable.
    mounts = [arg for folder in _python_paths(os.environ) for arg in ("--ro-bind", str(folder), str(folder))]
    argv = [path, *_base_args(network), *mounts, "--", sys.executable, "-c", _PROBE]
    try:
        out = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=20,
                             stdin=subprocess.DEVNULL, env=_python_env(os.environ))
    except (OSError, subprocess.SubprocessError) as exc:
        return Bubblewrap(None, False, f"bwrap failed to start: {exc}")
    if out.returncode != 0:
        detail = (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1][:200]
        return Bubblewrap(None, False, f"bwrap unusable here: {detail}")
    names, readonly, pidns = (out.stdout.strip().split("|") + ["", "", ""])[:3]
    if network and names != "lo":
        return Bubblewrap(None, False, f"bwrap's network namespace still shows interfaces {names}")
    if readonly != "True" or pidns != "True":
        return Bubblewrap(None, False, "bwrap did not give a read-only root and a PID namespace")
    return Bubblewrap(path, network, "bubblewrap")


def _python_env(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k in ("PATH", "LANG", "PYTHONPATH", "PYTHONHOME")}


def _base_args(network: bool) -> list[str]:
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for folder in MASKED:
        if os.path.isdir(folder):
            args += ["--tmpfs", folder]
    args += ["--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    return args + (["--unshare-net"] if network else [])


def writable_root(workdir: Path) -> tuple[Path, Path | None]:
    """(the folder a run in `workdir` may write: its git worktree or repository root, else `workdir` itself;
    the git directory to keep read-only inside it or elsewhere, if any)."""
    workdir = workdir.resolve()
    for folder in (workdir, *workdir.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return folder, dot_git
        if dot_git.is_file():
            return folder, _common_dir(folder, dot_git)
    return workdir, None


def _common_dir(root: Path, dot_git: Path) -> Path | None:
    """The shared git directory a linked worktree's `.git` file points to (through `gitdir:` and `commondir`)."""
    try:
        text = dot_git.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    gitdir = (root / text[len("gitdir:"):].strip()).resolve()
    try:
        common = (gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()).resolve()
    except (OSError, UnicodeDecodeError):
        common = gitdir
    return common if common.is_dir() else None


def _under_masked(path: Path) -> bool:
    return any(path == Path(m) or Path(m) in path.parents for m in MASKED)


def _python_paths(environ: Mapping[str, str], extra: Sequence[Path] = ()) -> list[Path]:
    """Folders the test interpreter needs that a masked tmpfs would hide (a venv under /tmp, say); `extra`: more
    such folders (the project's own virtualenv)."""
    raw = [sys.prefix, sys.base_prefix, sys.exec_prefix, site.getuserbase() or "", *sys.path,
           *environ.get("PYTHONPATH", "").split(os.pathsep), *map(str, extra)]
    found: list[Path] = []
    for entry in raw:
        if not entry or not os.path.isdir(entry):
            continue
        path = Path(entry).resolve()
        if str(path) in MASKED:
            continue  # a whole masked folder (cwd /tmp on sys.path) would undo the mask and the fresh HOME in it
        if _under_masked(path) and not any(p == path or p in path.parents for p in found):
            found = [p for p in found if path not in p.parents] + [path]
    return found


def hidden_credentials(home: Path) -> list[Path]:
    """The usual credential files and folders present at the top of `home`."""
    found: list[Path] = []
    if _under_masked(home.resolve()):
        return found  # hidden with the whole tmpfs-masked folder
    for name in (*CREDENTIAL_DIRS, *CREDENTIAL_FILES):
        path = home / name
        if path.exists() and not path.is_symlink():
            found.append(path)
    return found


def bwrap_argv(box: Bubblewrap, workdir: Path, real_home: Path, environ: Mapping[str, str],
               read_only: Sequence[Path] = (), writable: Sequence[Path] = ()) -> list[str]:
    """The argv prefix running a command under bwrap with `workdir` as its current and writable folder;
    `read_only`: folders outside it the run must read even where they lie under a masked folder; `writable`:
    suture's own folders the run writes into (coverage data), mounted writable at the same path."""
    assert box.path is not None
    root, git_dir = writable_root(workdir)
    args = [box.path, *_base_args(box.network)]
    for path in _python_paths(environ, read_only):
        args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(root), str(root)]
    if (root / ".git").is_file():  # a linked worktree: its pointer must not be redirected to a planted gitdir
        args += ["--ro-bind", str(root / ".git"), str(root / ".git")]
    if git_dir is not None:
        args += ["--ro-bind", str(git_dir), str(git_dir)]  # after the worktree: .git stays read-only
    for path in hidden_credentials(real_home):
        args += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    args += ["--dir", HOME_IN_BOX, "--chdir", str(workdir.resolve()), "--"]
    return args
