"""Semgrep with local rules only (suture's own pack by default), metrics and version check off: never the network.

A finding from a semgrep rule that is not in suture's pack (a registry or company rule) cannot be re-checked
here, because only local rule files are ever run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import agent
from agent.errors import SutureError
from agent.scanners.base import (
    EXCLUDED_DIRS,
    ScannerNotInstalled,
    ScanRun,
    empty_run,
    execute,
    existing_files,
    prepare,
)

DEFAULT_SEMGREP_RULES = Path(agent.__file__).resolve().parent / "rules" / "semgrep"
_SEMGREP_ENV = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
_SEMGREP_ENV_DROPPED = ("SEMGREP_APP_TOKEN", "SEMGREP_RULES")


class Semgrep:
    name = "semgrep"
    driver_name = "Semgrep OSS"
    install_hint = "pip install 'suture[semgrep]'"

    def __init__(self, rules: Path | None = None) -> None:
        self.rules = rules or DEFAULT_SEMGREP_RULES

    def version(self) -> str | None:
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

    def run(self, project_root: Path, out: Path, files: Sequence[str] | None = None, timeout: float = 600,
            honor_inline_suppressions: bool = True) -> ScanRun:
        executable = find_semgrep()
        if executable is None:
            raise ScannerNotInstalled(f"semgrep is not installed; {self.install_hint}")
        rules = Path(self.rules).resolve()
        if not rules.exists():
            raise SutureError(f"semgrep rules not found: {rules}")
        root, out = prepare(project_root, out)
        command = [
            executable, "scan", "--config", str(rules), "--sarif", "--output", str(out),
            "--metrics=off", "--disable-version-check", "--no-rewrite-rule-ids",
        ]
        if not honor_inline_suppressions:
            command.append("--disable-nosem")
        for name in EXCLUDED_DIRS:
            command += ["--exclude", name]
        targets = ["."] if files is None else existing_files(root, files)
        if not targets:
            return empty_run(self, out, [])
        scanned = None if files is None else targets
        return execute(self, command + targets, root, out, scanned, timeout, ok_codes={0, 1},
                       env=semgrep_environment())

    def rescan_refusal(self, rule_id: str) -> str | None:
        if rule_id.rsplit(".", 1)[-1] in _rule_ids(Path(self.rules).resolve()):
            return None
        return f"semgrep rule {rule_id} is not in suture's local pack; not re-checked"


def pack_has_rule(rule_id: str) -> bool:
    """Whether a semgrep rule id (possibly prefixed with the config path) is one of suture's own rules."""
    return rule_id.rsplit(".", 1)[-1] in _rule_ids(DEFAULT_SEMGREP_RULES)


@lru_cache(maxsize=8)
def _rule_ids(rules: Path) -> frozenset[str]:
    files = [rules] if rules.is_file() else sorted(rules.glob("*.y*ml"))
    ids: set[str] = set()
    for yml in files:
        ids.update(re.findall(r"^\s*-\s*id:\s*([\w.-]+)\s*$", yml.read_text(encoding="utf-8"), re.MULTILINE))
    return frozenset(ids)


def semgrep_environment() -> dict[str, str]:
    """This process's environment for a semgrep run: version check and metrics off, no login token."""
    return {k: v for k, v in os.environ.items() if k not in _SEMGREP_ENV_DROPPED} | _SEMGREP_ENV


def find_semgrep() -> str | None:
    beside_python = Path(sys.executable).parent / ("semgrep.exe" if os.name == "nt" else "semgrep")
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which("semgrep")
