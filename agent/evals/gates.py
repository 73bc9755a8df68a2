"""Checks on a patched copy of a case: does it build and import (G1), does the hidden exploit test pass (G3),
and — for findings no local scanner can re-check — does bandit see new findings in the touched files (part of G4).

Works on any small Python project laid out as top-level packages/modules plus tests; the exploit test is copied
into the patched copy only for its own run, so no engine ever sees it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from agent.ingest import scanners
from agent.ingest.sarif import load_sarif, parse_sarif
from agent.models import SEVERITY_ORDER, Finding, TestRun
from agent.validate.runner import run_tests

HIDDEN_DIR = "_eval_hidden"
_NOT_CODE = {"tests", "test", HIDDEN_DIR, "build", "dist", ".git", ".suture"}


@dataclass
class GateResult:
    passed: bool
    detail: str = ""


def importable_modules(root: Path) -> list[str]:
    """Top-level packages and modules of a project (tests and setup scripts left out)."""
    mods = [p.name for p in sorted(root.iterdir())
            if p.is_dir() and (p / "__init__.py").is_file() and p.name not in _NOT_CODE]
    mods += [p.stem for p in sorted(root.glob("*.py"))
             if not p.name.startswith("test_") and p.name not in {"conftest.py", "setup.py", "noxfile.py"}]
    return mods


def check_builds(root: Path, timeout: float = 60.0) -> GateResult:
    """G1: every file compiles and every top-level module (and each module of a package) imports."""
    mods = importable_modules(root)
    code = (
        "import compileall, importlib, pkgutil, re, sys\n"
        "if not compileall.compile_dir('.', quiet=2, rx=re.compile(r'/[.]')): sys.exit(3)\n"
        f"for name in {mods!r}:\n"
        "    m = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(getattr(m, '__path__', []), name + '.'):\n"
        "        importlib.import_module(info.name)\n"
    )
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return GateResult(False, f"import timed out after {timeout:g} s")
    if proc.returncode == 3:
        return GateResult(False, "a file does not compile: " + (proc.stdout + proc.stderr).strip()[-300:])
    if proc.returncode != 0:
        return GateResult(False, "import failed: " + proc.stderr.strip().splitlines()[-1:][0][:300]
                          if proc.stderr.strip() else f"import exited {proc.returncode}")
    return GateResult(True, f"{len(mods)} module(s) import")


def run_exploit(root: Path, exploit: Path, timeout: float = 60.0) -> TestRun:
    """The hidden exploit test, run against the code in `root` (copied in, then removed)."""
    hidden = root / HIDDEN_DIR
    hidden.mkdir(exist_ok=True)
    shutil.copy2(exploit, hidden / exploit.name)
    try:
        return run_tests([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(root),
                          f"{HIDDEN_DIR}/{exploit.name}"], root, timeout=timeout)
    finally:
        shutil.rmtree(hidden, ignore_errors=True)


def exploit_gate(run: TestRun) -> GateResult:
    if not run.ran:
        return GateResult(False, f"exploit test not run: {run.reason}")
    if run.ok and run.passed > 0:
        return GateResult(True, f"{run.passed} exploit check(s) pass")
    return GateResult(False, f"exploit test fails: {', '.join(run.failing_tests[:3]) or f'exit {run.exit_code}'}")


def bandit_findings(root: Path, out: Path, files: list[str] | None = None, timeout: float = 120.0) -> list[Finding]:
    """Bandit's findings on `files` (default: the whole project) in `root`."""
    run = scanners.run_scanner("bandit", root, out, files=files, timeout=timeout)
    if run.error:
        from agent.errors import SutureError

        raise SutureError(f"bandit failed: {run.error}")
    return [f for r in parse_sarif(load_sarif(out), root).runs for f in r.findings]


def new_findings(before: list[Finding], after: list[Finding], threshold: str) -> list[str]:
    """Findings in `after` not in `before` (by fingerprint) at `threshold` severity or worse."""
    known = {f.id for f in before}
    floor = SEVERITY_ORDER[threshold]
    return [f"{f.rule_id} ({f.severity}) at {f.location.path}:{f.location.start_line}" for f in after
            if f.id not in known and SEVERITY_ORDER[f.severity] >= floor]
