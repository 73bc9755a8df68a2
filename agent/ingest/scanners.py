"""Run the bundled scanners (Bandit, Semgrep) over a project and leave a SARIF 2.1.0 log behind.

Works on any project directory: a full scan walks the whole tree except vendored and generated folders
(`EXCLUDED_DIRS`); a partial scan looks only at the given files (used to re-scan the files a patch touched).
Scanners run as subprocesses with the project root as working directory and relative targets, so every path
in the SARIF is relative to the project root (leading "./" is stripped afterwards). Semgrep only ever gets
local rule files (suture's own pack by default) and runs with metrics and the version check off, so a scan
never touches the network. A scan that fails or times out is reported in `ScanRun.error`, not raised; a
scanner that is not installed, or a target outside the project, raises a SutureError.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

import agent
from agent.errors import SutureError

EXCLUDED_DIRS: tuple[str, ...] = (
    ".git", ".suture", ".venv", "venv", "node_modules", "build", "dist",
    "__pycache__", ".tox", ".eggs", ".hg", ".svn",
)
DEFAULT_SEMGREP_RULES = Path(agent.__file__).resolve().parent / "rules" / "semgrep"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json"
_DRIVER_NAMES = {"bandit": "Bandit", "semgrep": "Semgrep OSS"}
_INSTALL_HINTS = {"bandit": "pip install 'bandit[sarif]'", "semgrep": "pip install 'suture[semgrep]'"}
_SEMGREP_ENV = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
_SEMGREP_ENV_DROPPED = ("SEMGREP_APP_TOKEN", "SEMGREP_RULES")


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


def available_scanners() -> dict[str, str | None]:
    """{"bandit": version or None, "semgrep": version or None} for the scanners this environment can run."""
    return {"bandit": _bandit_version(), "semgrep": _semgrep_version()}


def run_scanner(
    tool: str,
    project_root: Path,
    out: Path,
    files: Sequence[str] | None = None,
    timeout: float = 600,
    honor_inline_suppressions: bool = True,
) -> ScanRun:
    """Run the scanner called `tool` ("bandit" or "semgrep") with its defaults.

    `honor_inline_suppressions=False` makes the scanner report code marked `# nosec` / `# nosemgrep` too: a
    re-scan that judges a patch must not let the patch silence its own finding with a comment."""
    if tool == "bandit":
        return run_bandit(project_root, out, files=files, timeout=timeout,
                          honor_inline_suppressions=honor_inline_suppressions)
    if tool == "semgrep":
        return run_semgrep(project_root, out, files=files, timeout=timeout,
                           honor_inline_suppressions=honor_inline_suppressions)
    raise SutureError(f"unknown scanner {tool!r}; choose one of: {', '.join(sorted(_DRIVER_NAMES))}")


def run_bandit(
    project_root: Path, out: Path, files: Sequence[str] | None = None, timeout: float = 600,
    honor_inline_suppressions: bool = True,
) -> ScanRun:
    """Bandit over the project's Python files (or just `files`), SARIF written to `out`."""
    if _bandit_version() is None:
        raise ScannerNotInstalled(f"bandit is not installed; {_INSTALL_HINTS['bandit']}")
    root, out = _prepare(project_root, out)
    command = [sys.executable, "-m", "bandit", "-f", "sarif", "-o", str(out), "-q"]
    if not honor_inline_suppressions:
        command.append("--ignore-nosec")
    if files is None:
        targets = _top_level_targets(root)
        # bandit also treats each -x entry as a substring of the path; the */name/* globs keep that harmless
        command += ["-r", "-x", ",".join(f"*/{name}/*" for name in EXCLUDED_DIRS)]
    else:
        targets = [f for f in _existing_files(root, files) if f.endswith(".py")]
    if not targets:
        return _empty_run("bandit", out, None if files is None else [])
    # bandit exits 1 when it reports issues; that is a successful scan
    scanned = None if files is None else targets
    return _execute("bandit", command + targets, root, out, scanned, timeout, ok_codes={0, 1})


def run_semgrep(
    project_root: Path,
    out: Path,
    files: Sequence[str] | None = None,
    rules: Path | None = None,
    timeout: float = 600,
    honor_inline_suppressions: bool = True,
) -> ScanRun:
    """Semgrep with local rules only (suture's pack unless `rules` is given), SARIF written to `out`."""
    executable = find_semgrep()
    if executable is None:
        raise ScannerNotInstalled(f"semgrep is not installed; {_INSTALL_HINTS['semgrep']}")
    rules = (rules or DEFAULT_SEMGREP_RULES).resolve()
    if not rules.exists():
        raise SutureError(f"semgrep rules not found: {rules}")
    root, out = _prepare(project_root, out)
    command = [
        executable, "scan", "--config", str(rules), "--sarif", "--output", str(out),
        "--metrics=off", "--disable-version-check", "--no-rewrite-rule-ids",
    ]
    if not honor_inline_suppressions:
        command.append("--disable-nosem")
    for name in EXCLUDED_DIRS:
        command += ["--exclude", name]
    targets = ["."] if files is None else _existing_files(root, files)
    if not targets:
        return _empty_run("semgrep", out, [])
    scanned = None if files is None else targets
    env = semgrep_environment()
    return _execute("semgrep", command + targets, root, out, scanned, timeout, ok_codes={0, 1}, env=env)


# ---------------------------------------------------------------------------------------------- helpers


def _bandit_version() -> str | None:
    try:
        return metadata.version("bandit")
    except metadata.PackageNotFoundError:
        return None


def semgrep_environment() -> dict[str, str]:
    """This process's environment for a semgrep run: version check and metrics off, no login token."""
    return {k: v for k, v in os.environ.items() if k not in _SEMGREP_ENV_DROPPED} | _SEMGREP_ENV


def find_semgrep() -> str | None:
    beside_python = Path(sys.executable).parent / ("semgrep.exe" if os.name == "nt" else "semgrep")
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which("semgrep")


def _semgrep_version() -> str | None:
    executable = find_semgrep()
    if executable is None:
        return None
    if Path(executable).parent == Path(sys.executable).parent:
        try:
            return metadata.version("semgrep")
        except metadata.PackageNotFoundError:
            pass
    try:
        completed = subprocess.run(
            [executable, "--version", "--disable-version-check"],
            capture_output=True, text=True, timeout=60, check=False, env=semgrep_environment(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = completed.stdout.strip().splitlines()
    return lines[-1].strip() if completed.returncode == 0 and lines else None


def _prepare(project_root: Path, out: Path) -> tuple[Path, Path]:
    root = Path(project_root).resolve()
    if not root.is_dir():
        raise SutureError(f"project root is not a directory: {project_root}")
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)  # never mistake an old log for this run's
    return root, out


def _top_level_targets(root: Path) -> list[str]:
    """Entries of the project root to scan recursively: folders not excluded, and top-level .py files."""
    targets = []
    for entry in sorted(root.iterdir()):
        if entry.name in EXCLUDED_DIRS:
            continue
        if entry.is_dir() or entry.suffix == ".py":
            targets.append(entry.name)
    return targets


def _existing_files(root: Path, files: Sequence[str]) -> list[str]:
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


def _execute(
    tool: str,
    command: list[str],
    root: Path,
    out: Path,
    files_scanned: list[str] | None,
    timeout: float,
    ok_codes: set[int],
    env: dict[str, str] | None = None,
) -> ScanRun:
    """Run one scanner command in its own process group, logging to `<out>.log`; kill the group on timeout."""
    log_path = out.with_name(out.name + ".log")
    started = time.monotonic()
    with log_path.open("wb") as log:
        try:
            process = subprocess.Popen(
                command, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ScannerNotInstalled(f"cannot start {tool}: {exc}; {_INSTALL_HINTS[tool]}") from exc
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


def _empty_run(tool: str, out: Path, files_scanned: list[str] | None) -> ScanRun:
    """Nothing to scan: write a valid SARIF log with no results, so callers need no special case."""
    log = {
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [{"tool": {"driver": {"name": _DRIVER_NAMES[tool], "rules": []}}, "results": []}],
    }
    out.write_text(json.dumps(log, indent=2), encoding="utf-8")
    return ScanRun(tool, out, files_scanned, None, 0.0, None)


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
