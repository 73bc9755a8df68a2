"""Which runs of a SARIF log are evidence enough to close findings (DESIGN.md rule 9).

A full scan closes (marks `fixed`) the findings of its scope that it no longer reports. That is a strong claim,
so a run earns it only when it is a whole, successful scan of this repository's tree:
- the tool says it ran successfully: no invocation has `executionSuccessful: false`, `results` is an array
  (SARIF §3.14.23: absent or null results mean the tool did not run or did not finish), and no invocation
  carries an error-level notification (a tool that could not parse a file or load part of its configuration
  says so there while still reporting success: bandit does this for a file with a syntax error);
- every result could be placed in the repository: none was skipped for a missing location, a path outside the
  project, a malformed shape, and none points past the end of its file (a log of another tree). Results the tool
  itself marks as not a problem (suppressed in source, `kind` pass/notApplicable, `baselineState` absent) are
  not misplaced and do not stop closing;
- it is the only run of its scope in the log: two runs of one tool (and category) each hold part of the
  picture, so neither may close what the other reported or what neither reported.

Everything here is pure: it reads the raw run and the parse, and returns one-line reasons for people.
"""

from __future__ import annotations

from collections import Counter

from agent.ingest.sarif_log import RunParse, SarifParse
from agent.ingest.sarif_rules import arr, obj

PAST_END_NOTE = "lines past the end of their file"


def run_failure(run: dict, number: int, tool: str) -> str | None:
    """Why the run is not a successful scan, or None. `number` is the run's 1-based position in its log."""
    for invocation in map(obj, arr(run.get("invocations"))):
        if invocation.get("executionSuccessful") is False:
            code = invocation.get("exitCode")
            exit_note = f", exit code {code}" if isinstance(code, int) and not isinstance(code, bool) else ""
            return f"run {number} of {tool} failed (executionSuccessful false{exit_note})"
    if not isinstance(run.get("results"), list):
        return f"run {number} of {tool} has no results array (the tool did not run or did not finish)"
    for invocation in map(obj, arr(run.get("invocations"))):
        for kind in ("toolExecutionNotifications", "toolConfigurationNotifications"):
            for note in map(obj, arr(invocation.get(kind))):
                if note.get("level") == "error":  # e.g. bandit: "syntax error while parsing AST from file"
                    text = " ".join(str(obj(note.get("message")).get("text") or "no message").split())[:160]
                    return f"run {number} of {tool} reported an error, so it did not see everything: {text}"
    return None


def misplaced_reason(run: RunParse) -> str | None:
    """Why some of the run's results could not be placed in the repository's tree, or None."""
    parts = []
    if run.unplaced:
        parts.append(f"{run.unplaced} of {run.result_count} results of run {run.run_index + 1} ({run.tool}) "
                     "could not be placed in the repository (see skipped)")
    if run.past_end:
        parts.append(f"{run.past_end} location(s) of run {run.run_index + 1} ({run.tool}) point past the end "
                     "of their file (the log may be of another tree)")
    return "; ".join(parts) or None


def closing_blockers(parsed: SarifParse) -> dict[int, str]:
    """{run index: why that run closes nothing} for every run of the log that may not close findings."""
    per_scope = Counter(run.scope for run in parsed.runs)
    blockers: dict[int, str] = {}
    for run in parsed.runs:
        reason = run.failure or misplaced_reason(run)
        if reason is None and per_scope[run.scope] > 1:
            reason = (f"run {run.run_index + 1} is one of {per_scope[run.scope]} runs of {run.scope} in this log "
                      "(none of them is the whole scan)")
        if reason is not None:
            blockers[run.run_index] = reason
    return blockers
