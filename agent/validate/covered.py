"""Coverage evidence: which passing tests execute the lines a patch changed (coverage.py).

Measured on the patched test runs themselves (the targeted run, or the full suite when there is none), not
mapped from the baseline: the changed lines are known exactly in the patched files (agent.validate.lint.changed_lines), so no
line has to be guessed back to an older numbering, and a line the patch added is measured as it is. Only the
changed files are measured, which keeps the cost small (evals/perf/validation_overhead.py). How:
- pytest (any command `is_pytest_command` accepts): suture's plugin (agent/validate/coverage_plugin.py, copied
  into a folder the run sees read-only) starts coverage.py with suture's own configuration file and names the
  context after each test's node id: evidence per test, judged against the run's own JUnit report;
- `<suture's interpreter> -m <module>` for other runners: `coverage run --rcfile=<suture's>`, whole-suite
  evidence that counts only when the whole run passed;
- any other command: nothing is measured and the record says so.
The repository's .coveragerc or [tool.coverage] never applies (suture names its own rc file, and COVERAGE_*
variables are not passed to the run), so they cannot exclude the changed lines. Data files are written to a
folder bind-mounted writable into the sandbox and read after the run. Executable lines come from coverage.py's
own parser of the patched text; a changed continuation line counts as the statement it belongs to.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent.models import CoverageEvidence, TestRun
from agent.validate.lint import changed_lines
from agent.validate.runner import is_pytest_command

PLUGIN = "suture_coverage_plugin"
_PLUGIN_SOURCE = Path(__file__).with_name("coverage_plugin.py")
_PYTHON = (".py", ".pyw")


@dataclass
class CoverageSetup:
    """One run's coverage folders: `plugin_dir` (plugin and rc file; read-only inside) and `data_dir` (written)."""

    plugin_dir: Path
    data_dir: Path
    rc: Path


@dataclass
class RunCoverage:
    """What one run recorded: absolute file -> line -> contexts (test node ids, "" outside any test)."""

    scope: str  # per-test | whole-suite | none
    executed: dict[str, dict[int, set[str]]] = field(default_factory=dict)
    note: str | None = None


def executable_changes(project_dir: Path, changed: Mapping[str, tuple[str, str]]) -> dict[str, list[int]]:
    """Per changed Python file (relative path), the executable statements the patch added or changed."""
    from coverage.parser import PythonParser

    found: dict[str, list[int]] = {}
    for path, (old, new) in sorted(changed.items()):
        if not path.lower().endswith(_PYTHON):
            continue
        lines = changed_lines(old, new)
        try:
            parser = PythonParser(text=new, filename=str(project_dir / path))
            parser.parse_source()
        except Exception:  # noqa: BLE001, S112 - coverage's parser raises NotPython and others: judge nothing
            continue
        statements = {parser.first_line(line) for line in lines} & set(parser.statements)
        if statements:
            found[path] = sorted(statements)
    return found


@contextmanager
def coverage_setup(project_dir: Path, files: list[str]) -> Iterator[CoverageSetup]:
    """A fresh pair of folders for one run measuring `files` (relative to `project_dir`); removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="suture-coverage-"))
    try:
        plugin_dir, data_dir = root / "plugin", root / "data"
        plugin_dir.mkdir()
        data_dir.mkdir()
        shutil.copyfile(_PLUGIN_SOURCE, plugin_dir / f"{PLUGIN}.py")
        rc = plugin_dir / "coveragerc"
        include = "".join(f"\n    {(project_dir / f).resolve()}" for f in files)
        rc.write_text("[run]\nbranch = False\nparallel = True\ninclude =" + include + "\n"
                      "disable_warnings = no-data-collected, module-not-measured, module-not-imported, "
                      "include-ignored, couldnt-parse\n", encoding="utf-8")
        yield CoverageSetup(plugin_dir, data_dir, rc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def instrument(command: list[str], setup: CoverageSetup,
               pythonpath: str | None) -> tuple[list[str] | None, dict[str, str], str]:
    """(the argv to run instead of `command`, extra environment, scope); argv None when it cannot be measured."""
    if is_pytest_command(command):
        path = os.pathsep.join([str(setup.plugin_dir), *([pythonpath] if pythonpath else [])])
        env = {"PYTHONPATH": path, "SUTURE_COVERAGE_DIR": str(setup.data_dir), "SUTURE_COVERAGE_RC": str(setup.rc)}
        return [*command, "-p", PLUGIN], env, "per-test"
    if len(command) >= 3 and command[1] == "-m" and _is_own_python(command[0]):
        return ([command[0], "-m", "coverage", "run", f"--rcfile={setup.rc}",
                 f"--data-file={setup.data_dir / 'data'}", "-m", *command[2:]], {}, "whole-suite")
    return None, {}, "none"


def _is_own_python(program: str) -> bool:
    found = shutil.which(program)
    return found is not None and os.path.realpath(found) == os.path.realpath(sys.executable)


def read_coverage(setup: CoverageSetup, scope: str) -> RunCoverage:
    """The data files a run left in `setup.data_dir`, merged; a note when there are none."""
    from coverage import CoverageData
    from coverage.exceptions import CoverageException

    result = RunCoverage(scope=scope)
    files = sorted(p for p in setup.data_dir.iterdir() if p.name.startswith("data") and p.is_file())
    for data_file in files:
        try:
            data = CoverageData(basename=str(data_file))
            data.read()
            for measured in data.measured_files():
                lines = result.executed.setdefault(measured, {})
                for line, contexts in data.contexts_by_lineno(measured).items():
                    lines.setdefault(line, set()).update(contexts)
        except (CoverageException, OSError, ValueError) as exc:
            result.note = f"a coverage data file could not be read: {exc}"
    if not files:
        why = setup.data_dir / "unavailable.txt"
        result.note = (why.read_text(encoding="utf-8", errors="replace")[:300] if why.is_file()
                       else "the run left no coverage data (it ended before the tests finished)")
        result.scope = "none"
    return result


def _passing(run: TestRun) -> set[str]:
    if not run.junit_report:
        return set()
    bad = set(run.failing_tests) | set(run.skipped_tests)
    return {t for t in run.test_ids if t not in bad}


def _ranges(path: str, lines: list[int]) -> list[str]:
    spans: list[list[int]] = []
    for line in sorted(lines):
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    return [f"{path}:{a}" if a == b else f"{path}:{a}-{b}" for a, b in spans]


def coverage_evidence(project_dir: Path, changes: dict[str, list[int]],
                      runs: list[tuple[TestRun, RunCoverage]], note: str | None = None) -> CoverageEvidence:
    """Which passing tests of `runs` execute the executable changed lines `changes`; `note` says why nothing
    could be measured (no tests) when there are no runs."""
    if not changes:
        return CoverageEvidence(note="the patch changes no executable Python line, so no test can be shown to "
                                     "run it")
    covered: set[tuple[str, int]] = set()
    tests: list[str] = []
    scopes = [cov.scope for _run, cov in runs if cov.scope != "none"]
    for run, cov in runs:
        passing = _passing(run)
        for path, lines in changes.items():
            by_line = cov.executed.get(str((project_dir / path).resolve()), {})
            for line in lines:
                contexts = by_line.get(line, set())
                if cov.scope == "per-test":
                    hits = sorted(c for c in contexts if c in passing)
                elif cov.scope == "whole-suite" and run.ok and contexts:
                    hits = [f"the whole test suite ({' '.join(run.command)}), which passed"]
                else:
                    hits = []
                if hits:
                    covered.add((path, line))
                    tests += [t for t in hits if t not in tests]
    uncovered = [r for path, lines in changes.items()
                 for r in _ranges(path, [n for n in lines if (path, n) not in covered])]
    notes = [n for _run, cov in runs if (n := cov.note)]
    if note is None and not tests:
        note = notes[0] if notes and not scopes else None
    scope: Literal["per-test", "whole-suite", "none"] = (
        "per-test" if "per-test" in scopes else "whole-suite" if scopes else "none")
    return CoverageEvidence(scope=scope, changed=changes, tests=tests, uncovered=uncovered, note=note)
