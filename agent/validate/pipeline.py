"""Prove a patch: apply it in a clean worktree, run the tests before and after, re-scan the touched files.

Before any test runs, the patched Python files are read for code that rigs the test run (agent.validate.rigging:
pytest hooks, runner internals, import-time exits) and must compile with no new pyflakes finding on a changed line
(agent.validate.lint); such a patch fails without its code ever being executed. The outcome is one of three
(Validation.state): failed (a check failed), validated (every check passed and a passing test executes a changed
line, agent.validate.covered) or unproven (every check passed, but no test executes the change).
Works on any project whose tests run from a command (pytest auto-detected) and whose finding came from a
scanner suture can re-run locally (bandit, or semgrep with a rule from suture's own pack). For other tools the
re-scan is recorded as not possible rather than guessed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from agent import scanners
from agent.errors import SutureError
from agent.ingest.closing import misplaced_reason
from agent.ingest.sarif import load_sarif, parse_sarif
from agent.models import SEVERITY_ORDER, Edit, Finding, Validation
from agent.patch.apply import apply_edits
from agent.validate.covered import coverage_evidence, executable_changes
from agent.validate.env import ValidationEnv
from agent.validate.lint import lint_reasons
from agent.validate.rigging import rigging_reasons
from agent.validate.testplan import run_baseline, test_patch

RESCANNABLE = frozenset(scanners.SCANNERS)  # the tools suture can run itself (agent/scanners registry)
__all__ = ["RESCANNABLE", "ValidationEnv", "rescan_files", "run_baseline", "validate_patch"]


def rescan_files(env: ValidationEnv, tool: str, project_dir: Path, files: list[str], tag: str) -> list[Finding]:
    """Findings `tool` reports on `files` in `project_dir` (a worktree), cached for the unpatched state."""
    key = (tool, tuple(sorted(files)), tag)
    if tag == "baseline":
        return env.cached(env.rescan_cache, key, lambda: _scan(env, tool, project_dir, key[1], tag))
    return _scan(env, tool, project_dir, key[1], tag)


def _scan(env: ValidationEnv, tool: str, project_dir: Path, files: tuple[str, ...], tag: str) -> list[Finding]:
    digest = hashlib.sha1("|".join([*files, str(project_dir)]).encode()).hexdigest()[:10]
    out = env.logs_dir / "rescans" / f"{tool}-{tag}-{digest}.sarif"
    out.parent.mkdir(parents=True, exist_ok=True)
    run = scanners.run_scanner(tool, project_dir, out, files=list(files), timeout=env.settings.scan_timeout,
                               honor_inline_suppressions=False)  # a patch can't `# nosec` its finding away
    if run.error:
        raise SutureError(f"re-scan with {tool} failed: {run.error}")
    parsed = parse_sarif(load_sarif(out), project_dir)
    # "gone on re-scan" needs a whole, successful scan: a failed run or results that could not be placed would
    # make a finding look gone when the scanner never looked (DESIGN.md rule 9, same test as ingest's closing).
    problems = [r.failure or misplaced_reason(r) for r in parsed.runs]
    problems = [p for p in problems if p] or (["the log has no runs"] if not parsed.runs else [])
    if problems:
        raise SutureError(f"re-scan with {tool} is not evidence: {problems[0]}")
    return [f for r in parsed.runs for f in r.findings]


def _same_rule(a: str, b: str) -> bool:
    """Rule ids match exactly, or by their last dotted part (semgrep prefixes ids with the config path)."""
    return a == b or a.rsplit(".", 1)[-1] == b.rsplit(".", 1)[-1]


def _rescan(env: ValidationEnv, finding: Finding, project_dir: Path, files: list[str],
            before: list[Finding] | None) -> tuple[bool | None, list[str], str | None, list[str]]:
    """(finding_gone, new findings, note, reasons) comparing a re-scan of the patched files with the unpatched."""
    if not env.settings.rescan:
        return None, [], "re-scan disabled by settings", []
    refusal = scanners.rescan_refusal(finding.tool, finding.rule_id)
    if refusal:
        return None, [], refusal, []
    if before is None:
        return None, [], "baseline re-scan unavailable", []
    after = rescan_files(env, finding.tool, project_dir, files, tag="patched")
    same_before = [f for f in before if _same_rule(f.rule_id, finding.rule_id)
                   and f.location.path == finding.location.path]
    same_after = [f for f in after if _same_rule(f.rule_id, finding.rule_id)
                  and f.location.path == finding.location.path]
    after_ids = {f.id for f in after}
    gone = finding.id not in after_ids and len(same_after) < max(1, len(same_before))
    before_ids = {f.id for f in before}
    introduced = [
        f for f in after
        if f.id not in before_ids and not (not gone and _same_rule(f.rule_id, finding.rule_id))
    ]
    threshold = SEVERITY_ORDER[env.settings.fail_on_new_severity]
    new = [f"{f.rule_id} ({f.severity}) at {f.location.path}:{f.location.start_line}" for f in introduced]
    blocking = [n for f, n in zip(introduced, new) if SEVERITY_ORDER[f.severity] >= threshold]
    reasons = []
    if not gone:
        reasons.append(f"{finding.tool} still reports {finding.rule_id} in {finding.location.path}")
    if blocking:
        reasons.append(f"patch introduces {len(blocking)} new finding(s) at or above "
                       f"{env.settings.fail_on_new_severity}: " + ", ".join(blocking[:3]))
    return gone, new, None, reasons


def validate_patch(
    env: ValidationEnv, project_dir: Path, finding: Finding, edits: list[Edit], label: str
) -> tuple[Validation, str]:
    """Validate `edits` in `project_dir`, a clean worktree checkout that this call may modify.

    Returns the validation record and the canonical unified diff ("" when the edits did not apply).
    """
    try:  # a dry run first: a patch that cannot apply needs no test run at all
        dry = apply_edits(project_dir, edits, env.guard_config(), write=False)
    except SutureError as exc:
        validation = Validation(applied=False, apply_error=str(exc), reasons=[f"patch does not apply: {exc}"])
        _write_log(env, label, validation)
        return validation, ""
    rigging = rigging_reasons(dry.changed) or lint_reasons(dry.changed)
    if rigging:  # judged from its text alone: code that rigs the test run or does not compile is never run
        validation = Validation(applied=True, reasons=rigging, flags=list(dry.flags))
        validation.log_path = str(_write_log(env, label, validation))
        return validation, dry.diff
    baseline = run_baseline(env, project_dir)
    files = sorted({e.path for e in edits})
    before: list[Finding] | None = None
    rescan_error: str | None = None
    if env.settings.rescan and finding.tool in RESCANNABLE:
        existing = [f for f in files if (project_dir / f).is_file()]
        try:
            before = rescan_files(env, finding.tool, project_dir, existing or files, tag="baseline")
        except SutureError as exc:
            rescan_error = str(exc)

    try:
        result = apply_edits(project_dir, edits, env.guard_config())
    except SutureError as exc:
        validation = Validation(applied=False, apply_error=str(exc), baseline=baseline,
                                reasons=[f"patch does not apply: {exc}"])
        _write_log(env, label, validation)
        return validation, ""

    # The re-scan reads the patched tree before any test runs: files the tests create (a scanner config, a
    # generated module) must not sway the judge of the patch.
    try:
        gone, new, note, scan_reasons = _rescan(env, finding, project_dir, files, before)
    except SutureError as exc:
        gone, new, note, scan_reasons = None, [], str(exc), []

    changes = executable_changes(project_dir, result.changed)
    tests = test_patch(env, project_dir, files, baseline, measure=changes)
    patched, newly_failing, reasons = tests.patched, tests.newly_failing, list(tests.reasons)
    if tests.escapes:
        reasons.append("the test run wrote outside the worktree or changed files git tracks: "
                       + "; ".join(tests.escapes[:5]))
    if rescan_error:
        note = rescan_error
    reasons += scan_reasons
    if note and env.settings.rescan and finding.tool in RESCANNABLE:
        reasons.append(note)

    flags = list(result.flags) + tests.flags
    if tests.flaky:
        flags.append(f"{len(tests.flaky)} flaky test(s) (failed, then passed on a re-run): "
                     + ", ".join(tests.flaky[:5]))
    if env.baseline_escapes.get(env.commit):
        flags.append("the unpatched tests already write outside the worktree: "
                     + "; ".join(env.baseline_escapes[env.commit][:3]))
    if baseline.ran and not baseline.ok:
        flags.append(f"the unpatched code already fails {baseline.failed + baseline.errors} test(s); "
                     "only tests that newly fail count against the patch")
    ran = (patched.ran and not patched.timed_out) or tests.no_tests is not None
    passed = ran and not reasons and gone is not False
    coverage = coverage_evidence(project_dir, changes, tests.coverage, note=tests.no_tests)
    validation = Validation(
        applied=True, baseline=baseline, patched=patched, newly_failing=newly_failing, finding_gone=gone,
        new_findings=new, rescan_tool=finding.tool if finding.tool in RESCANNABLE else None, rescan_note=note,
        passed=passed, reasons=reasons, flags=flags, targeted=tests.targeted, flaky=tests.flaky,
        sandbox=tests.sandbox, escapes=tests.escapes, coverage=coverage,
    )
    validation.log_path = str(_write_log(env, label, validation))
    return validation, result.diff


def _write_log(env: ValidationEnv, label: str, validation: Validation) -> Path:
    env.logs_dir.mkdir(parents=True, exist_ok=True)
    path = env.logs_dir / f"{label}.log"
    parts = [f"# validation {label}", f"applied: {validation.applied}"]
    if validation.apply_error:
        parts.append(f"apply error: {validation.apply_error}")
    if validation.sandbox:
        parts.append("sandbox: " + "; ".join(validation.sandbox))
    if validation.escapes:
        parts.append("writes outside the worktree: " + "; ".join(validation.escapes))
    if validation.flaky:
        parts.append("flaky (passed on re-run): " + ", ".join(validation.flaky))
    runs = (("baseline", validation.baseline), ("targeted", validation.targeted), ("patched", validation.patched))
    for name, run in runs:
        if run is not None:
            parts.append(f"\n## {name} tests: {' '.join(run.command)}\nran={run.ran} exit={run.exit_code} "
                         f"passed={run.passed} failed={run.failed} errors={run.errors} reason={run.reason}\n{run.log}")
    parts.append(f"\n## re-scan: gone={validation.finding_gone} new={validation.new_findings} "
                 f"note={validation.rescan_note}")
    c = validation.coverage
    if c is not None:
        parts.append(f"\n## coverage ({c.scope}): changed lines {c.changed}; tests executing them: {c.tests}; "
                     f"not executed: {c.uncovered}" + (f"; note: {c.note}" if c.note else ""))
    verdict = {"failed": "failed: " + "; ".join(validation.reasons), "validated": "validated",
               "unproven": "unproven: " + validation.unproven_reason}[validation.state]
    parts.append("\n## verdict: " + verdict)
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
