"""One finding through the loop: context → verdict → draft(s) → validation → a stored proposal.

Every finding gets exactly one outcome in the store: a validated patch, a failed patch with the reason (no fixer,
patch did not apply, tests broke, finding still present), or a dismissal proposal when the engine judged it a
false positive. Nothing here approves anything: every proposal waits for a person.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from agent.config import Settings
from agent.context.gather import build_context
from agent.context.redact import Redactor, contains_placeholder, unredact
from agent.engines.base import Draft, Engine, Feedback
from agent.errors import SutureError
from agent.llm.errors import ModelUnavailableError
from agent.models import Finding, Proposal, Verdict
from agent.store import Store
from agent.validate.pipeline import ValidationEnv, validate_patch


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


def fix_one(
    env: ValidationEnv, source_dir: Path, store: Store, finding: Finding, engine: Engine, settings: Settings,
    reset: Callable[[], None],
) -> Proposal:
    """One finding through the loop; `source_dir` is a clean checkout that `reset` restores between attempts."""
    context, redactor = build_context(finding, source_dir, model=settings.model, token_budget=settings.token_budget,
                                      hints=static_hints(finding, source_dir))
    view = redacted_finding(finding, redactor)
    try:
        verdict = engine.classify(view, context, source_dir)
    except ModelUnavailableError:
        raise  # the model cannot be used at all: stop the run, every later finding would fail the same way
    except SutureError as exc:
        return _failed(store, env, finding, engine, f"classification failed: {exc}", None, Draft())
    last = getattr(engine, "last_classify", None)
    usage = last[1] if last else None
    if verdict is not None and verdict.verdict == "false_positive":
        return _dismissal(store, env, finding, engine, verdict, usage)

    feedback: Feedback | None = None
    last_error = "no attempt made"
    for attempt in range(1, settings.max_attempts + 1):
        try:
            draft = engine.draft(view, context, source_dir, feedback)
        except ModelUnavailableError:
            raise
        except SutureError as exc:
            return _failed(store, env, finding, engine, f"drafting failed: {exc}", verdict, Draft(), attempt, usage)
        usage = draft.usage if usage is None else usage.add(draft.usage)
        retryable = engine.name.startswith("llm:")
        draft = restore_secrets(draft, redactor)
        if not draft.edits:
            last_error = draft.error or "engine returned no edits"
            if retryable and attempt < settings.max_attempts:
                feedback = Feedback(attempt=attempt, previous_reply=draft.raw_reply, failure=last_error)
                continue
            return _failed(store, env, finding, engine, last_error, verdict, draft, attempt, usage)
        reset()
        label = proposal_id(finding.id, engine.name, draft.raw_reply or repr(draft.edits))
        validation, diff = validate_patch(env, source_dir, finding, draft.edits, label)
        if validation.passed or not retryable or attempt == settings.max_attempts:
            return _patch(store, env, finding, engine, draft, verdict, validation, diff, attempt, usage)
        feedback = Feedback(
            attempt=attempt, previous_reply=draft.raw_reply,
            failure="; ".join(validation.reasons) or (validation.apply_error or "validation failed"),
        )
        reset()
    return _failed(store, env, finding, engine, last_error, verdict, Draft(), settings.max_attempts, usage)


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
          attempts: int, usage) -> dict:
    return {
        "finding_id": finding.id, "engine": _engine_label(engine, draft), "verdict": verdict,
        "prompt_hash": draft.prompt_hash, "model": getattr(engine, "model", None),
        "model_params": draft.model_params, "usage": usage or draft.usage, "attempts": attempts,
        "commit": env.commit,
    }


def _engine_label(engine: Engine, draft: Draft) -> str:
    fixer = draft.model_params.get("fixer") if draft.model_params else None
    return f"{engine.name}:{fixer}" if fixer and engine.name == "builtin" else engine.name


def _patch(store, env, finding, engine, draft, verdict, validation, diff, attempts, usage) -> Proposal:
    pid = proposal_id(finding.id, engine.name, diff or draft.raw_reply or "")
    proposal = Proposal(
        id=pid, kind="patch", rationale=draft.rationale, edits=draft.edits, diff=diff,
        **_base(finding, engine, env, draft, verdict, attempts, usage),
    )
    stored = store.add_proposal(proposal)
    if stored.state != "drafted":
        return stored
    stored = stored.model_copy(update={"validation": validation})
    store.update_proposal(stored)
    target = "validated" if validation.passed else "failed"
    return store.transition(pid, target, "suture", "; ".join(validation.reasons) or "all checks passed")


def _failed(store, env, finding, engine, error, verdict, draft, attempts=1, usage=None) -> Proposal:
    pid = proposal_id(finding.id, engine.name, "error:" + error)
    proposal = Proposal(id=pid, kind="patch", rationale=draft.rationale, error=error,
                        **_base(finding, engine, env, draft, verdict, attempts, usage))
    stored = store.add_proposal(proposal)
    if stored.state != "drafted":
        return stored
    return store.transition(pid, "failed", "suture", error)


def _dismissal(store, env, finding, engine, verdict: Verdict, usage) -> Proposal:
    pid = proposal_id(finding.id, engine.name, "dismiss:" + verdict.rationale)
    proposal = Proposal(id=pid, kind="dismissal", rationale=verdict.rationale,
                        **_base(finding, engine, env, Draft(), verdict, 1, usage))
    return store.add_proposal(proposal)
