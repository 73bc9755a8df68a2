"""The builtin deterministic fixers and their registry.

`FIXERS` lists one instance of each fixer; `fixers_for(finding)` returns those whose pre-filter accepts the finding,
fixers that know the finding's rule id first, then those that only share a CWE. Each fixer still checks the code at
the finding's lines and may decline.
"""

from __future__ import annotations

from agent.engines.builtin.fixers.base import Fixer, FixResult
from agent.engines.builtin.fixers.insecure_random import InsecureRandomFixer
from agent.engines.builtin.fixers.shell_command import ShellCommandFixer
from agent.engines.builtin.fixers.tar_extract import TarExtractFixer
from agent.engines.builtin.fixers.tls_verify import TlsVerifyFixer
from agent.engines.builtin.fixers.weak_hash import WeakHashFixer
from agent.engines.builtin.fixers.yaml_load import YamlLoadFixer
from agent.models import Finding

FIXERS: tuple[Fixer, ...] = (
    ShellCommandFixer(),
    YamlLoadFixer(),
    TarExtractFixer(),
    InsecureRandomFixer(),
    WeakHashFixer(),
    TlsVerifyFixer(),
)


# Tools whose rule ids the fixers list exactly: for them the rule id decides, and a CWE shared with another
# rule is no match (bandit's B607 "partial executable path" carries CWE-78 like B602, but a shell rewrite
# cannot fix it). Findings of every other tool are matched by CWE.
RULE_ID_AUTHORITATIVE_TOOLS = frozenset({"bandit"})


def fixers_for(finding: Finding) -> list[Fixer]:
    """Fixers that may handle `finding`: rule-id matches first, then CWE-only matches (other tools only)."""
    by_rule = [f for f in FIXERS if f.matches_rule_id(finding)]
    if finding.tool.lower() in RULE_ID_AUTHORITATIVE_TOOLS:
        return by_rule
    by_cwe = [f for f in FIXERS if f not in by_rule and f.matches(finding)]
    return by_rule + by_cwe


def fixer_named(name: str) -> Fixer | None:
    return next((f for f in FIXERS if f.name == name), None)


__all__ = ["FIXERS", "FixResult", "Fixer", "fixer_named", "fixers_for"]
