"""The test runner against real pytest subprocesses in tmp projects: outcomes, timeouts, process groups, env."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from agent.models import TestRun
from agent.validate.junit import JUnitError, parse_junit
from agent.validate.runner import (
    TestCommandError,
    compare_runs,
    detect_test_command,
    is_pytest_command,
    parse_test_command,
    run_tests,
    scrubbed_env,
)

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def make_project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return root


def pid_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (an orphan's zombie may wait for a non-reaping init)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.joinpath("self", "stat").exists():
        try:
            text = stat.read_text()
        except OSError:
            return False
        return text[text.rfind(")") + 2 :].split()[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_passing_suite(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"tests/test_ok.py": """
        import pytest
        def test_one(): assert 1 + 1 == 2
        def test_two(): assert "a".upper() == "A"
        @pytest.mark.skip(reason="not today")
        def test_skipped(): assert False
    """})
    run = run_tests(PYTEST, project, timeout=60)
    assert run.ran and run.ok and not run.timed_out
    assert (run.exit_code, run.passed, run.failed, run.errors, run.skipped) == (0, 2, 0, 0, 1)
    assert run.failing_tests == []
    assert run.command == PYTEST
    assert "2 passed, 1 skipped" in run.log
    assert not list(project.rglob("*.xml"))  # the JUnit report lives outside the project


def test_failures_and_errors_are_named(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"tests/test_mix.py": """
        import pytest
        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")
        def test_good(): pass
        def test_bad(): assert 2 + 2 == 5
        def test_uses_broken(broken): pass
        class TestGroup:
            @pytest.mark.parametrize("n", [1, 2])
            def test_param(self, n): assert n == 1
    """})
    run = run_tests(PYTEST, project, timeout=60)
    assert run.ran and not run.ok and run.exit_code == 1
    assert (run.passed, run.failed, run.errors) == (2, 2, 1)
    assert run.failing_tests == [
        "tests/test_mix.py::test_bad",
        "tests/test_mix.py::test_uses_broken",
        "tests/test_mix.py::TestGroup::test_param[2]",
    ]


def test_collection_error_counts_as_an_error_not_a_pass(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"tests/test_ok.py": "def test_ok(): pass\n",
                                      "tests/test_broken.py": "import module_that_does_not_exist\n"})
    run = run_tests(PYTEST, project, timeout=60)
    assert run.ran and not run.ok and run.exit_code == 2
    assert run.errors == 1
    assert run.failing_tests == ["tests/test_broken.py"]


@pytest.mark.skipif(shutil.which("sleep") is None, reason="needs the sleep command")
@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_hanging_test_is_killed_with_its_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    project = make_project(tmp_path / "proj", {"tests/test_hang.py": """
        import os, subprocess, time
        def test_hangs():
            child = subprocess.Popen(["sleep", "60"])
            with open(os.environ["CHILD_PID_FILE"], "w") as handle:
                handle.write(str(child.pid))
            time.sleep(60)
    """})
    # 15 s: time enough for pytest to start the test on a loaded machine; the test itself would take 60 s
    run = run_tests(PYTEST, project, timeout=15, kill_grace=1, env_extra={"CHILD_PID_FILE": str(pid_file)})
    assert run.ran and run.timed_out and not run.ok
    assert run.duration_s < 55
    assert "timed out after 15s" in run.log
    child = int(pid_file.read_text())
    assert not pid_running(child)


def test_processes_that_ignore_sigterm_get_sigkill(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = textwrap.dedent(f"""
        import signal, subprocess, sys, time
        ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
        child = subprocess.Popen([sys.executable, "-c", ignore])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(60)
    """)
    run = run_tests([sys.executable, "-c", script], tmp_path, timeout=1.5, kill_grace=0.5)
    assert run.timed_out and not run.ok
    assert run.exit_code == -9
    assert not pid_running(int(pid_file.read_text()))


@pytest.mark.skipif(shutil.which("sleep") is None, reason="needs the sleep command")
def test_leftover_children_are_killed_after_a_normal_exit(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    project = make_project(tmp_path / "proj", {"tests/test_spawn.py": """
        import os, subprocess
        def test_spawns_and_passes():
            child = subprocess.Popen(["sleep", "60"])
            with open(os.environ["CHILD_PID_FILE"], "w") as handle:
                handle.write(str(child.pid))
    """})
    run = run_tests(PYTEST, project, timeout=60, env_extra={"CHILD_PID_FILE": str(pid_file)})
    assert run.ok and run.passed == 1
    assert not pid_running(int(pid_file.read_text()))
    assert "leftover process" in run.log


def test_missing_and_non_executable_commands_did_not_run(tmp_path: Path) -> None:
    run = run_tests(["suture-no-such-test-command"], tmp_path, timeout=10)
    assert not run.ran and not run.ok
    assert run.reason == "test command not found: suture-no-such-test-command"
    script = tmp_path / "run_tests.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    run = run_tests(["./run_tests.sh"], tmp_path, timeout=10)
    assert not run.ran and run.reason.startswith("test command not executable")
    run = run_tests(PYTEST, tmp_path / "missing-dir", timeout=10)
    assert not run.ran and "does not exist" in run.reason


def test_shell_style_missing_command_exit_127_is_not_a_run(tmp_path: Path) -> None:
    run = run_tests("sh -c 'suture-no-such-tool --check'", tmp_path, timeout=10)
    assert not run.ran and run.exit_code == 127
    assert run.reason.startswith("test command not found (exit 127)")


def test_no_tests_collected_is_not_a_run(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"tests/test_nothing.py": "VALUE = 1\n"})
    run = run_tests(PYTEST, project, timeout=60)
    assert not run.ran and not run.ok
    assert run.exit_code == 5
    assert run.reason == "no tests were collected"


def test_pytest_usage_error_is_not_a_run(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"tests/test_ok.py": "def test_ok(): pass\n"})
    run = run_tests([*PYTEST, "--suture-no-such-option"], project, timeout=60)
    assert not run.ran and run.exit_code == 4
    assert run.reason.startswith("pytest usage error (exit 4)")
    assert "--suture-no-such-option" in run.reason


def test_credentials_are_scrubbed_from_the_test_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planted = {"MY_API_KEY": "sk-planted", "GITHUB_TOKEN": "ghp-planted", "OPENAI_BASE_URL": "http://x",
               "DB_PASSWORD": "hunter2", "AWS_REGION": "eu-west-1", "SUTURE_API_BASE": "http://y",
               "LITELLM_LOG": "DEBUG", "GIT_DIR": "/elsewhere/.git"}
    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NOT_ALLOWED", "withheld")  # not a credential by name, but not on the allow-list
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")
    project = make_project(tmp_path, {"tests/test_env.py": f"""
        import os
        def test_environment():
            print(sorted(os.environ))
            leaked = [name for name in {sorted(planted)!r} if name in os.environ]
            assert leaked == []
            assert "NOT_ALLOWED" not in os.environ
            assert os.environ["PYTHONIOENCODING"] == "utf-8"
            assert os.environ["EXTRA_FOR_TEST"] == "given"
            assert os.environ.get("PATH")
    """})
    run = run_tests([*PYTEST, "-s"], project, timeout=60, env_extra={"EXTRA_FOR_TEST": "given"})
    assert run.ok and run.passed == 1, run.log
    assert "PYTHONIOENCODING" in run.log and "MY_API_KEY" not in run.log


def test_scrubbed_env_rules() -> None:
    base = {"PATH": "/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "PYTHONPATH": "src", "AUTH_HEADER": "x",
            "Secret_Thing": "x", "AZURE_CLIENT_ID": "x", "GITLAB_HOST": "x", "ANTHROPIC_MODEL": "x",
            "PASSWD_FILE": "x", "GOOGLE_APPLICATION_CREDENTIALS": "x", "PYTEST_CURRENT_TEST": "t.py::t",
            "LC_ALL": "C", "GH_PAT": "x", "DATABASE_URL": "postgres://u:pw@db/x", "DJANGO_SETTINGS_MODULE": "s",
            "PYTEST_ADDOPTS": "-p evil"}
    env = scrubbed_env({"ADDED": "1"}, base=base)
    assert env == {"PATH": "/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "PYTHONPATH": "src", "LC_ALL": "C",
                   "ADDED": "1"}
    assert scrubbed_env(base=base, allow=["DJANGO_*"])["DJANGO_SETTINGS_MODULE"] == "s"  # configured: test_env


def test_other_runners_are_judged_by_exit_code(tmp_path: Path) -> None:
    passed = run_tests([sys.executable, "-c", "print('all good')"], tmp_path, timeout=30)
    assert passed.ran and passed.ok and passed.failing_tests == [] and passed.passed == 0
    assert "all good" in passed.log
    failed = run_tests([sys.executable, "-c", "import sys; sys.exit(3)"], tmp_path, timeout=30)
    assert failed.ran and not failed.ok and failed.exit_code == 3 and failed.reason is None


def test_output_is_bounded_to_head_and_tail(tmp_path: Path) -> None:
    script = "import sys\nprint('FIRST-LINE')\nfor i in range(100000): print('filler', i)\nprint('LAST-LINE')"
    run = run_tests([sys.executable, "-c", script], tmp_path, timeout=30, log_limit=8192)
    assert run.ok
    assert run.log.startswith("FIRST-LINE")
    assert run.log.rstrip().endswith("LAST-LINE")
    assert "bytes of output omitted" in run.log
    assert len(run.log) < 8192 + 200


def test_pytest_counts_without_junit_come_from_the_summary(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"tests/test_mix.py": """
        def test_good(): pass
        def test_bad(): assert False
    """})
    run = run_tests(PYTEST, project, timeout=60, junit=False)
    assert (run.passed, run.failed) == (1, 1)
    assert run.failing_tests == ["tests/test_mix.py::test_bad"]


def test_parse_test_command() -> None:
    assert parse_test_command("python -m pytest -k 'not slow'") == ["python", "-m", "pytest", "-k", "not slow"]
    assert parse_test_command(("make", "test")) == ["make", "test"]
    with pytest.raises(TestCommandError, match="empty"):
        parse_test_command("   ")
    with pytest.raises(TestCommandError, match="cannot be parsed"):
        parse_test_command("pytest -k 'unclosed")
    assert is_pytest_command(["uv", "run", "pytest", "-x"])
    assert is_pytest_command(["/venv/bin/python", "-m", "pytest"])
    assert not is_pytest_command(["make", "test"])
    assert not is_pytest_command(["python", "-m", "unittest"])


@pytest.mark.parametrize("files", [
    {"tests/helpers.py": "X = 1\n"},
    {"src/pkg/test_core.py": "def test_x(): pass\n"},
    {"pkg/core_test.py": "def test_x(): pass\n"},
    {"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"},
    {"setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\ntestpaths = checks\n"},
    {"tox.ini": "[tox]\nenvlist = py311\n[pytest]\nminversion = 7\n"},
    {"pytest.ini": "[pytest]\n"},
])
def test_detect_pytest_projects(tmp_path: Path, files: dict[str, str]) -> None:
    project = make_project(tmp_path, {"app.py": "print(1)\n", **files})
    assert detect_test_command(project) == PYTEST


def test_detect_nothing_without_tests(tmp_path: Path) -> None:
    project = make_project(tmp_path, {
        "app.py": "print(1)\n",
        "pyproject.toml": "[project]\nname = 'x'\n[tool.ruff]\nline-length = 100\n",
        "setup.cfg": "[metadata]\nname = x\n",
        "node_modules/pkg/test_vendored.py": "def test_x(): pass\n",
        ".venv/lib/test_site.py": "def test_x(): pass\n",
        "docs/testing.md": "run the tests\n",
    })
    assert detect_test_command(project) is None


def test_parse_junit_generic_report(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text("""<?xml version="1.0"?>
        <testsuites><testsuite name="suite" tests="5">
          <testcase classname="pkg.CalcTest" name="test_add"/>
          <testcase classname="pkg.CalcTest" name="test_div"><failure message="boom"/></testcase>
          <testcase classname="pkg.CalcTest" name="test_io"><error message="setup"/></testcase>
          <testcase classname="pkg.CalcTest" name="test_net"><skipped/></testcase>
          <testcase classname="pkg.CalcTest" name="test_both"><failure/><error/></testcase>
        </testsuite></testsuites>""")
    summary = parse_junit(report)
    assert (summary.passed, summary.failed, summary.errors, summary.skipped) == (1, 2, 1, 1)
    assert summary.failing == ["pkg.CalcTest::test_div", "pkg.CalcTest::test_io", "pkg.CalcTest::test_both"]


def test_parse_junit_rejects_empty_and_broken_reports(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_text("")
    with pytest.raises(JUnitError, match="empty"):
        parse_junit(empty)
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuite><testcase")
    with pytest.raises(JUnitError, match="not valid XML"):
        parse_junit(broken)
    with pytest.raises(JUnitError, match="cannot be read"):
        parse_junit(tmp_path / "missing.xml")


def _run(**fields: object) -> TestRun:
    return TestRun(**{"ran": True, "exit_code": 0, **fields})


def test_compare_runs() -> None:
    baseline = _run(exit_code=1, failing_tests=["t.py::old_failure"])
    patched = _run(exit_code=1, failing_tests=["t.py::old_failure", "t.py::new_failure"])
    assert compare_runs(baseline, patched) == ["t.py::new_failure"]
    assert compare_runs(baseline, _run(exit_code=1, failing_tests=["t.py::old_failure"])) == []
    assert compare_runs(_run(), _run()) == []

    no_baseline = TestRun(ran=False, reason="no tests were collected")
    notes = compare_runs(no_baseline, _run(exit_code=1, failing_tests=["t.py::x"]))
    assert notes[0].startswith("<baseline test run did not run (no tests were collected)")
    assert notes[1:] == ["t.py::x"]
    assert compare_runs(no_baseline, _run()) == []

    broken = compare_runs(_run(), TestRun(ran=False, reason="test command not found: tox"))
    assert broken == ["<patched test run did not run: test command not found: tox>"]
    timed_out = compare_runs(_run(), _run(exit_code=-9, timed_out=True, duration_s=30.0))
    assert timed_out == ["<patched test run timed out after 30s>"]
    exit_only = compare_runs(_run(), _run(exit_code=2))
    assert exit_only == ["<test command failed after the patch: exit 2 (baseline exit 0)>"]


def test_pytest_that_dies_before_any_test_is_not_run(tmp_path):
    """A pytest that exits non-zero having run nothing (e.g. not installed) is 'not run', never a result."""
    (tmp_path / "test_a.py").write_text("def test_a():\n    assert True\n")
    # `python -m pytest` finds this module first (cwd leads sys.path): a stand-in for a missing/broken pytest
    (tmp_path / "pytest.py").write_text("import sys\nprint('No module named pytest', file=sys.stderr)\nsys.exit(1)\n")
    run = run_tests([sys.executable, "-m", "pytest", "-q"], tmp_path, timeout=30)
    assert run.ran is False
    assert "before running any test" in run.reason and "No module named pytest" in run.reason


def test_exit_zero_before_pytest_reports_is_not_a_run(tmp_path: Path) -> None:
    """Code under test that ends the process with exit 0 at import leaves no report: nothing was learned."""
    project = make_project(tmp_path, {"app.py": "import os\nos._exit(0)\n",
                                      "tests/test_app.py": "import app\n\ndef test_app():\n    assert False\n"})
    run = run_tests(PYTEST, project, timeout=60)
    assert run.exit_code == 0 and run.ran is False and not run.ok
    assert run.reason.startswith("pytest exited 0 without writing its per-test report")


def test_report_lists_every_test_id_and_skips(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"tests/test_ok.py": """
        import pytest
        def test_one(): pass
        @pytest.mark.skip(reason="not today")
        def test_skipped(): pass
        class TestK:
            def test_two(self): assert False
    """})
    run = run_tests(PYTEST, project, timeout=60)
    assert run.junit_report
    assert run.test_ids == ["tests/test_ok.py::test_one", "tests/test_ok.py::test_skipped",
                            "tests/test_ok.py::TestK::test_two"]
    assert run.skipped_tests == ["tests/test_ok.py::test_skipped"]
    printed = run_tests(PYTEST, project, timeout=60, junit=False)
    assert not printed.junit_report and printed.test_ids == []  # counts read from output are not a report
