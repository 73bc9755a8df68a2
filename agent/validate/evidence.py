"""Whether a test run is evidence at all: the baseline must have run tests, the patched run must account for them.

Applies to pytest runs (judged test by test from the run's own JUnit report); other runners are judged by exit
code only and pass through unchanged. The rules:
- The baseline is the yardstick. If it did not run, timed out, left no per-test report, or executed no test
  (only collection errors or skips: "0 passed, 1 error"), the tests could not be run and nothing can show that
  the patch keeps them passing: the validation fails and says so.
- The patched run must report every baseline test in its own report (within its scope, for a run narrowed to
  some test files). A test missing from the report was deselected, not collected, or never reached because the
  run stopped early; all three fail validation. A file-level collection error of the baseline is not a test and
  is not required. Tests in test files the patch itself edited (allowed only with allow_test_edits) are
  flagged instead of failing.
- A test that passed on the unpatched code and is skipped after the patch has stopped being evidence: failure.
- Zero passing tests is never a pass.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from agent.models import TestRun
from agent.validate.project_env import GENERIC_HINT
from agent.validate.runner import is_pytest_command


def _file(test_id: str) -> str:
    return test_id.split("::", 1)[0]


def _listed(ids: list[str], limit: int = 5) -> str:
    return ", ".join(ids[:limit]) + (f" (+{len(ids) - limit} more)" if len(ids) > limit else "")


def baseline_problem(baseline: TestRun, hint: str | None = None) -> str | None:
    """Why the unpatched run cannot be the yardstick (the tests could not be run), or None when it can.

    A baseline that could not even import (ModuleNotFoundError / ImportError before any test ran) is "test
    environment broken", naming the environment and `hint` (what to configure): the patch was not judged.
    """
    broken = _import_failure(baseline)
    if broken:
        where = f" with {baseline.environment}" if baseline.environment else ""
        return (f"test environment broken: the tests cannot import on the unpatched code{where} ({broken}); "
                f"the patch was not judged: {hint or GENERIC_HINT}")
    if not baseline.ran:
        return (f"the tests could not be run on the unpatched code ({baseline.reason or 'unknown reason'}); "
                "nothing shows that the patch keeps them passing")
    if baseline.timed_out:
        return ("the tests timed out on the unpatched code, so they could not be run to the end; nothing shows "
                "that the patch keeps them passing")
    if not is_pytest_command(baseline.command):
        return None
    if not baseline.junit_report:
        return "the unpatched test run left no per-test report, so the patched run cannot be checked test by test"
    if baseline.passed == 0 and baseline.failed == 0:
        errors = [t for t in baseline.failing_tests if "::" not in t]
        detail = f"; collection errors in {_listed(errors, 3)}" if errors else ""
        return (f"the tests could not be run on the unpatched code: no test executed ({baseline.passed} passed, "
                f"{baseline.errors} errors, {baseline.skipped} skipped{detail})")
    return None


_IMPORT_ERROR = re.compile(r"^(?:E\s+)?((?:ModuleNotFoundError|ImportError): .+)$", re.MULTILINE)


def _import_failure(baseline: TestRun) -> str | None:
    """The import error that kept a baseline from running any test, or None (tests ran, or another cause)."""
    if baseline.timed_out or baseline.passed or baseline.failed:
        return None
    if baseline.ran and not (is_pytest_command(baseline.command) and baseline.junit_report):
        return None
    found = _IMPORT_ERROR.findall(baseline.log)
    if not found and "ImportError while importing test module" not in baseline.log:
        return None
    missing = [line for line in found if "No module named" in line]
    return (missing or found or ["ImportError while importing a test module"])[0].strip()[:200]


def report_problems(baseline: TestRun, run: TestRun, scope: Collection[str] | None = None,
                    edited: Collection[str] = ()) -> tuple[list[str], list[str]]:
    """(reasons, flags) from holding a patched pytest run that finished to the baseline's test list.

    `scope`: the test files a narrowed run was given (None: the full suite). `edited`: files the patch changed.
    """
    if not is_pytest_command(run.command) or not run.ran or run.timed_out:
        return [], []
    if not run.junit_report:
        return ["the patched test run left no per-test report, so it cannot show that every test ran"], []
    reasons: list[str] = []
    flags: list[str] = []
    expected = [t for t in baseline.test_ids if "::" in t or t not in baseline.failing_tests]
    if scope is not None:
        files = set(scope)
        expected = [t for t in expected if _file(t) in files]
    reported = set(run.test_ids)
    missing = [t for t in expected if t not in reported]
    edited_set = set(edited)
    own = [t for t in missing if _file(t) in edited_set]
    missing = [t for t in missing if _file(t) not in edited_set]
    if missing:
        reasons.append(f"{len(missing)} of {len(expected)} baseline test(s) are missing from the patched run's own "
                       f"report (deselected, not collected, or the run stopped before them): {_listed(missing)}")
    if own:
        flags.append(f"{len(own)} baseline test(s) in test files the patch edits no longer run: {_listed(own)}")
    failing_before, skipped_before = set(baseline.failing_tests), set(baseline.skipped_tests)
    passed_before = {t for t in baseline.test_ids if t not in failing_before and t not in skipped_before}
    now_skipped = [t for t in run.skipped_tests if t in passed_before and _file(t) not in edited_set]
    if now_skipped:
        reasons.append(f"{len(now_skipped)} test(s) that passed on the unpatched code are skipped after the patch: "
                       f"{_listed(now_skipped)}")
    if run.passed == 0:
        reasons.append(f"no test passed on the patched code ({run.failed} failed, {run.errors} errors, "
                       f"{run.skipped} skipped); zero passing tests is never a pass")
    return reasons, flags
