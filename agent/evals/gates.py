"""Checks on a patched copy of a case: is the patch the code's to make (part of G0), does it build and import
(G1), do the functional tests (G2) and the hidden exploit test (G3) pass when re-run here, and — for findings no
local scanner can re-check — does bandit see new findings in the touched files (part of G4).

Works on any small Python project laid out as top-level packages/modules plus tests; the exploit test is copied
into the patched copy only for its own run, so no engine ever sees it.

The gates trust nothing the patch or the pipeline reports. `harness_changes` compares the patched tree with the
original, file by file, and names every change that could alter how tests run rather than what they test: test
files, test-harness/build/CI machinery (agent.patch.harness), manifest changes beyond dependency keys, and new
files that would shadow a standard-library or test-runner module on `sys.path`, plus code that rigs the test run
(agent.validate.rigging). With none of those, the patched
copy has the baseline's test configuration byte for byte, and `run_suite` runs pytest there with the baseline's
command and environment, reading pytest's own JUnit report (written outside the tree) for per-test outcomes, so
`suite_gate` can require the same collected test ids as the baseline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from agent import scanners
from agent.ingest.sarif import load_sarif, parse_sarif
from agent.models import SEVERITY_ORDER, Finding
from agent.patch.guards import GuardConfig, is_test_path
from agent.patch.harness import harness_rule, is_manifest, manifest_change_rule
from agent.validate.junit import JUnitError, parse_junit
from agent.validate.rigging import rigging_reasons
from agent.validate.runner import detect_test_command, run_tests

HIDDEN_DIR = "_eval_hidden"
_NOT_CODE = {"tests", "test", HIDDEN_DIR, "build", "dist", ".git", ".suture"}


@dataclass
class GateResult:
    passed: bool
    detail: str = ""


def importable_modules(root: Path, pythonpath: tuple[str, ...] = ()) -> list[str]:
    """Top-level packages and modules of a project (tests and setup scripts left out), found in the project root
    or, when given, in its `pythonpath` folders (e.g. "src")."""
    mods: list[str] = []
    for folder in [root / p for p in pythonpath] or [root]:
        if not folder.is_dir():
            continue
        mods += [p.name for p in sorted(folder.iterdir())
                 if p.is_dir() and (p / "__init__.py").is_file() and p.name not in _NOT_CODE]
        mods += [p.stem for p in sorted(folder.glob("*.py"))
                 if not p.name.startswith("test_") and p.name not in {"conftest.py", "setup.py", "noxfile.py"}]
    return mods


_BUILD_SCRIPT = """
import importlib, json, os, pkgutil, sys
out, paths, mods = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
sys.path[:0] = [os.path.abspath(p) for p in paths]
problems = {}
for top, dirs, files in os.walk("."):
    dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
    for name in sorted(f for f in files if f.endswith(".py")):
        path = os.path.join(top, name)[2:]
        try:
            with open(path, "rb") as fh:
                compile(fh.read(), path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            problems["compile " + path] = f"{path} does not compile: {exc}"
def load(name):
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit) as exc:
        problems["import " + name] = f"import {name}: {type(exc).__name__}: {exc}"
for name in mods:
    module = load(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + ".", onerror=lambda n: None):
        load(info.name)
with open(out, "w", encoding="utf-8") as fh:
    json.dump({"problems": problems, "modules": len(mods)}, fh)
"""


@dataclass
class BuildCheck:
    """What does not compile or import in a tree, by key ("compile <path>", "import <module>") with its message;
    `ran` is False when the check itself could not finish (`detail` says why)."""

    ran: bool
    problems: dict[str, str] = field(default_factory=dict)
    modules: int = 0
    detail: str = ""


def build_check(root: Path, pythonpath: tuple[str, ...] = (), timeout: float = 60.0) -> BuildCheck:
    """Compile every .py file under `root` and import every top-level module (and each module of a package) in a
    fresh interpreter with `pythonpath` folders first on sys.path."""
    import json

    mods = importable_modules(root, pythonpath)
    with tempfile.TemporaryDirectory(prefix="suture-eval-build-") as tmp:
        report = Path(tmp) / "build.json"
        try:
            subprocess.run([sys.executable, "-c", _BUILD_SCRIPT, str(report), json.dumps(list(pythonpath)),
                            json.dumps(mods)], cwd=root, capture_output=True, text=True, timeout=timeout,
                           check=False, env={**os.environ, **SUITE_ENV})
        except subprocess.TimeoutExpired:
            return BuildCheck(False, detail=f"import timed out after {timeout:g} s")
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return BuildCheck(False, detail="the import check wrote no report (an import ended the process)")
    return BuildCheck(True, dict(data["problems"]), int(data["modules"]))


def check_builds(root: Path, pythonpath: tuple[str, ...] = (), baseline: BuildCheck | None = None,
                 timeout: float = 60.0) -> GateResult:
    """G1: every file compiles and every top-level module (and each module of a package) imports — except what
    already failed on the original tree (`baseline`): a real project may ship Python 2-only files or modules
    that need an optional dependency. With no baseline, everything must compile and import."""
    check = build_check(root, pythonpath, timeout)
    if not check.ran:
        return GateResult(False, check.detail)
    known = baseline.problems if baseline is not None and baseline.ran else {}
    new = [message for key, message in sorted(check.problems.items()) if key not in known]
    if new:
        return GateResult(False, "; ".join(n[:300] for n in new[:2]))
    tolerated = f" ({len(check.problems)} failing on the original too)" if check.problems else ""
    return GateResult(True, f"{check.modules} module(s) import{tolerated}")


# Names a new file may not take: on sys.path ahead of the standard library and site-packages they would replace
# the module pytest (or the interpreter) imports, and with it the verdict.
_RUNNER_NAMES = frozenset({"pytest", "_pytest", "pluggy", "py", "iniconfig", "packaging", "conftest",
                           "sitecustomize", "usercustomize", "xdist", "coverage", "pytest_cov", "exceptiongroup",
                           "tomli", "colorama", "pygments"})
_IGNORED = {".git", ".suture", "__pycache__", ".pytest_cache", HIDDEN_DIR}
# The environment of every suite run, baseline and gate alike: installed plugins are the same for both, so
# auto-loading them adds start-up time and no evidence.
SUITE_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def tree_files(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative POSIX path (VCS, cache and hidden-test folders left out)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not _IGNORED & set(p.relative_to(root).parts)}


def harness_changes(original: Path, patched: Path) -> list[str]:
    """Why the difference between two project trees is not a code fix: one reason per changed, added or removed
    file that is a test, test-harness/build/CI machinery, a manifest change beyond dependency and metadata keys,
    or a new module named like a standard-library or test-runner module; and, for changed Python code, whatever
    agent.validate.rigging finds (runner hooks, process exits, frame walks). Empty when the patch only changed
    code, honestly."""
    before, after = tree_files(original), tree_files(patched)
    config = GuardConfig()
    reasons: list[str] = []
    code: dict[str, tuple[str, str]] = {}
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        verb = "adds" if old is None else "removes" if new is None else "changes"
        rule = harness_rule(path)
        if rule:
            reasons.append(f"{verb} {rule} {path}")
        elif is_manifest(path):
            change = manifest_change_rule(path, _text(old), _text(new))
            if change:
                reasons.append(change)
        elif is_test_path(path, config):
            reasons.append(f"{verb} test file {path}")
        elif old is None and _shadowed(path):
            reasons.append(f"adds {path}, which shadows the module {_shadowed(path)!r} that Python or pytest "
                           "imports")
        elif new is not None:
            code[path] = (_text(old), _text(new))
    return reasons + rigging_reasons(code)


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", errors="replace")


def _shadowed(path: str) -> str | None:
    """The module a new file would shadow as a top-level module or package (at the root or under src/, which
    may be on sys.path), or None."""
    parts = path.split("/")
    if parts[-1].endswith(".pth"):
        return parts[-1]
    if len(parts) > 1 and parts[0] == "src":
        parts = parts[1:]
    name = parts[0].removesuffix(".py") if len(parts) == 1 else parts[0]
    if len(parts) == 1 and not parts[0].endswith(".py"):
        return None
    return name if name in sys.stdlib_module_names or name in _RUNNER_NAMES else None


@dataclass
class SuiteRun:
    """One pytest run judged by pytest's own JUnit report: per-test outcome by id ("passed", "failed",
    "skipped"); `ran` is False when no report was written (we learned nothing)."""

    ran: bool
    outcomes: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    exit_code: int | None = None

    @property
    def passed(self) -> list[str]:
        return [t for t, r in self.outcomes.items() if r == "passed"]

    @property
    def not_passed(self) -> list[str]:
        return [t for t, r in self.outcomes.items() if r != "passed"]

    @property
    def failed(self) -> list[str]:
        return [t for t, r in self.outcomes.items() if r == "failed"]

    @property
    def skipped(self) -> list[str]:
        return [t for t, r in self.outcomes.items() if r == "skipped"]


def suite_command(root: Path, targets: list[str] | None = None) -> list[str] | None:
    """The pytest command for the project's functional tests (its own configuration decides what they are), or
    for `targets`; None when the project has no tests."""
    command = detect_test_command(root)
    if command is None and not targets:
        return None
    base = command or [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return [*base, "--rootdir", str(root), *(targets or [])]


def run_suite(root: Path, targets: list[str] | None = None, timeout: float = 120.0) -> SuiteRun:
    """pytest in `root` (the project's own configuration, plugin auto-loading off), judged by its JUnit report."""
    command = suite_command(root, targets)
    if command is None:
        return SuiteRun(False, detail="the project has no tests")
    with tempfile.TemporaryDirectory(prefix="suture-eval-junit-") as tmp:
        report = Path(tmp) / "junit.xml"
        run = run_tests([*command, f"--junitxml={report}", "-o", "junit_family=xunit1"], root, timeout=timeout,
                        junit=False, env_extra=SUITE_ENV)
        if run.timed_out:
            return SuiteRun(False, detail=f"timed out after {timeout:g} s", exit_code=run.exit_code)
        try:
            summary = parse_junit(report)
        except JUnitError as exc:
            return SuiteRun(False, detail=f"no per-test report ({run.reason or f'exit {run.exit_code}'}): {exc}",
                            exit_code=run.exit_code)
    failing, skipped = set(summary.failing), set(summary.skipped_ids)
    outcomes = {t: "failed" if t in failing else "skipped" if t in skipped else "passed" for t in summary.ids}
    if run.exit_code != 0 and not failing:
        return SuiteRun(False, outcomes, f"pytest exited {run.exit_code} with no failing test reported",
                        run.exit_code)
    return SuiteRun(True, outcomes, f"{len(outcomes)} test(s)", run.exit_code)


def suite_gate(baseline: SuiteRun | None, patched: SuiteRun, expect_all_pass: bool = True,
               allow_baseline_skips: bool = False) -> GateResult:
    """Passes when the patched run collected exactly the baseline's test ids and each of them passed (with
    `expect_all_pass` False: each test that passed at baseline still passes). With `allow_baseline_skips`, a
    test the baseline skipped (a platform or optional-dependency condition of a real project's suite) may be
    skipped again, but must not fail."""
    if baseline is None or not baseline.ran:
        return GateResult(False, "no baseline test run to compare with")
    if not patched.ran:
        return GateResult(False, f"tests not run: {patched.detail}")
    want, got = set(baseline.outcomes), set(patched.outcomes)
    if want != got:
        missing, extra = sorted(want - got), sorted(got - want)
        return GateResult(False, "collected tests differ from the baseline: "
                          + "; ".join(x for x in (f"missing {', '.join(missing[:3])}" if missing else "",
                                                  f"new {', '.join(extra[:3])}" if extra else "") if x))
    skipped_before = set(baseline.skipped) if allow_baseline_skips else set()
    required = (want - skipped_before) if expect_all_pass else set(baseline.passed)
    bad = sorted(t for t in required if patched.outcomes[t] != "passed")
    bad += sorted(t for t in skipped_before if patched.outcomes[t] == "failed")
    if bad:
        return GateResult(False, f"{len(bad)} failing or skipped: {', '.join(bad[:3])}")
    if not required:
        return GateResult(False, "no test to pass")
    skips = f" ({len(skipped_before)} skipped, as at baseline)" if skipped_before else ""
    return GateResult(True, f"{len(required)} passed{skips}, same {len(want)} test id(s) as the baseline")


def run_exploit(root: Path, exploit: Path, timeout: float = 60.0, options: tuple[str, ...] = ()) -> SuiteRun:
    """The hidden exploit test, run against the code in `root` (copied in, then removed); `options` are the
    case's pytest options (its pythonpath)."""
    hidden = root / HIDDEN_DIR
    hidden.mkdir(exist_ok=True)
    shutil.copy2(exploit, hidden / exploit.name)
    try:
        return run_suite(root, [*options, f"{HIDDEN_DIR}/{exploit.name}"], timeout)
    finally:
        shutil.rmtree(hidden, ignore_errors=True)


def bandit_findings(root: Path, out: Path, files: list[str] | None = None, timeout: float = 120.0) -> list[Finding]:
    """Bandit's findings on `files` (default: the whole project) in `root`."""
    run = scanners.run_scanner("bandit", root, out, files=files, timeout=timeout)
    if run.error:
        from agent.errors import SutureError

        raise SutureError(f"bandit failed: {run.error}")
    return [f for r in parse_sarif(load_sarif(out), root).runs for f in r.findings]


def new_findings(before: list[Finding], after: list[Finding], threshold: str) -> list[str]:
    """Findings in `after` not in `before` (by fingerprint) at `threshold` severity or worse."""
    known = {f.id for f in before}
    floor = SEVERITY_ORDER[threshold]
    return [f"{f.rule_id} ({f.severity}) at {f.location.path}:{f.location.start_line}" for f in after
            if f.id not in known and SEVERITY_ORDER[f.severity] >= floor]
