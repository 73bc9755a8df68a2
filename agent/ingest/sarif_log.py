"""What the SARIF reader's parts share: the error for a file that is not a SARIF 2.1.0 log, the top-level check
every reader applies (whole: sarif.py, streamed: sarif_stream.py), and the parse results (RunParse,
SarifParse) that closing.py judges. It imports none of them, so they all build on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.errors import SutureError
from agent.ingest.sarif_spill import SpilledFindings
from agent.models import Finding, SkippedResult

SUPPORTED_VERSION = "2.1.0"
_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


class SarifError(SutureError):
    """A file that cannot be read as a SARIF 2.1.0 log."""


@dataclass
class RunParse:
    """One SARIF run: which tool produced it, the findings, the results skipped and why, and warnings."""

    run_index: int
    tool: str
    tool_version: str | None
    scope: str  # tool, plus the automationDetails category when present: what a later full scan replaces
    result_count: int
    # a list, or for a streamed log (sarif_stream) a SpilledFindings: iterable, sized, read back when iterated
    findings: list[Finding] | SpilledFindings = field(default_factory=list)
    skipped: list[SkippedResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failure: str | None = None  # why the tool's run was not successful (closing.run_failure), or None
    suppressed: list[Finding] | SpilledFindings = field(default_factory=list)  # suppressed by the log (+ skipped)
    unplaced: int = 0  # skipped results that could not be placed in the project (not suppressed/pass/absent)
    past_end: int = 0  # locations whose line is past the end of their file in the project


@dataclass
class SarifParse:
    source_name: str
    runs: list[RunParse]
    runs_null: bool = False  # `runs: null`: the tool failed before it could produce a run (SARIF §3.13.4)

    @property
    def findings(self) -> list[Finding]:
        return [finding for run in self.runs for finding in run.findings]

    @property
    def skipped(self) -> list[SkippedResult]:
        return [skipped for run in self.runs for skipped in run.skipped]

    @property
    def warnings(self) -> list[str]:
        return [f"run {run.run_index} ({run.tool}): {w}" for run in self.runs for w in run.warnings]


def check_log(log: object, name: str) -> dict:
    """`log` if its top level is a SARIF 2.1.0 log (an object with version 2.1.0 and a runs array or null);
    a SarifError with a one-line reason otherwise."""
    if not isinstance(log, dict):
        kind = _JSON_TYPES.get(type(log), "null" if log is None else type(log).__name__)
        raise SarifError(f"{name} is not a SARIF log: the top-level JSON value is {kind}, not an object")
    if "version" not in log and "runs" not in log:
        raise SarifError(f"{name} is not a SARIF log: it has neither 'version' nor 'runs'")
    version = log.get("version")
    if version != SUPPORTED_VERSION:
        raise SarifError(f"{name}: SARIF version {version!r} is not supported (suture reads {SUPPORTED_VERSION})")
    if "runs" not in log or not isinstance(log["runs"], (list, type(None))):
        raise SarifError(f"{name} is not a SARIF log: 'runs' is missing or not an array")
    return log
