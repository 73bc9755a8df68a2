"""Propose and judge the security regression test of one patch that passed its checks (issue 14).

Called by agent.attempt once a patch is chosen. The test is written after the patch, in a step of its own:
`engine.regression_test` (agent.engines.base.RegressionDraft):
- model engines: a separate call with its own prompt (prompts/regression_test); the reply's edits must be exactly
  one new file at the path suture chose (agent.validate.regression.refused_test_edits), so it cannot edit the
  patch, and the path is none the patch edits, so the patch cannot edit it;
- the builtin engine: the template of the fixer that drafted the patch (agent.engines.builtin.regression);
- any other engine: none, with a note (BaseEngine's default).
The test is then run on both trees (agent.validate.regression.judge_regression_test) and recorded on the
validation, kept or discarded, with a note whenever no test was written or it was discarded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.engines.base import Engine
from agent.errors import SutureError
from agent.models import Finding, Usage, Validation
from agent.validate.env import ValidationEnv
from agent.validate.regression import (
    append_to_log,
    judge_regression_test,
    refused_test_edits,
    regression_path,
)


def with_regression_test(env: ValidationEnv, source_dir: Path, finding: Finding, engine: Engine, prepared: Any,
                         draft: Any, validation: Validation, diff: str,
                         reset: Callable[[], None]) -> tuple[Validation, Usage]:
    """`validation` with the regression test's record (or the note why there is none) and the model usage spent
    writing it. `source_dir` must be the clean, unpatched checkout; `reset` restores it; left reset. The outcome
    is added to the validation log."""
    result, usage = _with_regression_test(env, source_dir, finding, engine, prepared, draft, validation, diff,
                                          reset)
    if result.passed:
        append_to_log(result)
    return result, usage


def _with_regression_test(env: ValidationEnv, source_dir: Path, finding: Finding, engine: Engine, prepared: Any,
                         draft: Any, validation: Validation, diff: str,
                         reset: Callable[[], None]) -> tuple[Validation, Usage]:
    if not validation.passed:
        return validation, Usage()
    if not env.settings.regression_tests:
        return validation.model_copy(update={"regression_note": "no regression test: disabled "
                                             "(regression_tests = false)"}), Usage()
    path = regression_path(source_dir, finding, draft.edits)
    if path is None:
        return validation.model_copy(update={"regression_note": "no regression test: the repository has no tests "
                                             "folder (tests/ or test/) to put one in"}), Usage()
    written, usage = _write(source_dir, finding, engine, prepared, draft, diff, path)
    if isinstance(written, str):
        return validation.model_copy(update={"regression_note": f"no regression test: {written}"}), usage
    content, source, untrusted = written
    changes = validation.coverage.changed if validation.coverage is not None else {}
    record = judge_regression_test(env, source_dir, draft.edits, changes, path, content, source, reset,
                                   untrusted=untrusted)
    return validation.model_copy(update={"regression": record}), usage


def _write(source_dir: Path, finding: Finding, engine: Engine, prepared: Any, draft: Any, diff: str,
           path: str) -> tuple[tuple[str, str, bool] | str, Usage]:
    """((content, source, untrusted) or why there is none, usage). A model's edits are untrusted: only one new
    file at `path` is accepted (refused_test_edits); content an engine vouches for is run as written."""
    try:
        reply = engine.regression_test(prepared.view, prepared.context, diff, path, source_dir, draft)
    except SutureError as exc:  # whatever fails, the patch is kept without a test
        return f"the engine could not write one: {exc}", Usage()
    if reply.reason is not None:
        return reply.reason, reply.usage
    if reply.edits is not None:
        refused = refused_test_edits(reply.edits, path)
        if refused:
            return f"refused: {refused}", reply.usage
        return (reply.edits[0].replace, reply.source, True), reply.usage
    if reply.content is None:
        return f"the engine {engine.name} wrote an empty regression test", reply.usage
    return (reply.content, reply.source, False), reply.usage
