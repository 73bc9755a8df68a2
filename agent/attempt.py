"""One finding through the loop: context → verdict → draft(s) → validation → a stored proposal.

A finding ends as a validated patch (a passing test executes the change), an unproven one (every check passed,
but no test executes the change), a failed patch with the reason (did not apply, tests broke, finding still
present, a worse one added; for model engines also "no usable edits"), a dismissal proposal when the engine
judged it a false positive, or, when the builtin engine drafts nothing (no fixer for the rule, or its fixers
decline the code), a finding without a draft: `no_draft` returns an unsaved proposal (`is_no_draft`) that is
never stored, so nothing sits in the review queue as a failed patch; callers keep its reason (agent.outcomes).
Nothing here approves anything: every proposal waits for a person.
"""

from __future__ import annotations

import hashlib
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
from agent.models import Context, Finding, Proposal, Validation, Verdict
from agent.store import Store
from agent.validate.pipeline import ValidationEnv, validate_patch
from agent.validate.regression_step import with_regression_test


def proposal_id(finding_id: str, engine: str, content: str) -> str:
    return hashlib.sha256(f"{finding_id}\0{engine}\0{content}".encode()).hexdigest()[:16]


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
    with_usage = getattr(engine, "classify_with_usage", None)  # thread-safe: usage comes back with the verdict
    usage = None
    try:
        if with_usage is not None:
            verdict, usage, _prompt_hash = with_usage(view, context)
        else:
            verdict = engine.classify(view, context, source_dir)
    except ModelUnavailableError:
        raise  # the model cannot be used at all: stop the run, every later finding would fail the same way
    except SutureError as exc:
        return _failed(store, env, finding, engine, f"classification failed: {exc}", None, Draft())
    if verdict is not None and verdict.verdict == "false_positive":
        return _dismissal(store, env, finding, engine, verdict, usage)

    retryable = engine.name.startswith("llm:")
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
            return _failed(store, env, finding, engine, f"drafting failed: {exc}", verdict, Draft(), attempt, usage)
        for d in drafts:
            usage = d.usage if usage is None else usage.add(d.usage)
        drafts = [restore_secrets(d, prepared.redactor) for d in drafts]
        candidates = merge_identical(drafts)
        if not candidates:
            draft = drafts[0]
            last_error = draft.error or "engine returned no edits"
            if retryable and attempt < settings.max_attempts:
                feedback = Feedback(attempt=attempt, previous_reply=draft.raw_reply, failure=last_error)
                continue
            if not retryable:  # the builtin engine drafted nothing: a finding without a draft, not a failed patch
                return no_draft(finding, engine, env, last_error, verdict, draft, usage)
            if held is not None:
                return _patch(store, env, finding, engine, held[0], verdict, held[1], held[2], attempt, usage,
                              notes + _spend_notes(engine))
            return _failed(store, env, finding, engine, last_error, verdict, draft, attempt, usage,
                           notes + _spend_notes(engine))
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
            usage = spent if usage is None else usage.add(spent)
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
            return _patch(store, env, finding, engine, draft, verdict, validation, diff, attempt,
                          usage, notes + _spend_notes(engine))
        feedback = Feedback(attempt=attempt, previous_reply=chosen.draft.raw_reply,
                            failure=describe_failure(finding, validation), coverage=describe_coverage(validation),
                            regression=describe_regression(validation))
        reset()
    return _failed(store, env, finding, engine, last_error, verdict, Draft(), settings.max_attempts, usage)


def _draw(engine: Engine, view: Finding, context: Context, source_dir: Path, feedback: Feedback | None,
          k: int) -> list[Draft]:
    many = getattr(engine, "draft_candidates", None)
    if k > 1 and many is not None:
        return many(view, context, source_dir, feedback, k=k)
    return [engine.draft(view, context, source_dir, feedback)]


def _spend_notes(engine: Engine) -> list[str]:
    spend = getattr(engine, "spend", None)
    return list(spend.notes) if spend is not None else []


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


def _base(finding: Finding, engine: Engine, env: ValidationEnv, draft: Draft, verdict: Verdict | None,
          attempts: int, usage, notes: list[str] | None = None) -> dict:
    return {
        "notes": list(notes or []),
        "finding_id": finding.id, "engine": _engine_label(engine, draft), "verdict": verdict,
        "prompt_hash": draft.prompt_hash, "model": getattr(engine, "model", None),
        "model_params": draft.model_params, "usage": usage or draft.usage, "attempts": attempts,
        "commit": env.commit,
    }


def _engine_label(engine: Engine, draft: Draft) -> str:
    fixer = draft.model_params.get("fixer") if draft.model_params else None
    return f"{engine.name}:{fixer}" if fixer and engine.name == "builtin" else engine.name


def _patch(store, env, finding, engine, draft, verdict, validation, diff, attempts, usage, notes=None) -> Proposal:
    pid = proposal_id(finding.id, engine.name, diff or draft.raw_reply or "")
    proposal = Proposal(
        id=pid, kind="patch", rationale=draft.rationale, edits=draft.edits, diff=diff,
        **_base(finding, engine, env, draft, verdict, attempts, usage, notes),
    )
    stored = store.add_proposal(proposal)
    if stored.state != "drafted":
        return stored
    stored = stored.model_copy(update={"validation": validation})
    store.update_proposal(stored)
    target = validation.state  # validated | unproven | failed (DESIGN.md)
    comment = {"validated": "all checks passed; tests executing the change: " + ", ".join(
        validation.covering_tests[:5]),
               "unproven": "all checks passed, but " + validation.unproven_reason,
               "failed": "; ".join(validation.reasons) or "validation failed"}[target]
    return store.transition(pid, target, "suture", comment)


def no_draft(finding, engine, env, error, verdict, draft, usage=None) -> Proposal:
    """The finding without a draft, as an unsaved proposal carrying the reason (`is_no_draft` is true of it)."""
    return Proposal(id=proposal_id(finding.id, engine.name, "no-draft:" + error), kind="patch", error=error,
                    rationale=draft.rationale,
                    **_base(finding, engine, env, draft, verdict, 1, usage, [f"no draft: {error}"]))


def is_no_draft(proposal: Proposal) -> bool:
    """True for `no_draft`'s result (Proposal.without_draft): never stored, nothing to review."""
    return proposal.without_draft


def _failed(store, env, finding, engine, error, verdict, draft, attempts=1, usage=None, notes=None) -> Proposal:
    pid = proposal_id(finding.id, engine.name, "error:" + error)
    proposal = Proposal(id=pid, kind="patch", rationale=draft.rationale, error=error,
                        **_base(finding, engine, env, draft, verdict, attempts, usage, notes))
    stored = store.add_proposal(proposal)
    if stored.state != "drafted":
        return stored
    return store.transition(pid, "failed", "suture", error)


def _dismissal(store, env, finding, engine, verdict: Verdict, usage) -> Proposal:
    """A false-positive verdict as a dismissal proposal awaiting a person; the finding stays open."""
    pid = proposal_id(finding.id, engine.name, "dismiss:" + verdict.rationale)
    proposal = Proposal(id=pid, kind="dismissal", rationale=verdict.rationale,
                        **_base(finding, engine, env, Draft(), verdict, 1, usage))
    return store.add_proposal(proposal)
