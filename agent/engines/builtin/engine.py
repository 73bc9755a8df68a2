"""The builtin engine: deterministic fixers and static false-positive checks, no model.

`classify` reports a verdict only when static evidence is strong (see `evidence.py`). `draft` runs the fixers chosen for
the finding by the code at its lines (`fixers.fixers_for`: bandit rule ids map directly; other tools' CWEs only
name candidates, whose detectors must recognise the code) and turns the first successful rewrite into minimal
search/replace edits; when none applies, the Draft carries every fixer's reason for declining.
The engine is deterministic, so a repair round (feedback) cannot do better than the first attempt and says so.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import agent
from agent.engines.base import BaseEngine, Draft, Feedback, RegressionDraft
from agent.engines.builtin.dependencies import dependency_note
from agent.engines.builtin.edits import EditBuildError, edits_between
from agent.engines.builtin.evidence import collect_evidence, verdict_from_evidence
from agent.engines.builtin.fixers import Fixer, candidate_fixers, fixers_for
from agent.engines.builtin.fixers.base import SourceParseError, lines_label, parse_source
from agent.errors import SutureError
from agent.models import Context, Finding, Verdict


class UnreadableSourceError(SutureError):
    """The finding's file cannot be read from the project (missing, outside the root, or not UTF-8 text)."""


def read_finding_source(project_root: Path, finding: Finding) -> str:
    """The text of the finding's file, refusing paths that leave the project root."""
    root = project_root.resolve()
    path = (root / finding.location.path).resolve()
    if not path.is_relative_to(root):
        raise UnreadableSourceError(f"{finding.location.path} points outside the project root")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UnreadableSourceError(f"{finding.location.path} does not exist in {root}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableSourceError(f"cannot read {finding.location.path}: {exc}") from exc


_OWN_CODE = ("engines/builtin", "code")  # folders of agent/ whose code is the builtin engine's "prompt"


class BuiltinEngine(BaseEngine):
    """Engine protocol implementation with no model: `name = "builtin"`. Its instructions are its own code (fixers,
    static evidence and the facts layer), so a new or changed fixer is a new outcome key; its regression tests are
    the drafting fixer's templates (agent.engines.builtin.regression)."""

    name = "builtin"

    def instructions(self) -> str:
        digest = hashlib.sha256()
        base = Path(agent.__file__).parent
        for folder in _OWN_CODE:
            for file in sorted((base / folder).rglob("*.py")):
                digest.update(file.relative_to(base).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
        return "builtin:" + digest.hexdigest()

    def regression_test(self, finding: Finding, context: Context, diff: str, path: str, project_root: Path,
                        draft: Draft) -> RegressionDraft:
        """The template of the fixer that drafted `draft`, filled in for the finding's call site, or its reason
        for declining."""
        from agent.engines.builtin.regression import RegressionDecline, regression_test_source

        fixer = (draft.model_params or {}).get("fixer")
        try:
            source = (project_root / finding.location.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return RegressionDraft(reason=f"cannot read {finding.location.path}: {exc}")
        made = regression_test_source(fixer, finding, source)
        if isinstance(made, RegressionDecline):
            return RegressionDraft(reason=made.reason)
        return RegressionDraft(content=made, source=f"builtin:{fixer}")

    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        try:
            source = read_finding_source(project_root, finding)
        except UnreadableSourceError:
            source = ""  # path-based evidence still applies
        return verdict_from_evidence(collect_evidence(source, finding, finding.location.path))

    def draft(
        self, finding: Finding, context: Context, project_root: Path, feedback: Feedback | None = None
    ) -> Draft:
        if feedback is not None:
            return Draft(error="the builtin fixers are deterministic and cannot repair their own fix "
                               f"(attempt {feedback.attempt} failed: {feedback.failure})")
        candidates = candidate_fixers(finding)
        if not candidates and finding.cwe:
            cwe = ", ".join(f"CWE-{c}" for c in finding.cwe)
            return Draft(error=f"no builtin fixer handles rule {finding.rule_id} ({cwe})")
        try:
            source = read_finding_source(project_root, finding)
        except UnreadableSourceError as exc:
            return Draft(error=str(exc), model_params=_fixer_param(candidates))
        try:
            parsed = parse_source(source)
        except SourceParseError as exc:
            return Draft(error=str(exc), model_params=_fixer_param(candidates))
        first, last = finding.location.start_line, finding.location.last_line
        fixers = fixers_for(finding, parsed)
        if not fixers:
            looked_for = "; ".join(f"{f.name}: {f.not_found(first, last)}" for f in candidates)
            if not looked_for:
                return Draft(error=f"no builtin fixer handles rule {finding.rule_id} (no CWE) and no fixer "
                                   f"recognises the code on {lines_label(first, last)}")
            return Draft(error=f"no builtin fixer recognises the code at the finding ({looked_for})",
                         model_params=_fixer_param(candidates))
        declines: list[tuple[Fixer, str]] = []
        for fixer in fixers:
            result = fixer.fix_parsed(parsed, first, last)
            if result.new_source is None:
                declines.append((fixer, result.reason))
                continue
            try:
                edits = edits_between(finding.location.path, source, result.new_source)
            except EditBuildError as exc:
                declines.append((fixer, str(exc)))
                continue
            return Draft(
                edits=edits,
                rationale=f"{fixer.summary}. {result.reason}.\n\nReview guidance: {fixer.review_guidance}"
                          + dependency_note(project_root, result.dependencies),
                model_params={"fixer": fixer.name},
            )
        # bandit's candidates are not filtered by shape: when some fixer recognised the code, its reasons are the
        # ones that matter (not another candidate's "no ... on line N")
        recognised = [(f, r) for f, r in declines if f.detects(parsed, first, last)] or declines
        return Draft(error="; ".join(f"{f.name}: {r}" for f, r in recognised),
                     model_params={"fixer": recognised[0][0].name})


def _fixer_param(fixers: list[Fixer]) -> dict:
    return {"fixer": fixers[0].name} if fixers else {}
