"""`suture classify`: verdicts only, for whole backlogs — the cheap triage pass before any drafting.

Works with any engine: the builtin engine answers from static evidence (constant input, dead code, test code…)
and has no opinion otherwise; a model engine answers every finding in JSON. Each verdict is stored with
`Store.save_verdict`. A false-positive verdict also becomes a dismissal proposal awaiting a person (the same
record `suture fix` makes); it never changes the finding's status. Context is built from a clean checkout of
HEAD, exactly as for a fix. Model calls run `llm_concurrency` at a time; results are stored in input order.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from agent.attempt import _dismissal, prepare
from agent.config import Settings
from agent.engines.base import Engine
from agent.errors import SutureError
from agent.models import Finding, Proposal, Usage, Verdict
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


def _one(engine: Engine, finding: Finding, source_dir: Path, settings: Settings) -> Classified:
    from agent.llm.errors import ModelUnavailableError

    prepared = prepare(finding, source_dir, settings)
    try:
        with_usage = getattr(engine, "classify_with_usage", None)
        if with_usage is not None:
            verdict, usage, _hash = with_usage(prepared.view, prepared.context)
            return Classified(finding, verdict, usage=usage)
        return Classified(finding, engine.classify(prepared.view, prepared.context, source_dir))
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
    progress: ProgressFn | None = None,
) -> list[Classified]:
    """A verdict for each finding, stored; false positives become dismissal proposals awaiting review.

    A `ModelUnavailableError` (endpoint down, budget reached) stops the pass; verdicts already obtained are kept.
    """
    env = ValidationEnv(settings=settings, logs_dir=ws.state_dir / "logs", commit=ws.project.head)
    workers = settings.llm_concurrency if engine.name.startswith("llm:") else 1
    results: list[Classified] = []
    prune_stale(ws.project)
    with Worktree(ws.project, ws.project.head) as wt, ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_one, engine, f, wt.project_path, settings) for f in findings]
        try:
            for future in futures:
                result = future.result()
                _store(store, env, engine, result)
                results.append(result)
                if progress:
                    progress(result.finding, result.verdict.verdict if result.verdict else
                             ("error" if result.error else "no opinion"))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results


def _store(store: Store, env: ValidationEnv, engine: Engine, result: Classified) -> None:
    if result.verdict is None:
        return
    store.save_verdict(result.finding.id, result.verdict, engine.name)
    if result.verdict.verdict == "false_positive":
        existing = _pending_dismissal(store, result.finding)
        result.dismissal = existing or _dismissal(store, env, result.finding, engine, result.verdict, result.usage)
