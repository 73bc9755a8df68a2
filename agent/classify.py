"""`suture classify`: verdicts only, for whole backlogs — the cheap triage pass before any drafting.

Works with any engine: the builtin engine answers from static evidence (constant input, dead code, test code…)
and has no opinion otherwise; a model engine answers every finding in JSON. Each verdict is stored with
`Store.save_verdict`. A false-positive verdict also becomes a dismissal proposal awaiting a person (the same
record `suture fix` makes); it never changes the finding's status. Context is built from a clean checkout of
HEAD, exactly as for a fix. Model calls run `llm_concurrency` at a time; results are stored in input order.
A finding whose last classify outcome at this commit, engine, prompt and settings is final (a verdict, or the
builtin engine's "no opinion"; see agent.outcomes) is skipped with its stored verdict, unless `retry_failed`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from agent import outcomes
from agent.attempt import prepare
from agent.config import Settings
from agent.engines.base import Engine
from agent.errors import SutureError
from agent.models import Finding, Proposal, Usage, Verdict
from agent.recorder import ProposalRecorder
from agent.remediate import Workspace
from agent.store import Store
from agent.validate.pipeline import ValidationEnv
from agent.validate.worktree import Worktree, prune_stale

ProgressFn = Callable[[Finding, str], None]


@dataclass
class Classified:
    finding: Finding
    verdict: Verdict | None = None  # None: the engine has no opinion, or it failed (see `error`)
    dismissal: Proposal | None = None
    error: str | None = None
    usage: Usage | None = None
    skipped: str | None = None  # why the finding was not classified again (its final outcome at this key)


def _one(engine: Engine, finding: Finding, source_dir: Path, settings: Settings) -> Classified:
    from agent.llm.errors import ModelUnavailableError

    prepared = prepare(finding, source_dir, settings)
    try:
        verdict, usage, _hash = engine.classify_with_usage(prepared.view, prepared.context, source_dir)
        return Classified(finding, verdict, usage=usage)
    except ModelUnavailableError:
        raise
    except SutureError as exc:
        return Classified(finding, error=str(exc))


def _pending_dismissal(store: Store, finding: Finding) -> Proposal | None:
    for p in store.list_proposals(states=("drafted", "approved"), finding_id=finding.id):
        if p.kind == "dismissal":
            return p
    return None


def classify_findings(
    ws: Workspace, store: Store, findings: list[Finding], engine: Engine, settings: Settings,
    progress: ProgressFn | None = None, retry_failed: bool = False,
) -> list[Classified]:
    """A verdict for each finding, stored; false positives become dismissal proposals awaiting review.

    A `ModelUnavailableError` (endpoint down, budget reached) stops the pass; verdicts already obtained are kept.
    Results come back in the order of `findings`; skipped ones carry `skipped` and their latest stored verdict.
    """
    env = ValidationEnv(settings=settings, logs_dir=ws.state_dir / "logs", commit=ws.project.head)
    workers = settings.llm_concurrency if engine.calls_model else 1
    key = outcomes.outcome_key(outcomes.CLASSIFY, settings, engine, ws.project.head)
    done = {} if retry_failed else outcomes.final_outcomes(store, [f.id for f in findings], outcomes.CLASSIFY, key)
    skipped = {f.id: Classified(f, _kept_verdict(done[f.id]), skipped=done[f.id].describe(),
                                dismissal=store.get_proposal(pid) if (pid := done[f.id].proposal_id) else None)
               for f in findings if f.id in done}
    todo = [f for f in findings if f.id not in skipped]
    results: list[Classified] = []
    if todo:
        prune_stale(ws.project)
        with Worktree(ws.project, ws.project.head) as wt, ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_one, engine, f, wt.project_path, settings) for f in todo]
            try:
                for future in futures:
                    result = future.result()
                    _store(store, env, engine, result)
                    _record(store, key, result)
                    results.append(result)
                    if progress:
                        progress(result.finding, _status(result))
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    for result in skipped.values():
        if progress:
            progress(result.finding, f"{outcomes.SKIPPED}: {result.skipped}")
    by_id = {r.finding.id: r for r in results} | skipped
    return [by_id[f.id] for f in findings if f.id in by_id]


def _kept_verdict(outcome: outcomes.Outcome) -> Verdict | None:
    """The verdict this engine gave at this key (kept with the outcome), None for "no opinion"."""
    return Verdict.model_validate(outcome.detail) if outcome.kind == "verdict" and outcome.detail else None


def _status(result: Classified) -> str:
    return result.verdict.verdict if result.verdict else ("error" if result.error else "no opinion")


def _record(store: Store, key: str, result: Classified) -> None:
    """The classify outcome: a verdict or "no opinion" is final (the same work would repeat it); an error is not."""
    if result.verdict is not None:
        v = result.verdict
        kind, reason = "verdict", f"{v.verdict} ({v.confidence}): {v.rationale}"
    elif result.error:
        kind, reason = "error", result.error
    else:
        kind, reason = "no_opinion", "the engine has no opinion on this finding"
    outcomes.record_outcome(store, result.finding.id, outcomes.CLASSIFY, key, kind, kind != "error", reason,
                            result.dismissal.id if result.dismissal else None,
                            result.verdict.model_dump(mode="json") if result.verdict else None)


def _store(store: Store, env: ValidationEnv, engine: Engine, result: Classified) -> None:
    if result.verdict is None:
        return
    store.save_verdict(result.finding.id, result.verdict, engine.name)
    if result.verdict.verdict == "false_positive":
        existing = _pending_dismissal(store, result.finding)
        result.dismissal = existing or ProposalRecorder(store, env, result.finding, engine, result.verdict,
                                                        result.usage).dismissal()
