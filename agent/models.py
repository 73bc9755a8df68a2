"""Pydantic records that flow between suture's stages.

Every stage is a plain function from records to records (see DESIGN.md); these are the records.
They validate themselves: a record that breaks its own rules cannot be built.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITY_ORDER: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
Confidence = Literal["high", "medium", "low"]
FindingStatus = Literal["open", "fixed", "dismissed", "risk_accepted"]
VerdictLabel = Literal["true_positive", "false_positive", "uncertain"]
ProposalKind = Literal["patch", "dismissal"]
ProposalState = Literal["drafted", "validated", "unproven", "failed", "approved", "rejected", "exported"]
NO_TEST_COVERS = "no test covers this change"  # the words every place showing an unproven patch uses
Lane = Literal["now", "batch", "defer"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Location(Record):
    """A place in a file; `path` is POSIX, relative to the project root."""

    path: str
    start_line: int = Field(ge=1)
    end_line: int | None = None
    start_column: int | None = None
    end_column: int | None = None
    snippet: str | None = None

    @model_validator(mode="after")
    def _end_not_before_start(self) -> Location:
        if self.end_line is not None and self.end_line < self.start_line:
            self.end_line = self.start_line
        return self

    @property
    def last_line(self) -> int:
        return self.end_line or self.start_line


class FlowStep(Record):
    """One step of a SARIF code flow (source -> ... -> sink)."""

    location: Location
    message: str | None = None


class Finding(Record):
    """One scanner result, deduplicated. `id` is the stable fingerprint (see ingest/fingerprint.py)."""

    id: str
    tool: str
    tool_name: str | None = None  # the driver's name as the log wrote it ("CodeQL"); `tool` is its normalized form
    rule_id: str
    rule_name: str | None = None
    message: str
    cwe: list[int] = Field(default_factory=list)
    cve: list[str] = Field(default_factory=list)
    severity: Severity = "medium"
    confidence: Confidence = "medium"
    security_severity: float | None = None
    location: Location
    flow: list[FlowStep] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    help_uri: str | None = None
    partial_fingerprints: dict[str, str] = Field(default_factory=dict)
    # SARIF suppressions the log carried (kind, status, justification as written), kept so SARIF out repeats them
    suppressions: list[dict[str, str]] = Field(default_factory=list)
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)
    status: FindingStatus = "open"
    fixed_at: datetime | None = None
    risk_accepted_until: datetime | None = None

    @property
    def short_id(self) -> str:
        return self.id[:10]


class SkippedResult(Record):
    """A SARIF result that could not become a Finding, with the reason a person can act on."""

    run_index: int
    result_index: int
    rule_id: str | None = None
    reason: str


class Factor(Record):
    """One contribution to a ranking score, with the reason in words."""

    name: str
    points: float
    reason: str


class Rank(Record):
    finding_id: str
    score: float = Field(ge=0, le=100)
    factors: list[Factor] = Field(default_factory=list)
    reason: str = ""
    owner: str | None = None
    lane: Lane = "batch"
    due: datetime | None = None


class CodeSnippet(Record):
    """A labelled piece of repository code sent to an engine (e.g. "enclosing function", "flow step 2")."""

    label: str
    path: str
    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)
    text: str
    truncated: bool = False


class Context(Record):
    """What an engine gets to see for one finding: code, already redacted and budgeted."""

    finding_id: str
    snippets: list[CodeSnippet] = Field(default_factory=list)
    related_tests: list[str] = Field(default_factory=list)
    token_budget: int | None = None
    tokens_used: int = 0
    dropped: list[str] = Field(default_factory=list)
    redactions: int = 0
    hints: list[str] = Field(default_factory=list)


class Verdict(Record):
    verdict: VerdictLabel
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str
    source: str = "builtin"


class Edit(Record):
    """A search/replace edit on one file. An empty `search` with `create=True` makes a new file."""

    path: str
    search: str
    replace: str
    create: bool = False


class TestRun(Record):
    """The outcome of one test command run. `ran=False` means we learned nothing (never 'passed')."""

    __test__ = False  # not a pytest class

    ran: bool
    command: list[str] = Field(default_factory=list)
    exit_code: int | None = None
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failing_tests: list[str] = Field(default_factory=list)
    timed_out: bool = False
    duration_s: float = 0.0
    reason: str | None = None
    log: str = ""
    junit_report: bool = False  # per-test results come from the run's own JUnit report (else: exit code/output)
    test_ids: list[str] = Field(default_factory=list)  # every test id in that report, in report order
    skipped_tests: list[str] = Field(default_factory=list)  # ids the report marks skipped
    environment: str | None = None  # the test environment that ran it (agent.validate.project_env)

    @property
    def ok(self) -> bool:
        return self.ran and not self.timed_out and self.exit_code == 0

    @property
    def summary(self) -> str:
        """One line for people: counts when the tests ran, else why they did not."""
        if not self.ran:
            return f"not run ({self.reason or 'unknown reason'})"
        counts = f"{self.passed} passed, {self.failed} failed, {self.errors} errors"
        return counts + (" (timed out)" if self.timed_out else "")


class CoverageEvidence(Record):
    """Which passing tests execute the lines a patch changed: coverage.py on the patched test runs, with suture's
    own configuration (agent.validate.covered). `changed` holds the executable changed lines (patched numbering)."""

    scope: Literal["per-test", "whole-suite", "none"] = "none"  # none: nothing could be measured (see `note`)
    changed: dict[str, list[int]] = Field(default_factory=dict)
    tests: list[str] = Field(default_factory=list)  # passing tests that execute at least one changed line
    uncovered: list[str] = Field(default_factory=list)  # "path:3-5": executable changed lines no passing test ran
    note: str | None = None

    @model_validator(mode="after")
    def _tests_need_measurement(self) -> CoverageEvidence:
        if self.tests and self.scope == "none":
            raise ValueError("covering tests need a coverage measurement")
        return self


class RegressionTest(Record):
    """A security regression test suture proposed for a patch (agent.validate.regression): one new test file
    under the repository's tests folder, written apart from the patch, run alone on the unpatched and on the
    patched tree. Kept only when it fails before and passes after; it is evidence (it makes the patch validated)
    only when it also executes a changed line on the patched tree."""

    __test__ = False  # not a pytest class

    path: str  # relative to the project root; never a file the patch edits
    content: str
    source: str  # who wrote it: "builtin:<fixer>" or "llm:<model>"
    before: str = "not run"  # on the unpatched code: failed | passed | not run (…)
    after: str = "not run"  # on the patched code: passed | failed | not run (…)
    tests: list[str] = Field(default_factory=list)  # the test ids its runs reported
    covers_change: bool = False  # coverage shows it executing a changed line on the patched tree
    kept: bool = False  # failed before and passed after: stays with the proposal, exported as its own commit
    note: str | None = None  # why it was discarded, or why a kept test is not counted as evidence

    @property
    def is_evidence(self) -> bool:
        return self.kept and self.covers_change


class Validation(Record):
    applied: bool
    apply_error: str | None = None
    baseline: TestRun | None = None
    patched: TestRun | None = None
    newly_failing: list[str] = Field(default_factory=list)
    finding_gone: bool | None = None
    new_findings: list[str] = Field(default_factory=list)
    rescan_tool: str | None = None
    rescan_note: str | None = None
    log_path: str | None = None
    flags: list[str] = Field(default_factory=list)  # things a reviewer must notice, e.g. "edits a test file"
    passed: bool = False
    reasons: list[str] = Field(default_factory=list)
    targeted: TestRun | None = None  # fast first run: only the tests that import the changed modules
    flaky: list[str] = Field(default_factory=list)  # newly failing tests that passed when re-run once
    sandbox: list[str] = Field(default_factory=list)  # protections the test runs had, e.g. "network: denied (...)"
    escapes: list[str] = Field(default_factory=list)  # writes outside the worktree and temp dirs seen during tests
    coverage: CoverageEvidence | None = None  # None: not measured (validations made before coverage existed)
    regression: RegressionTest | None = None  # the proposed security regression test, kept or discarded
    regression_note: str | None = None  # why no regression test was proposed (no template fits, disabled, …)

    @property
    def covering_tests(self) -> list[str]:
        """Passing tests that execute the change: the suite's (coverage) and a kept regression test's."""
        tests = list(self.coverage.tests) if self.coverage is not None else []
        if self.regression is not None and self.regression.is_evidence:
            tests += [t for t in self.regression.tests if t not in tests]
        return tests

    @property
    def state(self) -> ProposalState:
        """What the evidence says (DESIGN.md): failed, validated (a passing test executes the change: one of the
        suite's, or a kept regression test that fails on the unpatched code) or unproven."""
        if not self.passed:
            return "failed"
        return "validated" if self.covering_tests else "unproven"

    @property
    def unproven_reason(self) -> str:
        """Why a patch that passed every check is not validated, starting with NO_TEST_COVERS."""
        c = self.coverage
        if c is None:
            return f"{NO_TEST_COVERS} (coverage was not measured)"
        detail = c.note or (f"no passing test executes {', '.join(c.uncovered[:5])}" if c.uncovered else None)
        return NO_TEST_COVERS + (f": {detail}" if detail else "")


class Usage(Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    calls: int = 0
    cached_calls: int = 0

    def add(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            cost_known=self.cost_known and other.cost_known,
            calls=self.calls + other.calls,
            cached_calls=self.cached_calls + other.cached_calls,
        )


class Proposal(Record):
    """A patch or a dismissal waiting for a person. Only the store changes `state`."""

    id: str
    finding_id: str
    kind: ProposalKind
    engine: str
    state: ProposalState = "drafted"
    verdict: Verdict | None = None
    rationale: str = ""
    edits: list[Edit] = Field(default_factory=list)
    diff: str = ""
    prompt_hash: str | None = None
    model: str | None = None
    model_params: dict = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    context_hash: str | None = None  # sha256 of the redacted context the engine saw, when the engine reports it
    validation: Validation | None = None
    error: str | None = None
    attempts: int = 1
    notes: list[str] = Field(default_factory=list)
    commit: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _kind_rules(self) -> Proposal:
        if self.kind == "dismissal" and (self.edits or self.diff):
            raise ValueError("a dismissal proposal carries no edits")
        return self

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def without_draft(self) -> bool:
        """A finding the engine drafted nothing for (agent.attempt.no_draft): an unsaved patch proposal with an
        error and no diff still in `drafted` (a stored patch without a diff always moves on to failed)."""
        return self.kind == "patch" and self.state == "drafted" and self.error is not None and not self.diff \
            and self.validation is None


class Transition(Record):
    """One state change of a proposal, with who did it and when."""

    proposal_id: str
    from_state: ProposalState | None
    to_state: ProposalState
    actor: str
    at: datetime = Field(default_factory=utcnow)
    comment: str | None = None
    override: bool = False  # approved although validation failed; `comment` holds the reason
    target: str | None = None  # where an export went
    seq: int | None = None  # number in the store's hash chain (agent/review/audit.py)
    hash: str | None = None
