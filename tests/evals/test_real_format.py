"""The real-case format end to end, offline: a src/-layout project from a local pinned sdist, its own tests (one
skipped on this Python), a file that never compiled on Python 3 — the reference fix passes every gate, the null
engine fixes nothing, and the gates still refuse what the tolerances must not excuse."""

from __future__ import annotations

import json
import sys

import pytest

from agent.evals import gates
from agent.evals.cases import CaseError, load_case
from agent.evals.harness import EvalSpec, eval_settings, run_eval
from agent.evals.real import prepare_case
from agent.evals.runner import case_test_command
from tests.evals.real_fixture import make_real_case

pytestmark = pytest.mark.slow


def _outcome(case, engine, out):
    run_eval([case], EvalSpec(engine=engine, workers=1, split="real"), out)
    return json.loads((out / "outcomes.jsonl").read_text().splitlines()[0])


def test_reference_fix_passes_and_null_fails_on_a_src_layout_case(tmp_path):
    folder, cache = make_real_case(tmp_path)
    case = prepare_case(load_case(folder), cache, fetch=False)
    assert case.pythonpath == ("src",)
    oracle = _outcome(case, "oracle", tmp_path / "oracle")
    assert oracle["invalid_case"] is None and oracle["fixed"], oracle["gate_details"]
    assert "failing on the original too" in oracle["gate_details"]["G1"]  # legacy/py2_helper.py
    assert "1 skipped, as at baseline" in oracle["gate_details"]["G2"]
    null = _outcome(case, "null", tmp_path / "null")
    assert null["invalid_case"] is None and not null["fixed"]


def test_the_case_pythonpath_reaches_every_test_run(tmp_path):
    folder, cache = make_real_case(tmp_path)
    case = prepare_case(load_case(folder), cache, fetch=False)
    command = case_test_command(case, case.repo)
    assert command[:3] == [sys.executable, "-m", "pytest"] and command[-3:] == ["-o", "pythonpath=src", "tests"]
    run = gates.run_exploit(case.repo, case.exploit_test, 120, case.pytest_options)
    # demolib is imported from src/ (it is installed nowhere): the test runs, and fails on the vulnerable code
    assert run.ran and [t for t in run.failed if t.endswith("test_markup_in_a_name_is_escaped")]
    without = gates.run_exploit(case.repo, case.exploit_test, 120)
    assert not [t for t in without.outcomes if t.endswith("test_markup_in_a_name_is_escaped")]  # import error
    assert eval_settings(EvalSpec(split="real")).test_timeout > eval_settings(EvalSpec()).test_timeout


def test_the_import_gate_tolerates_only_what_already_failed(tmp_path):
    folder, cache = make_real_case(tmp_path)
    case = prepare_case(load_case(folder), cache, fetch=False)
    baseline = gates.build_check(case.repo, case.pythonpath)
    assert baseline.ran and set(baseline.problems) == {"compile legacy/py2_helper.py"}
    assert gates.check_builds(case.repo, case.pythonpath, baseline).passed
    assert not gates.check_builds(case.repo, case.pythonpath).passed  # no baseline: everything must compile
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(case.repo, broken)
    (broken / "src" / "demolib" / "__init__.py").write_text("raise ImportError('gutted')\n")
    result = gates.check_builds(broken, case.pythonpath, baseline)
    assert not result.passed and "import demolib" in result.detail


def test_a_baseline_skip_may_stay_skipped_but_never_fail():
    base = gates.SuiteRun(True, {"t::a": "passed", "t::b": "skipped"})
    assert gates.suite_gate(base, gates.SuiteRun(True, {"t::a": "passed", "t::b": "skipped"}),
                            allow_baseline_skips=True).passed
    assert not gates.suite_gate(base, gates.SuiteRun(True, {"t::a": "passed", "t::b": "failed"}),
                                allow_baseline_skips=True).passed
    assert not gates.suite_gate(base, gates.SuiteRun(True, {"t::a": "skipped", "t::b": "skipped"}),
                                allow_baseline_skips=True).passed  # what passed must still pass
    assert not gates.suite_gate(base, gates.SuiteRun(True, {"t::a": "passed", "t::b": "skipped"})).passed


@pytest.mark.parametrize("paths", ['["../elsewhere"]', '["/abs"]', '["src/../.."]', '"src"', '["a b"]'])
def test_pythonpath_must_stay_inside_the_project(tmp_path, paths):
    folder, _ = make_real_case(tmp_path)
    toml = folder / "case.toml"
    toml.write_text(toml.read_text().replace('pythonpath = ["src"]', f"pythonpath = {paths}"))
    with pytest.raises(CaseError, match="pythonpath"):
        load_case(folder)
