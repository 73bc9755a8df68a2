"""What became of the last attempt at a finding, so a re-run with nothing new skips work that is done (issue 12).

Every `fix` / `classify` attempt at one finding ends in one *outcome*, recorded in the store under an *outcome
key*: a sha256 over everything that decides the result of that work, and nothing else:

* the task (`fix` or `classify`) and the commit worked on (HEAD);
* the engine's fingerprint (`Engine.fingerprint`): its name (`builtin`, `llm:<model>`), the model and the API
  base, and its instructions: for a model engine the prompt hash of every prompt task it may use (classify, draft,
  repair; `agent.llm.prompt_hash`), for the builtin engine a hash of its own code (fixers, static evidence and the
  facts layer), so a new or changed fixer is a new key; and suture's version;
* the settings that change a result (`RESULT_SETTINGS`): for a fix the test command, test interpreter, test
  timeout and environment, full suite, re-scan, fail_on_new_severity, test/harness edit permissions, the diff
  caps, k, temperature, max_attempts, max_tokens, token_budget; for classify the model parameters only.
  Not in the key: workers, llm_concurrency, budget_usd, request_timeout, cache, top (they change how much runs
  and how fast, not what a given attempt yields).

An outcome is *final* when doing the same work again at the same key cannot give anything new:
validated and unproven patches, dismissal proposals, "no fixer for this rule" (the builtin engine drafts nothing
for it), a classify verdict or the builtin engine's "no opinion"; and a failed patch when the engine would repeat
itself (the builtin engine; a model with the response cache on replays its cached replies), unless a test run
timed out. Errors (a model reply that could not be used, a classification or drafting failure) are never final.
A run skips a finding whose *last* outcome at its key is final; `--retry-failed` (or `--redo`) attempts it again.

The table (`outcomes`, agent/store/schema.py, created by the store's migrations under its write lock; each row
carries the store's repo) is the one place where a finding's outcome without a proposal (e.g. "no fixer") is
kept: `record_outcome` takes any kind.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa

import agent
from agent.config import Settings
from agent.engines.base import Engine
from agent.models import Proposal, utcnow
from agent.store.schema import outcomes_t

FIX, CLASSIFY = "fix", "classify"
RESULT_SETTINGS: dict[str, tuple[str, ...]] = {
    FIX: ("test_command", "test_python", "test_timeout", "test_env", "full_suite", "rescan",
          "fail_on_new_severity", "allow_test_edits", "allow_harness_edits", "max_files", "max_changed_lines",
          "scan_timeout", "k", "temperature", "max_attempts", "max_tokens", "token_budget"),
    CLASSIFY: ("temperature", "max_tokens", "token_budget"),
}
FINAL_KINDS = frozenset({"validated", "unproven", "dismissal", "no_fixer", "verdict", "no_opinion"})
SKIPPED = "skipped"  # the progress status prefix of a finding a run skipped ("skipped: <why>")

@dataclass(frozen=True)
class Outcome:
    finding_id: str
    kind: str
    final: bool
    reason: str
    proposal_id: str | None = None
    detail: dict | None = None

    def describe(self) -> str:
        """One line for a person: why the finding was skipped."""
        return f"final outcome at this commit ({self.kind}: {self.reason})"


def instructions_hash(engine: Engine) -> str:
    """The engine's "prompt": model engines' prompt hashes (classify, draft, repair), else the engine's own code."""
    return str(engine.fingerprint()["instructions"])


def outcome_key(task: str, settings: Settings, engine: Engine, commit: str) -> str:
    """The key of `task` on one commit with `engine` and `settings` (see the module docstring)."""
    parts = {
        "task": task, "commit": commit, **engine.fingerprint(), "suture": agent.__version__,
        "settings": {name: getattr(settings, name) for name in RESULT_SETTINGS[task]},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def record_outcome(store, finding_id: str, task: str, key: str, kind: str, final: bool, reason: str,
                   proposal_id: str | None = None, detail: dict | None = None) -> Outcome:
    """Append one outcome (any kind: also findings that got no proposal, such as "no fixer for this rule")."""
    table = outcomes_t
    outcome = Outcome(finding_id, kind, final, reason[:2000], proposal_id, detail)
    with store.engine.begin() as conn:
        conn.execute(table.insert().values(finding_id=finding_id, task=task, key=key, kind=kind, final=final,
                                           reason=outcome.reason, proposal_id=proposal_id, detail=detail,
                                           at=utcnow(), repo=getattr(store, "repo", None)))
    return outcome


def last_outcome(store, finding_id: str, task: str, key: str) -> Outcome | None:
    """The latest outcome recorded for the finding at this key, or None."""
    table = outcomes_t
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table.c.kind, table.c.final, table.c.reason, table.c.proposal_id,
                                     table.c.detail).where(
            table.c.finding_id == finding_id, table.c.task == task, table.c.key == key)
            .order_by(table.c.id.desc()).limit(1)).first()
    return None if row is None else Outcome(finding_id, row.kind, bool(row.final), row.reason, row.proposal_id,
                                            row.detail)


def final_outcome(store, finding_id: str, task: str, key: str) -> Outcome | None:
    """The finding's last outcome at this key if it is final (the work would only repeat itself), else None."""
    last = last_outcome(store, finding_id, task, key)
    return last if last is not None and last.final else None


def final_outcomes(store, finding_ids: list[str], task: str, key: str, chunk: int = 500) -> dict[str, Outcome]:
    """`final_outcome` for many findings at once: {finding id: its last outcome at this key, when final}."""
    table = outcomes_t
    latest: dict[str, Outcome] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(finding_ids), chunk):
            rows = conn.execute(sa.select(table.c.finding_id, table.c.kind, table.c.final, table.c.reason,
                                          table.c.proposal_id, table.c.detail).where(
                table.c.finding_id.in_(finding_ids[start:start + chunk]), table.c.task == task, table.c.key == key)
                .order_by(table.c.id))
            for row in rows:  # ascending: the last row of a finding wins
                latest[row.finding_id] = Outcome(row.finding_id, row.kind, bool(row.final), row.reason,
                                                 row.proposal_id, row.detail)
    return {fid: o for fid, o in latest.items() if o.final}


def repeats_itself(engine: Engine) -> bool:
    """Would the engine give the same drafts again? The builtin engine always; a model with the cache on."""
    return engine.repeats_itself()


def fix_outcome(proposal: Proposal, repeatable: bool) -> tuple[str, bool, str]:
    """(kind, final, reason) of a fix attempt that ended in `proposal` (see the module docstring)."""
    if proposal.kind == "dismissal":
        return "dismissal", True, "judged a false positive; dismissal proposed"
    validation = proposal.validation
    if validation is None:
        error = proposal.error or "no draft"
        if error.startswith("no builtin fixer"):
            return "no_fixer", True, error
        builtin_decline = repeatable and not proposal.engine.startswith("llm:") and not error.startswith(
            ("classification failed", "drafting failed"))
        return ("no_fixer", True, error) if builtin_decline else ("error", False, error)
    if validation.passed:
        state = proposal.state if proposal.state in ("validated", "unproven") else "validated"
        return state, True, "; ".join(validation.reasons) or "all checks passed"
    timed_out = any(run is not None and run.timed_out for run in (validation.baseline, validation.patched))
    reason = "; ".join(validation.reasons) or "validation failed"
    return "failed", repeatable and not timed_out, reason
