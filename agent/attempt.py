"""One finding through the loop: context → verdict → draft(s) → validation → a stored proposal.

A finding ends as a validated patch (a passing test executes the change), an unproven one (every check passed,
but no test executes the change), a failed patch with the reason (did not apply, tests broke, finding still
present, a worse one added; for model engines also "no usable edits"), a dismissal proposal when the engine
judged it a false positive, or, when a deterministic engine (the builtin one) drafts nothing (no fixer for the
rule, or its fixers decline the code), a finding without a draft: an unsaved proposal (`is_no_draft`) that is
never stored, so nothing sits in the review queue as a failed patch; callers keep its reason (agent.outcomes).
Every proposal is made by one `ProposalRecorder` (agent.recorder). The engine is asked only through the `Engine`
protocol (agent.engines.base), never by its name. Nothing here approves anything: every proposal waits for a person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.candidates import best, merge_identical, outcome_notes
from agent.config import Settings
from agent.context.gather import build_context
from agent.context.redact import Redactor, contains_placeholder, unredact
from agent.engines.base import Draft, Engine, Feedback
from agent.errors import SutureError
from agent.llm.errors import ModelUnavailableError
from agent.models import Context, Finding, Proposal, Validation
from agent.recorder import ProposalRecorder, is_no_draft, proposal_id
from agent.store import Store
from agent.validate.pipeline import ValidationEnv, validate_patch
from agent.validate.regression_step import with_regression_test


def static_hints(finding: Finding, source_dir: Path) -> list[str]:
    """Builtin static evidence (constant input, dead code, test code…) as one-line hints for any engine."""
    from agent.engines.builtin.evidence import collect_evidence

    path = source_dir / finding.location.path
    try:
        source = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    except OSError:
        return []
    return [f"static evidence ({e.supports.replace('_', ' ')}): {e.detail}"
            for e in collect_evidence(source, finding, finding.location.path)]


@dataclass
class Prepared:
    """What an engine sees for one finding: the redacted finding, its budgeted context, and the redactor."""

    view: Finding
    context: Context
    redactor: Redactor


def prepare(finding: Finding, source_dir: Path, settings: Settings) -> Prepared:
    """Context (with static hints) and the redacted finding, exactly as `fix_one` and `suture context` use them."""
    context, redactor = build_context(finding, source_dir, model=settings.model, token_budget=settings.token_budget,
                                      hints=static_hints(finding, source_dir))
    return Prepared(redacted_finding(finding, redactor), context, redactor)


def fix_one(
    env: ValidationEnv, source_dir: Path, store: Store, finding: Finding, engine: Engine, settings: Settings,
    reset: Callable[[], None],
) -> Proposal:
    """One finding through the loop; `source_dir` is a clean checkout that `reset` restores between attempts.

    With `settings.k > 1` (model engines) the first round asks for k candidates, validates each distinct one and
    keeps the best; repair rounds ask for one. A `ModelUnavailableError` (endpoint down, budget reached) stops
    before anything is stored for this finding.
    """
    prepared = prepare(finding, source_dir, settings)
    view, context = prepared.view, prepared.context
    record = ProposalRecorder(store, env, finding, engine)
    try:  # thread-safe: usage comes back with the verdict
        verdict, usage, _prompt_hash = engine.classify_with_usage(view, context, source_dir)
    except ModelUnavailableError:
        raise  # the model cannot be used at all: stop the run, every later finding would fail the same way
    except SutureError as exc:
        return record.failed(f"classification failed: {exc}")
    record.verdict = verdict
    if usage is not None:
        record.spent(usage)
    if verdict is not None and verdict.verdict == "false_positive":
        return record.dismissal()

    retryable = engine.calls_model  # a deterministic engine would only repeat itself
    feedback: Feedback | None = None
    held: tuple | None = None  # (draft, validation, diff, attempt) of a passing patch its own regression test doubts
    last_error = "no attempt made"
    notes: list[str] = []
    for attempt in range(1, settings.max_attempts + 1):
        k = settings.k if attempt == 1 and retryable else 1
        try:
            drafts = _draw(engine, view, context, source_dir, feedback, k)
        except ModelUnavailableError:
            raise
        except SutureError as exc:
            return record.failed(f"drafting failed: {exc}", attempts=attempt)
        for d in drafts:
            record.spent(d.usage)
        drafts = [restore_secrets(d, prepared.redactor) for d in drafts]
        candidates = merge_identical(drafts)
        if not candidates:
            draft = drafts[0]
            last_error = draft.error or "engine returned no edits"
            if retryable and attempt < settings.max_attempts:
                feedback = Feedback(attempt=attempt, previous_reply=draft.raw_reply, failure=last_error)
                continue
            if not retryable:  # the builtin engine drafted nothing: a finding without a draft, not a failed patch
                return record.no_draft(last_error, draft)
            if held is not None:
                return record.patch(held[0], held[1], held[2], attempt, notes + engine.spend_notes())
            return record.failed(last_error, draft, attempt, notes + engine.spend_notes())
        for candidate in candidates:
            reset()
            label = proposal_id(finding.id, engine.name, candidate.draft.raw_reply or repr(candidate.draft.edits))
            candidate.validation, candidate.diff = validate_patch(env, source_dir, finding, candidate.draft.edits,
                                                                  label)
        chosen = best(candidates)
        if k > 1:
            notes = outcome_notes(k, drafts, candidates, chosen)
        validation = chosen.validation
        assert validation is not None
        if validation.passed or not retryable or attempt == settings.max_attempts:
            reset()
            validation, spent = with_regression_test(env, source_dir, finding, engine, prepared, chosen.draft,
                                                     validation, chosen.diff, reset)
            record.spent(spent)
            draft, diff = chosen.draft, chosen.diff
            if retryable and attempt < settings.max_attempts and attack_survives(validation):
                # the model's own attack test still fails on its patch: one more round, shown that result; the
                # passing patch is held and kept unless the repaired one is at least as good
                held = held or (draft, validation, diff, attempt)
                feedback = Feedback(attempt=attempt, previous_reply=draft.raw_reply,
                                    failure="Your patch passed the tests and the re-scan, but the security "
                                            "regression test written for it still fails on the patched code.",
                                    coverage=describe_coverage(validation), regression=describe_regression(validation))
                reset()
                continue
            if held is not None and _STATE_RANK[held[1].state] < _STATE_RANK[validation.state]:
                draft, validation, diff = held[0], held[1], held[2]
            return record.patch(draft, validation, diff, attempt, notes + engine.spend_notes())
        feedback = Feedback(attempt=attempt, previous_reply=chosen.draft.raw_reply,
                            failure=describe_failure(finding, validation), coverage=describe_coverage(validation),
                            regression=describe_regression(validation))
        reset()
    return record.failed(last_error, attempts=settings.max_attempts)


def _draw(engine: Engine, view: Finding, context: Context, source_dir: Path, feedback: Feedback | None,
          k: int) -> list[Draft]:
    if k > 1:
        return engine.draft_candidates(view, context, source_dir, feedback, k=k)
    return [engine.draft(view, context, source_dir, feedback)]


LOG_EXCERPT_CHARS = 3000
LOG_EXCERPT_LINES = 60


def describe_failure(finding: Finding, validation: Validation) -> str:
    """What went wrong with a validated patch, written for the model's repair round."""
    if not validation.applied:
        return ("Your edits were not applied (nothing was changed):\n"
                + (validation.apply_error or "; ".join(validation.reasons)))
    parts = ["Your edits applied, but the patch was rejected:"]
    parts += [f"- {reason}" for reason in validation.reasons]
    if validation.finding_gone is False:
        parts.append(f"The weakness is still reported by {finding.tool} (rule {finding.rule_id}) in "
                     f"{finding.location.path}: change the flagged code itself so the unsafe pattern is gone.")
    tests = [t for t in validation.newly_failing if not t.startswith("<")]
    if tests:
        parts.append("Tests that passed before your change and fail after it: " + ", ".join(tests[:10])
                     + (f" and {len(tests) - 10} more" if len(tests) > 10 else "")
                     + ". Keep the behaviour these tests expect.")
    patched = validation.patched
    if patched is not None and patched.log and (tests or not patched.ok):
        excerpt = failure_excerpt(patched.log)
        if excerpt:
            parts.append("Test output after your change (excerpt):\n" + excerpt)
    if len(parts) == 1:
        parts.append("- validation failed")
    return "\n".join(parts)


def describe_coverage(validation: Validation) -> str | None:
    """Which passing tests executed the changed lines and which changed lines none executed, for the repair
    round; None when coverage was not measured (the patch did not get as far as the tests)."""
    c = validation.coverage
    if c is None:
        return None
    parts = []
    if c.tests:
        parts.append("Passing tests that execute your changed lines: " + ", ".join(c.tests[:10]) + ".")
    for span in c.uncovered[:10]:
        path, _, lines = span.rpartition(":")
        parts.append(f"No passing test executes {path} line{'s' if '-' in lines else ''} {lines}.")
    if c.note:
        parts.append(f"Coverage: {c.note}.")
    return "\n".join(parts) or None


_STATE_RANK = {"validated": 0, "unproven": 1, "failed": 2}


def attack_survives(validation: Validation) -> bool:
    """True when a passing patch's regression test failed on the unpatched code and still fails on the patched
    code: by the test's own account the attack still works (the test may be wrong; a person judges)."""
    r = validation.regression
    return validation.passed and r is not None and r.before == "failed" and r.after == "failed"


def describe_regression(validation: Validation) -> str | None:
    """What the proposed security regression test showed on both trees, for the repair round; None when no test
    was proposed (agent.validate.regression)."""
    r = validation.regression
    if r is None:
        return validation.regression_note
    text = (f"The security regression test {r.path} was {r.before} on the unpatched code and {r.after} on the "
            "patched code" + (f" ({r.note})" if r.note else "") + ".")
    if attack_survives(validation):
        text += (" Your patch passed every other check, but by this test the attack still works after it: make the "
                 "fix complete (the test itself will be written again for the new patch).\nThe test:\n" + r.content)
    return text


def failure_excerpt(log: str, max_chars: int = LOG_EXCERPT_CHARS, max_lines: int = LOG_EXCERPT_LINES) -> str:
    """The informative part of a test log: from pytest's FAILURES/ERRORS section (or a traceback) if there is
    one, else the end; cut to `max_lines` lines and `max_chars` characters with a marker saying how much."""
    lines = log.replace("\r\n", "\n").strip("\n").split("\n")
    start = next((i for i, line in enumerate(lines) if re.match(r"^=+ (FAILURES|ERRORS) =+$", line)), None)
    if start is None:
        start = next((i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")),
                     max(0, len(lines) - max_lines))
    shown = lines[start:start + max_lines]
    text = "\n".join(shown)
    if len(text) > max_chars:
        text = text[:max_chars].rsplit("\n", 1)[0]
    cut = len(lines) - start - text.count("\n") - 1
    return text + (f"\n… [{cut} more line(s) cut]" if cut > 0 else "")


def redacted_finding(finding: Finding, redactor: Redactor) -> Finding:
    """The finding as an engine sees it: scanner messages and snippets can quote secrets, so they are redacted."""
    loc = finding.location
    if loc.snippet:
        loc = loc.model_copy(update={"snippet": redactor.redact(loc.snippet, loc.path).text})
    flow = [s.model_copy(update={"message": redactor.redact(s.message).text}) if s.message else s
            for s in finding.flow]
    return finding.model_copy(update={"message": redactor.redact(finding.message).text, "location": loc,
                                      "flow": flow})


def restore_secrets(draft: Draft, redactor: Redactor) -> Draft:
    """Map placeholders in SEARCH texts back to the real text; refuse REPLACE texts that would write one."""
    if not draft.edits or not redactor.mapping:
        return draft
    for edit in draft.edits:
        if contains_placeholder(edit.replace):
            return Draft(usage=draft.usage, prompt_hash=draft.prompt_hash, model_params=draft.model_params,
                         raw_reply=draft.raw_reply, rationale=draft.rationale,
                         error=f"the replacement for {edit.path} contains a redaction placeholder («SECRET_…»); "
                               "it would write the placeholder into the file. Remove the secret or read it from "
                               "configuration (e.g. os.environ) instead")
    edits = [e.model_copy(update={"search": unredact(e.search, redactor.mapping)}) for e in draft.edits]
    return Draft(edits=edits, rationale=draft.rationale, usage=draft.usage, prompt_hash=draft.prompt_hash,
                 model_params=draft.model_params, raw_reply=draft.raw_reply)


__all__ = [
    "Prepared", "attack_survives", "describe_coverage", "describe_failure", "describe_regression",
    "failure_excerpt", "fix_one", "is_no_draft", "prepare", "proposal_id", "redacted_finding", "restore_secrets",
    "static_hints",
]
