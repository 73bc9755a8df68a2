"""The rules that decide whether test runs are evidence, and the static rigging check, on plain inputs."""

from __future__ import annotations

import sys

import pytest

from agent.models import TestRun
from agent.validate.evidence import baseline_problem, report_problems
from agent.validate.rigging import find_rigging, rigging_reasons

PYTEST = [sys.executable, "-m", "pytest", "-q"]
IDS = ["t/test_a.py::test_1", "t/test_a.py::test_2", "t/test_b.py::test_3"]


def run(**fields) -> TestRun:
    return TestRun(**{"ran": True, "exit_code": 0, "command": PYTEST, "junit_report": True, "test_ids": IDS,
                      "passed": 3, **fields})


def test_baseline_that_executed_no_test_is_no_yardstick() -> None:
    assert baseline_problem(run()) is None
    assert baseline_problem(run(passed=0, failed=2, exit_code=1)) is None  # failing tests still ran
    collection = run(passed=0, errors=1, exit_code=2, test_ids=["t/test_a.py"], failing_tests=["t/test_a.py"])
    assert baseline_problem(collection) == ("the tests could not be run on the unpatched code: no test executed "
                                            "(0 passed, 1 errors, 0 skipped; collection errors in t/test_a.py)")
    assert "could not be run" in baseline_problem(TestRun(ran=False, reason="no tests were collected"))
    assert "timed out" in baseline_problem(run(timed_out=True))
    assert "no per-test report" in baseline_problem(run(junit_report=False))
    assert baseline_problem(TestRun(ran=True, exit_code=0, command=["make", "test"])) is None  # exit-code runner


def test_patched_report_must_hold_every_baseline_test() -> None:
    assert report_problems(run(), run()) == ([], [])
    reasons, _ = report_problems(run(), run(test_ids=IDS[1:], passed=2))
    assert reasons == [("1 of 3 baseline test(s) are missing from the patched run's own report (deselected, not "
                       "collected, or the run stopped before them): t/test_a.py::test_1")]
    # a narrowed run answers only for its own files
    assert report_problems(run(), run(test_ids=IDS[2:], passed=1), scope=["t/test_b.py"]) == ([], [])
    assert report_problems(run(), run(test_ids=IDS[2:], passed=1), scope=["t/test_a.py"])[0]
    # tests in a test file the patch itself edits (allow_test_edits) are flagged, not failed
    reasons, flags = report_problems(run(), run(test_ids=IDS[1:], passed=2), edited=["t/test_a.py"])
    assert reasons == [] and flags == [("1 baseline test(s) in test files the patch edits no longer run: "
                                       "t/test_a.py::test_1")]
    # a baseline collection error is not a test the patched run must report
    broken = run(test_ids=[*IDS, "t/test_c.py"], failing_tests=["t/test_c.py"], errors=1, exit_code=2)
    assert report_problems(broken, run()) == ([], [])


def test_patched_run_without_report_skips_or_passes_is_no_evidence() -> None:
    assert report_problems(run(), run(junit_report=False))[0] == [
        "the patched test run left no per-test report, so it cannot show that every test ran"]
    reasons, _ = report_problems(run(), run(skipped_tests=["t/test_b.py::test_3"], passed=2, skipped=1))
    assert reasons == ["1 test(s) that passed on the unpatched code are skipped after the patch: t/test_b.py::test_3"]
    assert report_problems(run(skipped_tests=["t/test_b.py::test_3"]),
                           run(skipped_tests=["t/test_b.py::test_3"])) == ([], [])
    zero = report_problems(run(passed=0, failed=3, exit_code=1), run(passed=0, failed=3, exit_code=1))[0]
    assert zero == [("no test passed on the patched code (3 failed, 0 errors, 0 skipped); zero passing tests is "
                    "never a pass")]


@pytest.mark.parametrize(("source", "what"), [
    ("import os\nos._exit(0)\n", "calls os._exit()"),
    ("from os import _exit as quit_now\n\ndef f():\n    quit_now(0)\n", "calls os._exit()"),
    ("import os as o\ngetattr(o, '_exit')(0)\n", "calls os._exit()"),
    ("import os\nos.__getattribute__('_e' + 'xit')(0)\n", "reads os.__getattribute__"),
    ("import sys\nsys.exit(0)\n", "calls sys.exit() at import time"),
    ("raise SystemExit(0)\n", "raises SystemExit at import time"),
    ("import atexit\natexit.register(print)\n", "calls atexit.register()"),
    ("def pytest_runtest_makereport(item, call):\n    pass\n", "defines pytest hook pytest_runtest_makereport()"),
    ("pytest_plugins = ['rig']\n", "sets pytest_plugins"),
    ("import _pytest.runner\n", "imports test-runner module _pytest.runner"),
    ("from unittest import case\ncase.TestCase.run = lambda *a: None\n", "imports test-runner module unittest"),
    ("import builtins\nbuiltins.__import__ = None\n", "assigns builtins.__import__"),
    ("import sys\nsys.modules['pytest'] = object()\n", "assigns sys.modules"),
    ("import sys\nsys.meta_path.insert(0, object())\n", "mutates sys.meta_path"),
    ("import sys\nsetattr(sys, 'exit', print)\n", "calls setattr() on sys"),
    ("import sys\nsys.excepthook = print\n", "assigns sys.excepthook"),
    ("import sys\nframe = sys._getframe(2)\n", "calls sys._getframe()"),
    ("import gc\nobjs = gc.get_objects()\n", "calls gc.get_objects()"),
    ("def f(tb):\n    return tb.tb_frame.f_locals\n", "reads .f_locals"),
    ("exec('x = 1')\n", "calls exec()"),
    ("import ctypes\n", "imports ctypes"),
    ("import os\nos.execv('/bin/true', ['true'])\n", "calls os.execv()"),
])
def test_rigging_constructs_are_found_with_their_line(source: str, what: str) -> None:
    found = find_rigging("app/mod.py", "", source)
    assert any(what in str(item) and str(item).startswith("app/mod.py:") for item in found), found


def test_ordinary_fix_code_is_not_rigging() -> None:
    fix = '''import os
import re
import shlex
import subprocess
import sys

PATTERN = re.compile(r"^[a-z]+$")


def run(command: str) -> str:
    if not PATTERN.match(command):
        raise ValueError("bad command")
    return subprocess.run(shlex.split(command), check=True, capture_output=True, text=True).stdout


def main() -> int:
    print(os.path.join("a", "b"), sys.argv[1:], os.environ.get("HOME"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''
    assert find_rigging("app/cli.py", "", fix) == []


def test_only_new_constructs_count() -> None:
    plugin = "import pytest\n\n\ndef pytest_configure(config):\n    pass\n"
    assert find_rigging("plug.py", plugin, plugin + "\nX = 1\n") == []  # a plugin project keeps its own code
    added = find_rigging("plug.py", plugin, plugin + "\n\ndef pytest_pyfunc_call(pyfuncitem):\n    return True\n")
    assert [item.what for item in added] == ["defines pytest hook pytest_pyfunc_call()"]


def test_rigging_reasons_cover_python_files_only_and_unparsable_code() -> None:
    changed = {"README.md": ("", "os._exit(0)\n"), "app/a.py": ("", "import os\nos._exit(0)\n"),
               "app/b.py": ("x = 1\n", "def (:\n")}
    assert rigging_reasons(changed) == [
        ("patched code rigs the test run (touches test-runner internals or process exit): app/a.py:2: calls "
        "os._exit() (exits the process)"),
        "app/b.py does not parse as Python (line 1), so it cannot be checked for code that rigs the test run",
    ]
