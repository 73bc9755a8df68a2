"""Bandit: Python security linter, run from this interpreter (`python -m bandit`), SARIF through bandit[sarif]."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from agent.scanners.base import (
    EXCLUDED_DIRS,
    ScannerNotInstalled,
    ScanRun,
    empty_run,
    execute,
    existing_files,
    prepare,
    top_level_targets,
)


class Bandit:
    """Scans Python files only; every bandit rule can be re-checked (the rules ship with bandit itself)."""

    name = "bandit"
    driver_name = "Bandit"
    install_hint = "pip install 'bandit[sarif]'"

    def version(self) -> str | None:
        try:
            return metadata.version("bandit")
        except metadata.PackageNotFoundError:
            return None

    def run(self, project_root: Path, out: Path, files: Sequence[str] | None = None, timeout: float = 600,
            honor_inline_suppressions: bool = True) -> ScanRun:
        if self.version() is None:
            raise ScannerNotInstalled(f"bandit is not installed; {self.install_hint}")
        root, out = prepare(project_root, out)
        command = [sys.executable, "-m", "bandit", "-f", "sarif", "-o", str(out), "-q"]
        if not honor_inline_suppressions:
            command.append("--ignore-nosec")
        if files is None:
            targets = top_level_targets(root, suffix=".py")
            # bandit also treats each -x entry as a substring of the path; the */name/* globs keep that harmless
            command += ["-r", "-x", ",".join(f"*/{name}/*" for name in EXCLUDED_DIRS)]
        else:
            targets = [f for f in existing_files(root, files) if f.endswith(".py")]
        if not targets:
            return empty_run(self, out, None if files is None else [])
        # bandit exits 1 when it reports issues; that is a successful scan
        scanned = None if files is None else targets
        return execute(self, command + targets, root, out, scanned, timeout, ok_codes={0, 1})

    def rescan_refusal(self, rule_id: str) -> str | None:
        return None
