"""What every scanner suture can run has in common: the `Scanner` protocol, the record of one run, and the
process/SARIF plumbing each scanner module shares.

A scanner runs as a subprocess with the project root as working directory and relative targets, so every path in
its SARIF is relative to the project root (a leading "./" or the root's file:// URI is stripped afterwards). A
full scan walks the whole tree except vendored and generated folders (`EXCLUDED_DIRS`); a partial scan looks
only at the given files (the re-scan of the files a patch touched). A scan that fails or times out is reported
in `ScanRun.error`, not raised; a scanner that is not installed, or a target outside the project, raises a
SutureError. Nothing here touches the network.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from agent.errors import SutureError

EXCLUDED_DIRS: tuple[str, ...] = (
    ".git", ".suture", ".venv", "venv", "node_modules", "build", "dist",
    "__pycache__", ".tox", ".eggs", ".hg", ".svn",
)
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json"


class ScannerNotInstalled(SutureError):
    """The requested scanner cannot be found in this environment."""


class ScanTargetError(SutureError):
    """A file given for a partial scan is not a path inside the project."""


@dataclass
class ScanRun:
    """One scanner run. `files_scanned` is None for a full scan; `error` is a one-line reason, or None."""

    tool: str
    sarif_path: Path
    files_scanned: list[str] | None
    exit_code: int | None
    duration_s: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Scanner(Protocol):
    """A scanner suture can run itself (for `suture scan` and for the re-scan that judges a patch).

    `name` is the tool name findings carry (the SARIF driver name, normalised); `driver_name` the name its own
    SARIF gives; `install_hint` what to run when it is missing."""

    name: str
    driver_name: str
    install_hint: str

    def version(self) -> str | None:
        """The installed version, or None when this environment cannot run it."""
        ...

    def run(self, project_root: Path, out: Path, files: Sequence[str] | None = None, timeout: float = 600,
            honor_inline_suppressions: bool = True) -> ScanRun:
        """Scan the project (or only `files`), SARIF written to `out`. `honor_inline_suppressions=False`
        reports code marked with the tool's inline suppression comment too: a re-scan that judges a patch must
        not let the patch silence its own finding with a comment."""
        ...

    def rescan_refusal(self, rule_id: str) -> str | None:
        """Why a finding of `rule_id` cannot be re-checked by running this scanner here, or None when it can."""
        ...


def prepare(project_root: Path, out: Path) -> tuple[Path, Path]:
    """(resolved project root, resolved output path with its folder created and no stale log in it)."""
    root = Path(project_root).resolve()
    if not root.is_dir():
        raise SutureError(f"project root is not a directory: {project_root}")
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)  # never mistake an old log for this run's
    return root, out


def top_level_targets(root: Path, suffix: str | None = None) -> list[str]:
    """Entries of the project root to scan recursively: folders not excluded, and top-level files (with
    `suffix` only, when given)."""
    targets = []
    for entry in sorted(root.iterdir()):
        if entry.name in EXCLUDED_DIRS:
            continue
        if entry.is_dir() or suffix is None or entry.suffix == suffix:
            targets.append(entry.name)
    return targets


def existing_files(root: Path, files: Sequence[str]) -> list[str]:
    """Normalised relative POSIX paths of the given files that exist; a path leaving the root is an error."""
    kept: list[str] = []
    for name in files:
        relative = PurePosixPath(str(name).replace("\\", "/"))
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ScanTargetError(f"scan target must be a relative path inside the project: {name!r}")
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            raise ScanTargetError(f"scan target leaves the project through a symlink: {name!r}")
        posix = relative.as_posix()
        if path.is_file() and posix not in kept:
            kept.append(posix)
    return kept


def execute(scanner: Scanner, command: list[str], root: Path, out: Path, files_scanned: list[str] | None,
            timeout: float, ok_codes: set[int], env: dict[str, str] | None = None) -> ScanRun:
    """Run one scanner command in its own process group, logging to `<out>.log`; kill the group on timeout."""
    tool = scanner.name
    log_path = out.with_name(out.name + ".log")
    started = time.monotonic()
    with log_path.open("wb") as log:
        try:
            process = subprocess.Popen(
                command, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ScannerNotInstalled(f"cannot start {tool}: {exc}; {scanner.install_hint}") from exc
        try:
            exit_code: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return ScanRun(tool, out, files_scanned, None, time.monotonic() - started,
                           f"{tool} timed out after {timeout:g} s (log: {log_path})")
    duration = time.monotonic() - started
    error = None
    if exit_code not in ok_codes:
        error = f"{tool} exited with code {exit_code}: {_last_line(log_path)}"
    elif not out.is_file():
        error = f"{tool} wrote no SARIF file: {_last_line(log_path)}"
    else:
        try:
            _relativize_sarif(out, root)
        except (OSError, ValueError) as exc:
            error = f"{tool} wrote unreadable SARIF ({exc})"
    return ScanRun(tool, out, files_scanned, exit_code, duration, error)


def empty_run(scanner: Scanner, out: Path, files_scanned: list[str] | None) -> ScanRun:
    """Nothing to scan: write a valid SARIF log with no results, so callers need no special case."""
    log = {
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [{"tool": {"driver": {"name": scanner.driver_name, "rules": []}}, "results": []}],
    }
    out.write_text(json.dumps(log, indent=2), encoding="utf-8")
    return ScanRun(scanner.name, out, files_scanned, None, 0.0, None)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _last_line(log_path: Path) -> str:
    try:
        lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return (lines[-1][:300] if lines else "(no output)") + f" (log: {log_path})"


def _relativize_sarif(out: Path, root: Path) -> None:
    """Rewrite artifact URIs as POSIX paths relative to the project root ("./a.py" and file:///root/a.py
    become "a.py"); URIs outside the root are left alone."""
    log = json.loads(out.read_text(encoding="utf-8"))
    root_uri = root.as_uri().rstrip("/") + "/"
    changed = False

    def fix(node: object) -> None:
        nonlocal changed
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("artifactLocation", "location") and isinstance(value, dict):
                    uri = value.get("uri")
                    if isinstance(uri, str):
                        new = uri.removeprefix(root_uri)
                        while new.startswith("./"):
                            new = new[2:]
                        if new != uri:
                            value["uri"] = new
                            changed = True
                fix(value)
        elif isinstance(node, list):
            for item in node:
                fix(item)

    fix(log)
    if changed:
        out.write_text(json.dumps(log, indent=2), encoding="utf-8")
