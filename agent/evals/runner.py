"""Run one engine over eval cases through the real pipeline, each case in isolation, and score the gates.

Per case (and per sample when k > 1): copy `repo/` to a temporary folder, `git init` + one commit, produce the
finding (bandit run, or the case's SARIF), store it, and call `agent.attempt.fix_one` with the engine in a
worktree — the same per-finding loop `suture fix` uses (context, verdict, drafts, validation). The proposal is then
scored on a fresh patched copy:

    G0 edits apply, and change code only (no test, harness, build or CI file; see gates.harness_changes) ·
    G1 code compiles and imports (what already failed on the original, e.g. a Python 2-only file, is tolerated) · G2 the functional tests, re-run here with the baseline's configuration,
    collect the baseline's test ids and all pass · G3 the hidden exploit tests, run the same way, collect the
    baseline's ids and all pass · G4 the finding is gone on re-scan and no new finding (medium or worse) appeared

The gates never take the pipeline's word: G2 does not read the pipeline's own test run, and a patch the pipeline
accepted is judged again on a fresh copy (`score_patch`, usable on any list of edits). A case is fixed when every
gate passes and the pipeline did not reject the proposal (state "failed").

Each case's baseline (finding produced, functional tests pass on the original (skips allowed: a skipped test may
stay skipped in G2, never fail), exploit test fails on it for a
real vulnerability and passes for a false positive) is checked once per process and cached; a case that fails its
baseline — no tests, an exploit test that proves nothing — scores as a failure, never a pass.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.attempt import fix_one
from agent.config import Settings
from agent.engines.base import Engine
from agent.errors import SutureError
from agent.evals import gates
from agent.evals.cases import EvalCase
from agent.evals.recording import RecordingEngine, changed_lines, context_recall, diff_size
from agent.ingest.sarif import load_sarif, parse_sarif
from agent.models import Edit, Finding, Proposal, TestRun
from agent.patch.apply import apply_edits
from agent.patch.guards import GuardConfig
from agent.store import Store
from agent.validate.pipeline import ValidationEnv
from agent.validate.runner import detect_test_command, run_tests
from agent.validate.worktree import Worktree, find_project

GATES = ("G0", "G1", "G2", "G3", "G4")
_GIT_ENV = {"GIT_AUTHOR_NAME": "suture eval", "GIT_AUTHOR_EMAIL": "eval@suture.invalid",
            "GIT_COMMITTER_NAME": "suture eval", "GIT_COMMITTER_EMAIL": "eval@suture.invalid",
            "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}

EngineFactory = Callable[[EvalCase, int], Engine]
ProgressFn = Callable[[EvalCase, dict], None]


@dataclass
class Baseline:
    """What a case looks like before any engine touches it."""

    case_id: str
    digest: str
    findings: list[Finding] = field(default_factory=list)  # every finding of the producing scan
    scan_content: bytes = b""
    target: Finding | None = None
    bandit: list[Finding] = field(default_factory=list)  # bandit over the whole original repo
    functional: TestRun | None = None  # the pipeline's own baseline run (shared with it, never a gate's evidence)
    suite: gates.SuiteRun | None = None  # the functional tests as the gates run them
    exploit: gates.SuiteRun | None = None
    build: gates.BuildCheck | None = None  # what already fails to compile or import on the original (for G1)
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


_BASELINES: dict[str, Baseline] = {}
_BASELINE_LOCKS: dict[str, threading.Lock] = {}
_LOCK = threading.Lock()
_STORE_OPEN = threading.Lock()


def init_repo(case: EvalCase, dest: Path) -> Path:
    """A fresh git repository with the case's repo/ as one commit."""
    shutil.copytree(case.repo, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".suture"))
    env = {**_clean_env(), **_GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "--no-gpg-sign", "-m", "case"]):
        subprocess.run(["git", *args], cwd=dest, env=env, check=True, capture_output=True)
    return dest


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def produce_findings(case: EvalCase, repo: Path, work: Path) -> tuple[list[Finding], bytes]:
    """The findings of the case's producing scan (or SARIF file) on `repo`, and the SARIF bytes."""
    spec = case.finding
    if spec.sarif is not None:
        content = spec.sarif.read_bytes()
        parsed = parse_sarif(load_sarif(spec.sarif), repo)
    else:
        if spec.scanner != "bandit":
            raise SutureError(f"{case.id}: only bandit (or a SARIF file) can produce eval findings")
        out = work / "scan.sarif"
        found = gates.bandit_findings(repo, out)
        return found, out.read_bytes()
    return [f for r in parsed.runs for f in r.findings], content


def pick_target(case: EvalCase, findings: list[Finding]) -> Finding | None:
    spec = case.finding
    hits = [f for f in findings if (spec.rule is None or f.rule_id == spec.rule)
            and (spec.path is None or f.location.path == spec.path)
            and (spec.line is None or f.location.start_line == spec.line)]
    return hits[0] if len(hits) == 1 else None


def baseline(case: EvalCase, timeout: float = 120.0) -> Baseline:
    """The case's baseline, computed once per process and case version."""
    digest = case.digest()
    with _LOCK:
        lock = _BASELINE_LOCKS.setdefault(digest, threading.Lock())
    with lock:
        if digest not in _BASELINES:
            _BASELINES[digest] = _compute_baseline(case, digest, timeout)
        return _BASELINES[digest]


def _compute_baseline(case: EvalCase, digest: str, timeout: float) -> Baseline:
    base = Baseline(case.id, digest)
    with tempfile.TemporaryDirectory(prefix="suture-eval-base-") as tmp:
        work = Path(tmp)
        repo = init_repo(case, work / "repo")
        try:
            base.findings, base.scan_content = produce_findings(case, repo, work)
            base.bandit = (base.findings if case.finding.sarif is None
                           else gates.bandit_findings(repo, work / "bandit.sarif"))
        except SutureError as exc:
            base.problems.append(f"finding not produced: {exc}")
            return base
        base.target = pick_target(case, base.findings)
        base.build = gates.build_check(repo, case.pythonpath, timeout)
        if not base.build.ran:
            base.problems.append(f"the import check does not run on the original code: {base.build.detail}")
        if base.target is None:
            base.problems.append(f"expected exactly one {case.finding.rule} finding in {case.finding.path}")
        command = case_test_command(case, repo)
        if command is None:
            base.problems.append("the case has no functional tests")
        else:
            base.functional = run_tests(command, repo, timeout=timeout, env_extra=gates.SUITE_ENV)
            base.suite = gates.run_suite(repo, _suite_args(case), timeout=timeout)
            if not (base.suite.ran and base.suite.passed and not base.suite.failed):
                base.problems.append(f"functional tests do not all pass on the original code ({base.suite.detail})")
        if not case.exploit_test.is_file():
            base.problems.append("the case has no hidden exploit test")
        else:
            base.exploit = gates.run_exploit(repo, case.exploit_test, timeout, case.pytest_options)
            if not base.exploit.ran:
                base.problems.append(f"exploit test not run: {base.exploit.detail}")
            elif case.is_vulnerable and base.exploit.passed:
                base.problems.append("an exploit check passes on the vulnerable code: it proves nothing "
                                     f"({', '.join(base.exploit.passed[:3])})")
            elif not case.is_vulnerable and (base.exploit.not_passed or not base.exploit.passed):
                base.problems.append("the exploit test fails on code labelled a false positive")
    return base


def case_test_command(case: EvalCase, repo: Path) -> list[str] | None:
    """The functional test command of a case: pytest's own discovery, or the case's [tests] args (and pythonpath)."""
    if case.test_args or case.pythonpath:
        return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *case.pytest_options,
                *case.test_args]
    return detect_test_command(repo)


def _suite_args(case: EvalCase) -> list[str] | None:
    """The pytest arguments the gates add to the project's own test command for this case."""
    return [*case.pytest_options, *case.test_args] or None


def run_case(case: EvalCase, engine: Engine, settings: Settings, sample: int = 0,
             artifacts: Path | None = None) -> dict[str, Any]:
    """One case, one sample: the outcome record (gates, verdict, usage, sizes, context recall)."""
    started = time.perf_counter()
    base = baseline(case, settings.test_timeout)
    outcome: dict[str, Any] = {
        "case_id": case.id, "sample": sample, "cwe": case.cwe, "label": case.label, "tags": list(case.tags),
        "engine": engine.name, "model": engine.model, "case_digest": base.digest,
        "invalid_case": "; ".join(base.problems) or None, "gates": dict.fromkeys(GATES, False),
        "gate_details": {}, "fixed": False, "dismissed": False, "predicted": None, "confidence": None,
        "error": None, "usage": {}, "latency_s": 0.0, "diff_lines": None,
        "reference_diff_lines": _reference_size(case), "context_recall": None, "proposal_state": None,
    }
    if not base.valid or base.target is None:
        outcome["error"] = f"invalid case: {outcome['invalid_case']}"
        outcome["duration_s"] = time.perf_counter() - started
        return outcome
    recorder = RecordingEngine(engine)
    with tempfile.TemporaryDirectory(prefix="suture-eval-") as tmp:
        work = Path(tmp)
        repo = init_repo(case, work / "repo")
        with _STORE_OPEN:  # creating a store runs Alembic, whose context is module-global (not thread-safe)
            store = Store.open(work / "state" / "suture.db")
        try:
            store.record_scan(tool=base.target.tool, scope="eval", source=case.id, content=base.scan_content,
                              findings=base.findings, full=True)
            case_settings = (settings.model_copy(update={"test_command": case_test_command(case, repo)})
                             if case.test_args or case.pythonpath else settings)
            proposal = _fix(repo, work, store, base, recorder, case_settings)
            _score(case, base, proposal, repo, work, settings, outcome)
        except SutureError as exc:
            outcome["error"] = str(exc)
        finally:
            store.close()
        if artifacts is not None:
            _keep_artifacts(artifacts / case.id / f"s{sample}", outcome, work)
    outcome["calls"] = [r.as_dict() for r in recorder.records]
    outcome["latency_s"] = round(sum(r.latency_s for r in recorder.records), 4)
    outcome["context_recall"] = context_recall(changed_lines(case), recorder.contexts)
    outcome["duration_s"] = round(time.perf_counter() - started, 3)
    return outcome


def _fix(repo: Path, work: Path, store: Store, base: Baseline, engine: Engine, settings: Settings) -> Proposal:
    """The pipeline's per-finding loop in a worktree of the case repo; the baseline test run is shared."""
    assert base.target is not None  # run_case returns early for a case without a target
    project = find_project(repo)
    env = ValidationEnv(settings=settings, logs_dir=work / "state" / "logs", commit=project.head)
    if base.functional is not None and not settings.test_command:
        env.baseline_cache[project.head] = base.functional
    (work / "worktrees").mkdir(exist_ok=True)
    with Worktree(project, project.head, temp_root=work / "worktrees") as wt:
        return fix_one(env, wt.project_path, store, base.target, engine, settings, wt.reset)


def _reference_size(case: EvalCase) -> int:
    """Added + removed lines of the reference fix, counted like a proposal's diff."""
    import difflib

    total = 0
    for path, fixed in case.reference_files().items():
        original = case.repo / path
        old = original.read_text(encoding="utf-8").splitlines(keepends=True) if original.is_file() else []
        total += diff_size("".join(difflib.unified_diff(old, fixed.splitlines(keepends=True), "a", "b")))
    return total


def _score(case: EvalCase, base: Baseline, proposal: Proposal, repo: Path, work: Path,
           settings: Settings, outcome: dict[str, Any]) -> None:
    verdict = proposal.verdict
    outcome.update(proposal_id=proposal.id, proposal_state=proposal.state, proposal_kind=proposal.kind,
                   attempts=proposal.attempts, usage=proposal.usage.model_dump(),
                   predicted=verdict.verdict if verdict else None, confidence=verdict.confidence if verdict else None,
                   dismissed=proposal.kind == "dismissal", error=proposal.error, diff=proposal.diff)
    g, detail = outcome["gates"], outcome["gate_details"]
    validation = proposal.validation
    if proposal.kind == "dismissal" or validation is None or not validation.applied:
        detail["G0"] = "dismissed" if proposal.kind == "dismissal" else (
            (validation.apply_error if validation else None) or proposal.error or "no edits")
        return
    outcome["diff_lines"] = diff_size(proposal.diff)
    result = score_patch(case, base, proposal.edits, repo, work, settings)
    g.update(result.gates)
    detail.update(result.details)
    # Fixed needs both: the gates' own verdict, and a proposal the pipeline did not reject (a failed proposal
    # never reaches a reviewer, however good the patch).
    outcome["fixed"] = result.fixed and proposal.state != "failed"
    if result.fixed and proposal.state == "failed":
        outcome["error"] = outcome["error"] or "the pipeline's validation rejected the patch the gates accept"


@dataclass
class PatchScore:
    gates: dict[str, bool]
    details: dict[str, str]

    @property
    def fixed(self) -> bool:
        return all(self.gates.values())


def score_patch(case: EvalCase, base: Baseline, edits: list[Edit], repo: Path, work: Path,
                settings: Settings) -> PatchScore:
    """G0–G4 for `edits` on a fresh copy of `repo` (the case's original tree), whatever produced them."""
    gate_list, details = dict.fromkeys(GATES, False), {}
    gate_root = work / "gate"
    shutil.rmtree(gate_root, ignore_errors=True)
    shutil.copytree(repo, gate_root, ignore=shutil.ignore_patterns(".git", ".suture"))
    try:
        apply_edits(gate_root, edits, GuardConfig(max_files=settings.max_files,
                                                  max_changed_lines=settings.max_changed_lines,
                                                  allow_harness_edits=True, allow_test_edits=True))
    except SutureError as exc:
        details["G0"] = f"edits do not apply: {exc}"
        return PatchScore(gate_list, details)
    refused = gates.harness_changes(repo, gate_root)
    if refused:
        details["G0"] = "not a code fix: " + "; ".join(refused[:3])
        return PatchScore(gate_list, details)
    gate_list["G0"], details["G0"] = True, f"{len(edits)} edit(s) apply to code only"
    built = gates.check_builds(gate_root, case.pythonpath, base.build, settings.test_timeout)
    gate_list["G1"], details["G1"] = built.passed, built.detail
    functional = gates.suite_gate(base.suite, gates.run_suite(gate_root, _suite_args(case),
                                                               timeout=settings.test_timeout),
                                  allow_baseline_skips=True)
    gate_list["G2"], details["G2"] = functional.passed, functional.detail
    exploit = gates.suite_gate(base.exploit, gates.run_exploit(gate_root, case.exploit_test, settings.test_timeout,
                                                               case.pytest_options))
    gate_list["G3"], details["G3"] = exploit.passed, exploit.detail
    changed = sorted(p for p in set(gates.tree_files(repo)) | set(gates.tree_files(gate_root))
                     if (repo / p).is_file() != (gate_root / p).is_file()
                     or ((repo / p).is_file() and (repo / p).read_bytes() != (gate_root / p).read_bytes()))
    gate_list["G4"], details["G4"] = _rescan_gate(base, changed, gate_root, work, settings)
    return PatchScore(gate_list, details)


def _rescan_gate(base: Baseline, changed: list[str], gate_root: Path, work: Path,
                 settings: Settings) -> tuple[bool, str]:
    """Bandit on the touched files of the patched copy against bandit on the original: the finding must be gone
    (when bandit produced it; other tools cannot be re-run here, so the exploit test is the proof) and nothing new
    at `fail_on_new_severity` or worse may appear."""
    target = base.target
    assert target is not None  # run_case returns early for a case without a target
    files = [p for p in changed if p.endswith(".py") and (gate_root / p).is_file()]
    after = gates.bandit_findings(gate_root, work / "gate-bandit.sarif", files) if files else []
    new = gates.new_findings(base.bandit, after, settings.fail_on_new_severity)
    if target.tool == "bandit":
        same = [f for f in after if f.rule_id == target.rule_id and f.location.path == target.location.path]
        before = [f for f in base.bandit if f.rule_id == target.rule_id and f.location.path == target.location.path]
        gone = target.location.path in files and target.id not in {f.id for f in after} and len(same) < len(before)
        if not gone:
            return False, f"bandit still reports {target.rule_id} in {target.location.path}"
        new = [n for n in new if not n.startswith(f"{target.rule_id} ")]
    if new:
        return False, "new findings: " + ", ".join(new[:3])
    if target.tool != "bandit":
        return True, f"{target.tool} cannot be re-run here (the exploit test is the proof); bandit sees nothing new"
    return True, "finding gone, nothing new"


def _keep_artifacts(folder: Path, outcome: dict[str, Any], work: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if outcome.get("diff"):
        (folder / "patch.diff").write_text(outcome["diff"], encoding="utf-8")
    for log in (work / "state" / "logs").glob("*.log"):
        shutil.copy2(log, folder / log.name)


def run_cases(cases: list[EvalCase], make_engine: EngineFactory, settings: Settings, samples: int = 1,
              workers: int = 2, artifacts: Path | None = None, on_done: ProgressFn | None = None) -> list[dict]:
    """Every case × sample, `workers` at a time (each in its own folder and repository). Ordered by case, sample."""
    jobs = [(c, s) for c in cases for s in range(samples)]

    def one(job: tuple[EvalCase, int]) -> dict:
        case, sample = job
        try:
            result = run_case(case, make_engine(case, sample), settings, sample, artifacts)
        except Exception as exc:  # noqa: BLE001 - one case's crash (ours or the interpreter's) must not lose the run
            message = str(exc) if isinstance(exc, SutureError) else f"internal error: {type(exc).__name__}: {exc}"
            result = {"case_id": case.id, "sample": sample, "cwe": case.cwe, "label": case.label,
                      "gates": dict.fromkeys(GATES, False), "fixed": False, "dismissed": False,
                      "error": message, "engine": "?"}
        if on_done:
            on_done(case, result)
        return result

    if workers <= 1:
        return [one(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, jobs))

