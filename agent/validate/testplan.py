"""The test stage of validating one patch: targeted tests first, the full suite next, flaky tests re-run.

Works for any test command; the targeted run and the per-test re-run need pytest (other runners get one full
run judged by exit code). Every run goes through the sandbox (agent.validate.sandbox). Outcome rules:
- a test failing before and after the patch is not the patch's fault (compared per test from JUnit XML);
- a test that newly fails is re-run once, alone: passing then makes it `flaky` (recorded, not held against
  the patch), failing again makes it a breakage;
- when the targeted run already shows a breakage the full suite is skipped and the record says so;
- a run is evidence only as agent.validate.evidence allows: a baseline that ran no test means the tests could
  not be run (the patched tests are not run then); a patched pytest run must report every baseline test in its
  scope, skip none that passed, and pass at least one;
- a project without tests (no test command and none detected, or pytest collecting none) is no failure: the
  outcome says so (`no_tests`) and the patch can only be unproven;
- the targeted patched run (else the full one) records coverage of the changed files (agent.validate.covered).
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from agent.models import TestRun
from agent.validate.covered import RunCoverage, coverage_setup, instrument, read_coverage
from agent.validate.env import ValidationEnv
from agent.validate.evidence import baseline_problem, report_problems
from agent.validate.runner import compare_runs, is_pytest_command, run_tests
from agent.validate.sandbox import sandboxed
from agent.validate.targeted import select_tests, targeted_command


@dataclass
class TestOutcome:
    """What the patched test runs showed. `patched` is the last full run (or the targeted run if it stopped)."""

    __test__ = False

    patched: TestRun
    targeted: TestRun | None = None
    newly_failing: list[str] = field(default_factory=list)
    flaky: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    sandbox: list[str] = field(default_factory=list)
    escapes: list[str] = field(default_factory=list)
    coverage: list[tuple[TestRun, RunCoverage]] = field(default_factory=list)  # measured runs, with their data
    no_tests: str | None = None  # why no test could run at all (the project has none): not a failure


def run_command(env: ValidationEnv, project_dir: Path, command: list[str],
                outcome: TestOutcome | None = None, measure: list[str] | None = None) -> TestRun:
    """One sandboxed run of `command` in `project_dir`; protections and escapes go onto `outcome`; with
    `measure` (changed files, relative), coverage of those files goes onto `outcome.coverage`."""
    extra: dict[str, str] = {}
    if (project_dir / "src").is_dir():  # src layout: test the worktree's code, not an installed checkout
        extra["PYTHONPATH"] = os.pathsep.join([str(project_dir / "src"), str(project_dir)])
    penv = env.project_env(project_dir)  # the project's own virtualenv, read-only, its editable installs remapped
    run_env = penv.run_env(extra)
    with coverage_setup(project_dir, measure) if measure else nullcontext() as cov:
        pythonpath = run_env.get("PYTHONPATH") or os.environ.get("PYTHONPATH")
        argv, cov_env, scope = instrument(command, cov, pythonpath) if cov else (None, {}, "none")
        with sandboxed(env.user_repo, env.watch_home, workdir=project_dir, pass_env=env.settings.test_env,
                       read_only=[*penv.read_only, *([cov.plugin_dir] if cov and argv else [])],
                       writable=[cov.data_dir] if cov and argv else []) as box:
            run = run_tests(argv or command, project_dir, timeout=env.settings.test_timeout,
                            env_extra={**run_env, **cov_env, **box.env}, prefix=box.prefix)
        run.command = list(command)  # the record names the project's command, not suture's instrumentation
        if measure and outcome is not None:
            measured = read_coverage(cov, scope) if cov and argv else RunCoverage(
                scope="none", note=f"coverage cannot be measured for this test command ({command[0]}): only "
                                   "pytest runs and `python -m` runs of suture's interpreter can be")
            outcome.coverage.append((run, measured))
    run.environment = penv.name
    if outcome is not None:
        outcome.sandbox = box.protections
        outcome.escapes += [e for e in box.escapes if e not in outcome.escapes]
    else:
        env.baseline_escapes[env.commit] = box.escapes
    return run


def run_baseline(env: ValidationEnv, project_dir: Path) -> TestRun:
    """The full suite on the unpatched commit, once per commit even when several workers ask at once."""
    def compute() -> TestRun:
        penv = env.project_env(project_dir)
        command = penv.command
        if penv.problem:
            return TestRun(ran=False, reason=penv.problem, environment=penv.name)
        if not command:
            return TestRun(ran=False, reason="no test command: none configured and no pytest tests detected")
        return run_command(env, project_dir, command)
    return env.cached(env.baseline_cache, env.commit, compute)


def test_patch(env: ValidationEnv, project_dir: Path, changed: list[str], baseline: TestRun,
               measure: dict[str, list[int]] | None = None) -> TestOutcome:
    """Run the tests on the patched tree in `project_dir` and judge them against `baseline`. Coverage of
    `measure` (relative path -> executable changed lines) is recorded in the targeted run (the tests importing
    the changed modules), or in the full run when there is no usable targeted run: tracing costs time, and a
    test outside the targeted files is then simply not credited (the patch may be called unproven, never
    validated wrongly)."""
    penv = env.project_env(project_dir)
    command = penv.command
    if not command:
        run = TestRun(ran=False, reason=penv.problem or "no test command: none configured and no pytest tests "
                      "detected", environment=penv.name)
        if penv.problem is None:
            return TestOutcome(patched=run, no_tests=f"the project has no tests ({run.reason})")
        return TestOutcome(patched=run, reasons=[f"tests not run: {run.reason}"])
    if not baseline.ran and baseline.exit_code == 5 and is_pytest_command(baseline.command):
        run = TestRun(ran=False, command=command, reason="no tests were collected on the unpatched code")
        return TestOutcome(patched=run, no_tests="the project has no tests (pytest collected none)")
    problem = baseline_problem(baseline, penv.hint)
    if problem:
        run = TestRun(ran=False, command=command, reason="the unpatched code gives no baseline to judge by")
        return TestOutcome(patched=run, reasons=[problem])
    outcome = TestOutcome(patched=TestRun(ran=False))
    selected = select_tests(project_dir, changed) if is_pytest_command(command) else None
    narrow = targeted_command(command, project_dir, selected) if selected else None
    if narrow:
        targeted = run_command(env, project_dir, narrow, outcome, measure=sorted(measure or {}))
        outcome.targeted = targeted
        if targeted.ran:
            scope = [t for t in selected or [] if t in narrow]
            newly, flaky, reasons = _judge(env, project_dir, command, baseline, targeted, outcome, scope, changed)
            outcome.flaky += flaky
            if reasons:
                outcome.patched, outcome.newly_failing, outcome.reasons = targeted, newly, reasons
                if env.settings.full_suite:
                    outcome.reasons.append(f"full suite not run: the run of the {len(scope)} targeted test "
                                           "file(s) already fails validation")
                return outcome
            if not env.settings.full_suite:
                outcome.patched = targeted
                outcome.flags.append(f"only the tests importing the changed modules ran ({len(selected or [])} "
                                     "file(s)); full suite disabled (full_suite = false)")
                return outcome
        else:
            outcome.flags.append(f"targeted test run unusable ({targeted.reason}); ran the full suite")
    measured = outcome.targeted is not None and outcome.targeted.ran
    patched = run_command(env, project_dir, command, outcome, measure=None if measured else sorted(measure or {}))
    outcome.patched = patched
    newly, flaky, reasons = _judge(env, project_dir, command, baseline, patched, outcome, None, changed)
    outcome.newly_failing, outcome.reasons = newly, reasons
    outcome.flaky += [t for t in flaky if t not in outcome.flaky]
    return outcome


def _judge(env: ValidationEnv, project_dir: Path, command: list[str], baseline: TestRun, run: TestRun,
           outcome: TestOutcome, scope: list[str] | None, changed: list[str],
           ) -> tuple[list[str], list[str], list[str]]:
    """(newly failing, flaky, reasons) for one patched run; `scope` is the test files a narrowed run got."""
    if not run.ran:
        return [], [], [f"tests not run: {run.reason}"]
    if run.timed_out:
        return [], [], [f"tests timed out after {env.settings.test_timeout:g} s"]
    newly = compare_runs(baseline, run) if baseline.ran else []
    flaky: list[str] = []
    ids = [t for t in newly if not t.startswith("<")]
    if ids and is_pytest_command(command):
        flaky = _flaky(env, project_dir, command, ids, outcome)
        newly = [t for t in newly if t not in flaky]
    reasons = []
    if newly:
        reasons.append(f"{len(newly)} test(s) newly failing: " + ", ".join(newly[:5]))
    elif not run.ok and not baseline.ran:
        reasons.append("tests fail on the patched code and there is no baseline to compare with")
    elif not run.ok and baseline.ok and not flaky:
        reasons.append(f"test command failed on the patched code (exit {run.exit_code})")
    gaps, flags = report_problems(baseline, run, scope, changed)
    outcome.flags += [flag for flag in flags if flag not in outcome.flags]
    return newly, flaky, reasons + gaps


def _flaky(env: ValidationEnv, project_dir: Path, command: list[str], ids: list[str],
           outcome: TestOutcome) -> list[str]:
    """Of `ids` (newly failing), those that pass when re-run once on their own."""
    rerun_cmd = targeted_command(command, project_dir, ids) or [*command, *ids]
    rerun = run_command(env, project_dir, rerun_cmd, outcome)
    if not rerun.ran or rerun.timed_out or rerun.passed == 0:
        return []
    still = set(rerun.failing_tests)
    return [t for t in ids if t not in still]
