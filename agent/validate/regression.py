"""Run a proposed security regression test on both trees and judge it (issue 14).

The test is one new file under the project's tests folder (`tests/` or `test/`), written apart from the patch:
its path is none the patch edits, and the test text may not touch anything else. It runs alone, with the
project's own pytest command, first on the unpatched tree, then on the patched one (each a clean reset of the
worktree plus the test file). Rules:
- it is kept only when at least one of its tests FAILS on the unpatched code (collected and failing; a file that
  cannot even be imported there proves nothing) and every one of its tests PASSES on the patched code;
- one that passes on the unpatched code proves nothing: discarded, with a note;
- a kept test is evidence (the patch becomes validated) only when coverage shows a test that failed before
  executing a changed line on the patched tree: a test that merely reads the source text, or whose behaviour
  changed for another reason, is kept for the reviewer but not counted;
- a model-written test is checked before it runs for code that rigs the test run (agent.validate.rigging; pytest's
  public test API is allowed) and for reading files or code as text (`open`, `read_text`, `inspect.getsource`,
  `__file__`, `ast`, …: a test that checks the text of the fix proves nothing). That last check is a heuristic a
  determined model can get around; the test is always shown to the reviewer, and exported as its own commit.
Works only with a pytest command (configured or detected); other runners get a note instead of a test.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from agent.code.pyparse import parse_python
from agent.errors import SutureError
from agent.models import Edit, Finding, RegressionTest, TestRun, Validation
from agent.patch.apply import apply_edits
from agent.validate.covered import coverage_evidence
from agent.validate.env import ValidationEnv
from agent.validate.rigging import find_rigging
from agent.validate.runner import is_pytest_command
from agent.validate.targeted import targeted_command
from agent.validate.testplan import TestOutcome, run_command

TEST_FOLDERS = ("tests", "test")


def tests_folder(project_dir: Path) -> str | None:
    """The project's tests folder (relative), or None when it has none."""
    return next((name for name in TEST_FOLDERS if (project_dir / name).is_dir()), None)


def regression_path(project_dir: Path, finding: Finding, edits: list[Edit]) -> str | None:
    """A new file name for `finding`'s regression test in the tests folder: not in the tree, not in the patch."""
    folder = tests_folder(project_dir)
    if folder is None:
        return None
    taken = {e.path for e in edits}
    for n in range(100):
        name = f"{folder}/test_suture_regression_{finding.short_id}{'' if n == 0 else f'_{n}'}.py"
        if name not in taken and not (project_dir / name).exists():
            return name
    return None


def refused_test_edits(edits: list[Edit], path: str) -> str | None:
    """Why a regression-test reply is refused: it must be exactly one new file at `path` (it may not edit the
    patch or anything else), or None when it is."""
    if len(edits) != 1:
        return f"the reply holds {len(edits)} edits; a regression test is exactly one new file ({path})"
    edit = edits[0]
    if PurePosixPath(edit.path).as_posix() != path:
        return f"the reply edits {edit.path}; a regression test may only create {path} (it may not edit the patch)"
    if edit.search.strip():
        return f"the reply changes existing text in {edit.path}; a regression test is a new file"
    return None


# pytest's public API a test may use; everything else agent.validate.rigging reports stays refused
TEST_API = re.compile(r"^(imports test-runner module pytest|uses pytest\.(raises|mark|fixture|param|approx|warns)"
                      r"(\.[A-Za-z_]+)*)$")


def unsafe_test_code(path: str, content: str) -> str | None:
    """Why a model-written test may not run (it rigs the run, or does not parse), or None. The checks of
    agent.validate.rigging apply, except importing pytest and its public test API (raises, mark, fixture, …)."""
    try:
        found = [r for r in find_rigging(path, "", content) if not TEST_API.match(r.what)]
    except (SyntaxError, ValueError) as exc:
        return f"the test does not parse as Python ({exc})"
    if found:
        return "the test touches test-runner internals or process exit: " + "; ".join(str(r) for r in found[:3])
    reads = _source_reads(content)
    if reads:
        return (f"the test reads files or code objects ({', '.join(reads[:3])}); a regression test must show the "
                "fix by behaviour, not by the text of the code")
    return None


SOURCE_READERS = {"open", "read_text", "read_bytes", "getsource", "getsourcelines", "getsourcefile", "linecache",
                  "__file__", "__code__", "co_code", "dis", "ast", "tokenize"}


def _source_reads(content: str) -> list[str]:
    """Names in the test through which it could read the code under test as text (heuristic, see module doc)."""
    seen: list[str] = []
    for node in ast.walk(parse_python(content)):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else \
            node.names[0].name if isinstance(node, ast.Import) else node.module if isinstance(node, ast.ImportFrom) \
            else None
        if name and name.split(".")[0] in SOURCE_READERS and name not in seen:
            seen.append(name)
    return seen


def _file_tests(run: TestRun, path: str) -> list[str]:
    return [t for t in run.test_ids if t.startswith(path + "::")]


def _run(env: ValidationEnv, project_dir: Path, path: str, content: str,
         measure: list[str] | None) -> tuple[TestRun, TestOutcome]:
    target = project_dir / path
    target.write_text(content, encoding="utf-8")
    command = env.project_env(project_dir).command or []
    narrowed = targeted_command(command, project_dir, [path]) or [*command, path]
    outcome = TestOutcome(patched=TestRun(ran=False))
    run = run_command(env, project_dir, narrowed, outcome, measure=measure)
    return run, outcome


def _status(run: TestRun, path: str) -> tuple[str, list[str], list[str]]:
    """(status word, failing test ids, passing test ids) of a run of the regression file alone."""
    if not run.ran:
        return f"not run ({run.reason or 'unknown reason'})", [], []
    if run.timed_out:
        return "not run (timed out)", [], []
    ids = _file_tests(run, path)
    if not ids:
        return "not run (no test of the file was collected: it does not import or defines no test)", [], []
    failing = [t for t in ids if t in run.failing_tests]
    passing = [t for t in ids if t not in run.failing_tests and t not in run.skipped_tests]
    if failing:
        return "failed", failing, passing
    if len(passing) < len(ids):
        return "skipped", [], passing
    return "passed", [], passing


def judge_regression_test(
    env: ValidationEnv, project_dir: Path, edits: list[Edit], changes: dict[str, list[int]], path: str,
    content: str, source: str, reset: Callable[[], None], *, untrusted: bool,
) -> RegressionTest:
    """Run the test on the unpatched tree (`reset` restores it), then on the patched one; leaves the tree reset."""
    record = RegressionTest(path=path, content=content, source=source)
    if untrusted:
        rigged = unsafe_test_code(path, content)
        if rigged:
            return record.model_copy(update={"note": "discarded: " + rigged})
    try:
        reset()
        (project_dir / path).write_text(content, encoding="utf-8")  # with it, a project without tests has one
        command = env.project_env(project_dir).command
        if command is None or not is_pytest_command(command):
            why = env.project_env(project_dir).problem or "regression tests need a pytest test command"
            return record.model_copy(update={"note": f"not run: {why}"})
        before_run, _ = _run(env, project_dir, path, content, None)
        before, failed_before, _ = _status(before_run, path)
        if before != "failed":
            note = ("discarded: it passes on the unpatched code, so it proves nothing" if before == "passed"
                    else f"discarded: on the unpatched code it was {before}; a test proves the fix only by failing "
                         "there")
            return record.model_copy(update={"before": before, "tests": _file_tests(before_run, path), "note": note})
        reset()
        apply_edits(project_dir, edits, env.guard_config())
        after_run, outcome = _run(env, project_dir, path, content, sorted(changes))
        after, failed_after, _ = _status(after_run, path)
        record = record.model_copy(update={"before": before, "after": after, "tests": failed_before})
        if after != "passed":
            return record.model_copy(update={"note": f"discarded: on the patched code it {after}"
                                             + (f" ({', '.join(failed_after[:3])})" if failed_after else "")})
        evidence = coverage_evidence(project_dir, changes, outcome.coverage)
        covers = any(t in evidence.tests for t in failed_before)
        kept_note = None if covers else ("kept, but not counted as evidence: coverage does not show it executing a "
                                         "changed line" + (f" ({evidence.note})" if evidence.note else ""))
        return record.model_copy(update={"kept": True, "covers_change": covers, "note": kept_note})
    except (SutureError, OSError) as exc:
        return record.model_copy(update={"note": f"not run: {exc}"})
    finally:
        reset()


def regression_lines(v: Validation) -> list[str]:
    """Plain lines on the regression test for people (review show): where it is, what it showed on both trees,
    whether it was kept and counted, or why there is none."""
    r = v.regression
    if r is None:
        return [v.regression_note] if v.regression_note else []
    verdict = ("kept; it executes the change, so it counts as evidence" if r.is_evidence
               else "kept (exported as its own commit)" if r.kept else "discarded")
    lines = [(f"regression test {r.path} (written by {r.source}): {r.before} on the unpatched code, {r.after} "
              f"on the patched code; {verdict}")]
    if r.note:
        lines.append(f"regression test note: {r.note}")
    return lines


def append_to_log(v: Validation) -> None:
    """Add the regression test's outcome and the final verdict to the validation log, when there is one."""
    if not v.log_path:
        return
    r = v.regression
    parts = ["\n## regression test: " + "; ".join(regression_lines(v) or ["none"])]
    if r is not None:
        parts.append(r.content)
    verdict = {"failed": "failed: " + "; ".join(v.reasons), "validated": "validated",
               "unproven": "unproven: " + v.unproven_reason}[v.state]
    parts.append(f"## verdict with the regression test: {verdict}\n")
    try:
        with open(v.log_path, "a", encoding="utf-8") as log:
            log.write("\n".join(parts))
    except OSError:
        pass
