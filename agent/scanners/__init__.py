"""The scanners suture runs itself, by name. Adding one is one module implementing `Scanner` (see base.py) and
one line in `_REGISTERED` below; `suture scan`, the re-scan that judges a patch and `available_scanners` all
read this registry. (Reading SARIF from any other tool needs nothing here: see agent/ingest/.)"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.errors import SutureError
from agent.scanners.bandit import Bandit
from agent.scanners.base import EXCLUDED_DIRS, Scanner, ScannerNotInstalled, ScanRun, ScanTargetError
from agent.scanners.semgrep import (
    DEFAULT_SEMGREP_RULES,
    Semgrep,
    find_semgrep,
    pack_has_rule,
    semgrep_environment,
)

_REGISTERED: tuple[Scanner, ...] = (Bandit(), Semgrep())
SCANNERS: dict[str, Scanner] = {scanner.name: scanner for scanner in _REGISTERED}

__all__ = [
    "DEFAULT_SEMGREP_RULES", "EXCLUDED_DIRS", "SCANNERS", "ScanRun", "ScanTargetError", "Scanner",
    "ScannerNotInstalled", "available_scanners", "find_semgrep", "get", "pack_has_rule", "rescan_refusal",
    "run_bandit", "run_scanner", "run_semgrep", "semgrep_environment",
]


def get(name: str) -> Scanner:
    """The registered scanner called `name`; a SutureError naming the known ones otherwise."""
    try:
        return SCANNERS[name]
    except KeyError:
        raise SutureError(f"unknown scanner {name!r}; choose one of: {', '.join(sorted(SCANNERS))}") from None


def available_scanners() -> dict[str, str | None]:
    """{name: installed version or None} for every registered scanner."""
    return {name: scanner.version() for name, scanner in SCANNERS.items()}


def run_scanner(tool: str, project_root: Path, out: Path, files: Sequence[str] | None = None, timeout: float = 600,
                honor_inline_suppressions: bool = True) -> ScanRun:
    """Run the registered scanner called `tool` (see `Scanner.run`)."""
    return get(tool).run(project_root, out, files=files, timeout=timeout,
                         honor_inline_suppressions=honor_inline_suppressions)


def rescan_refusal(tool: str, rule_id: str) -> str | None:
    """Why a finding of `tool`/`rule_id` cannot be re-checked by a scanner run here, or None when it can."""
    scanner = SCANNERS.get(tool)
    if scanner is None:
        return f"{tool} cannot be re-run here; finding not re-checked"
    return scanner.rescan_refusal(rule_id)


def run_bandit(project_root: Path, out: Path, files: Sequence[str] | None = None, timeout: float = 600,
               honor_inline_suppressions: bool = True) -> ScanRun:
    return SCANNERS["bandit"].run(project_root, out, files, timeout, honor_inline_suppressions)


def run_semgrep(project_root: Path, out: Path, files: Sequence[str] | None = None, rules: Path | None = None,
                timeout: float = 600, honor_inline_suppressions: bool = True) -> ScanRun:
    """Semgrep with `rules` (suture's own pack when None)."""
    return Semgrep(rules).run(project_root, out, files, timeout, honor_inline_suppressions)
