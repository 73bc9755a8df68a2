"""The builtin deterministic fixers and their registry: which fixer handles a finding, decided by the code.

`FIXERS` lists one instance of each fixer. Choosing one takes two steps:

* `candidate_fixers(finding)` — a cheap pre-filter on the finding alone: fixers that know its rule id first, then
  (for tools other than bandit) those that share one of its CWEs;
* `fixers_for(finding, source)` — the candidates whose detector (`Fixer.detects`, a look at the code on the
  finding's lines) recognises the code there. bandit's rule ids map to fixers exactly, so for bandit the candidates
  stand (a detector miss then shows as the fixer's own decline reason). For other tools a CWE is only a hint: a
  CWE-502 finding on a `pickle.loads` line does not go to the YAML fixer. A finding with no CWE and no known rule
  id goes to every fixer whose detector recognises the code.

`rewriting_fixer(finding, source)` answers "would a builtin fixer actually produce a rewrite here?" — the name of
the first selected fixer whose fix succeeds, or None (a detector match that the fixer then declines, such as a
password hashed with MD5, is None). Triage uses it for its "quick win" bonus, asked without libcst where it can be:
every fixer also answers `would_rewrite` on the stdlib `ast` tree (same targets, same decline rules, None when it
cannot be sure; `quick_win.quick_win_fixer`), and the registry refuses a fixer without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from agent.engines.builtin.fixers.ast_view import AstView, Unsure
from agent.engines.builtin.fixers.base import (
    CallFixer,
    Fixer,
    FixResult,
    ParsedSource,
    SourceParseError,
    parse_source,
)
from agent.engines.builtin.fixers.hardcoded_secret import HardcodedSecretFixer
from agent.engines.builtin.fixers.hmac_signature import HmacSignatureFixer
from agent.engines.builtin.fixers.insecure_random import InsecureRandomFixer
from agent.engines.builtin.fixers.jinja2_autoescape import Jinja2AutoescapeFixer
from agent.engines.builtin.fixers.requests_timeout import RequestsTimeoutFixer
from agent.engines.builtin.fixers.shell_command import ShellCommandFixer
from agent.engines.builtin.fixers.sql_parameterize import SqlParameterizeFixer
from agent.engines.builtin.fixers.tar_extract import TarExtractFixer
from agent.engines.builtin.fixers.temp_file import TempFileFixer
from agent.engines.builtin.fixers.tls_verify import TlsVerifyFixer
from agent.engines.builtin.fixers.weak_hash import WeakHashFixer
from agent.engines.builtin.fixers.xml_parser import XmlParserFixer
from agent.engines.builtin.fixers.yaml_load import YamlLoadFixer
from agent.models import Finding, Location

FIXERS: tuple[Fixer, ...] = (
    SqlParameterizeFixer(),
    ShellCommandFixer(),
    YamlLoadFixer(),
    TarExtractFixer(),
    InsecureRandomFixer(),
    HmacSignatureFixer(),  # before weak_hash: a weak hash over key + data needs HMAC, not just SHA-256
    WeakHashFixer(),
    TlsVerifyFixer(),
    Jinja2AutoescapeFixer(),
    RequestsTimeoutFixer(),
    TempFileFixer(),
    HardcodedSecretFixer(),
    XmlParserFixer(),
)




def has_ast_predicate(fixer: Fixer) -> bool:
    """The fixer answers `would_rewrite` on the ast tree (its own method, or CallFixer's over its own
    `ast_is_target` and `ast_plan`)."""
    kind = type(fixer)
    if kind.would_rewrite is not Fixer.would_rewrite and kind.would_rewrite is not CallFixer.would_rewrite:
        return True
    if not isinstance(fixer, CallFixer):
        return False
    call_kind = type(fixer)
    return call_kind.ast_is_target is not CallFixer.ast_is_target and call_kind.ast_plan is not CallFixer.ast_plan


_WITHOUT_PREDICATE = [f.name for f in FIXERS if not has_ast_predicate(f)]
if _WITHOUT_PREDICATE:  # triage's quick-win check asks every fixer on the ast tree first
    raise TypeError(f"builtin fixers without an ast-level would_rewrite: {', '.join(_WITHOUT_PREDICATE)}")


# Tools whose rule ids the fixers list exactly: for them the rule id decides, and a CWE shared with another
# rule is no match (bandit's B607 "partial executable path" carries CWE-78 like B602, but a shell rewrite
# cannot fix it). Findings of every other tool are matched by CWE and then by the code at the location.
RULE_ID_AUTHORITATIVE_TOOLS = frozenset({"bandit"})


def candidate_fixers(finding: Finding) -> list[Fixer]:
    """Fixers that may handle `finding`, judged from the finding alone: rule-id matches first, then CWE-only
    matches (tools other than bandit). Cheap (memoised per tool, rule id and CWEs); `fixers_for` with the source
    is the real choice."""
    return list(_candidates(finding.tool, finding.rule_id, tuple(finding.cwe)))


def _index_by(keys_of: Callable[[Fixer], Iterable[Any]]) -> dict[Any, tuple[int, ...]]:
    index: dict[Any, list[int]] = {}
    for position, fixer in enumerate(FIXERS):
        for key in keys_of(fixer):
            index.setdefault(key, []).append(position)
    return {key: tuple(positions) for key, positions in index.items()}


_BY_RULE_ID = _index_by(lambda fixer: {r.upper() for r in fixer.rule_ids})
_BY_CWE = _index_by(lambda fixer: set(fixer.cwe))


def _rule_id_keys(rule_id: str) -> set[str]:
    """The index keys `Fixer.matches_rule_id` accepts for `rule_id`: the whole id, each prefix ending before a
    `:`, and the part after the last dot."""
    rule = rule_id.strip().upper()
    keys = {rule, rule.rsplit(".", 1)[-1]}
    colon = rule.find(":")
    while colon != -1:
        keys.add(rule[:colon])
        colon = rule.find(":", colon + 1)
    return keys


@lru_cache(maxsize=65536)
def _candidates(tool: str, rule_id: str, cwe: tuple[int, ...]) -> tuple[Fixer, ...]:
    """Looked up in indexes of the fixers' rule ids and CWEs (same answer as asking each fixer's
    `matches_rule_id` / `matches`, tested): scanners such as Trivy name a rule per CVE, so a run may hold tens of
    thousands of distinct rule ids and this runs once for each."""
    by_rule = sorted({p for key in _rule_id_keys(rule_id) for p in _BY_RULE_ID.get(key, ())})
    if tool.lower() in RULE_ID_AUTHORITATIVE_TOOLS:
        return tuple(FIXERS[p] for p in by_rule)
    by_cwe = sorted({p for c in cwe for p in _BY_CWE.get(c, ())} - set(by_rule))
    return tuple(FIXERS[p] for p in by_rule + by_cwe)


def fixers_for(finding: Finding, source: str | ParsedSource | None = None) -> list[Fixer]:
    """The fixers to try on `finding`, in order (module docstring). Without `source`: the candidates only.

    `source` is the text of the finding's file (or its parse). Text that does not parse leaves the candidates
    (each fixer then declines with the parse error).
    """
    candidates = candidate_fixers(finding)
    if source is None or finding.tool.lower() in RULE_ID_AUTHORITATIVE_TOOLS:
        return candidates
    try:
        parsed = source if isinstance(source, ParsedSource) else parse_source(source)
    except SourceParseError:
        return candidates
    first, last = finding.location.start_line, finding.location.last_line
    if not candidates and not finding.cwe:
        candidates = list(FIXERS)  # nothing about the finding says which flaw it is: the code decides alone
    return [f for f in candidates if f.detects(parsed, first, last)]


@lru_cache(maxsize=4096)
def _rewriting_fixer(tool: str, rule_id: str, cwe: tuple[int, ...], first: int, last: int, source: str) -> str | None:
    try:
        parsed = parse_source(source)
    except SourceParseError:
        return None
    return rewriting_fixer_plans(parsed, tool, rule_id, cwe, first, last)


def rewriting_fixer(finding: Finding, source: str) -> str | None:
    """Name of the builtin fixer that would rewrite `finding` in `source` (its file's text), or None.

    The same choice and the same fixer plans as the builtin engine's draft (`fixers_for`, then `fix`, stopped
    before the rewritten module is rendered: `Fixer.rewrites`), so a name here means a draft would carry a
    patch. Memoised per (tool, rule, CWEs, lines, text): triage may ask for
    many findings of one file.
    """
    location = finding.location
    return _rewriting_fixer(finding.tool, finding.rule_id, tuple(finding.cwe), location.start_line,
                            location.last_line, source)


def _fixers_to_ask(tool: str, rule_id: str, cwe: tuple[int, ...]) -> list[Fixer]:
    """The fixers `fixers_for` may select, in order: a fixer rewrites only what it detects, so the first of these
    that would rewrite is `rewriting_fixer`'s answer."""
    candidates = _candidates(tool, rule_id, cwe)
    if not candidates and not cwe and tool.lower() not in RULE_ID_AUTHORITATIVE_TOOLS:
        return list(FIXERS)
    return list(candidates)


def rewriting_fixer_plans(parsed: ParsedSource, tool: str, rule_id: str, cwe: tuple[int, ...], first: int,
                          last: int) -> str | None:
    """`rewriting_fixer`'s answer on a libcst parse, stopping at the plans (`Fixer.rewrites`): the rewritten module
    is not rendered."""
    probe = Finding(id="probe", tool=tool, rule_id=rule_id, message="", cwe=list(cwe),
                    location=Location(path="probe.py", start_line=first, end_line=last))
    for fixer in fixers_for(probe, parsed):
        if fixer.rewrites(parsed, first, last):
            return fixer.name
    return None


def fixer_named(name: str) -> Fixer | None:
    return next((f for f in FIXERS if f.name == name), None)


__all__ = ["FIXERS", "AstView", "FixResult", "Fixer", "Unsure", "candidate_fixers", "fixer_named", "fixers_for",
           "rewriting_fixer", "rewriting_fixer_plans"]
