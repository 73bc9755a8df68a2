"""Static false-positive evidence: constants, empty formatting, dead branches, non-production paths."""

from __future__ import annotations

import textwrap

import pytest

from agent.engines.builtin.evidence import Evidence, collect_evidence, path_evidence, verdict_from_evidence
from agent.models import FlowStep, Location
from tests.engines.builtin.helpers import line_of, make_finding

SOURCE = textwrap.dedent('''\
    import os
    import subprocess
    import typing

    LISTING = "ls -l"
    FLAGS = "-a"
    PREFIX = "ls "
    MUTABLE = "ls"
    MUTABLE += " -R"


    def run(user_dir, conn):
        os.system(LISTING)  # module constant
        os.system(PREFIX + FLAGS)  # constants concatenated
        os.system(f"ls {FLAGS}")  # f-string over a constant
        subprocess.run(f"uptime", shell=True)  # f-string without fields
        os.system("ls %s" % ())  # percent without values
        os.system(MUTABLE)  # rebound name
        os.system("ls " + user_dir)  # interpolated
        os.system(user_dir)  # opaque
        query = "SELECT * FROM t WHERE id = " + user_dir
        conn.execute("SELECT 1")
        local = "df -h"
        os.system(local)  # local constant
        for item in ["a"]:
            os.system(item)  # loop variable
        if False:
            os.system(user_dir)  # dead: if False
        if 0:
            os.system(user_dir)  # dead: if 0
        if typing.TYPE_CHECKING:
            os.system(user_dir)  # dead: TYPE_CHECKING
        while False:
            os.system(user_dir)  # dead: while False
        if True:
            pass
        else:
            os.system(user_dir)  # dead: else of if True
        if not True or 0:
            os.system(user_dir)  # dead: folded
        if user_dir:
            os.system(user_dir)  # live branch
    ''')


def evidence_for(marker: str, rule: str = "B605", cwe: tuple[int, ...] = (78,), path: str = "app/run.py"):
    return collect_evidence(SOURCE, make_finding(line_of(SOURCE, marker), rule, cwe, path=path), path)


def kinds(evidence: list[Evidence]) -> set[str]:
    return {e.kind for e in evidence}


@pytest.mark.parametrize(
    "marker",
    ["# module constant", "# constants concatenated", "# f-string over a constant", "# local constant",
     "# f-string without fields", "# percent without values"],
)
def test_constant_inputs_are_strong_for_injection(marker: str) -> None:
    evidence = evidence_for(marker)
    assert "constant_input" in kinds(evidence)
    verdict = verdict_from_evidence(evidence)
    assert verdict is not None and verdict.verdict == "false_positive"
    assert 0.8 <= verdict.confidence <= 0.9
    assert "constant" in verdict.rationale


@pytest.mark.parametrize("marker", ["# f-string without fields", "# percent without values"])
def test_formatting_without_fields_is_reported(marker: str) -> None:
    assert "format_without_fields" in kinds(evidence_for(marker))


@pytest.mark.parametrize("marker", ["# rebound name", "# opaque", "# loop variable"])
def test_names_that_are_not_single_constant_bindings_give_no_verdict(marker: str) -> None:
    evidence = evidence_for(marker)
    assert "constant_input" not in kinds(evidence)
    assert verdict_from_evidence(evidence) is None


def test_interpolation_supports_a_true_positive() -> None:
    evidence = evidence_for("# interpolated")
    assert [e.supports for e in evidence if e.kind == "interpolated_input"] == ["true_positive"]
    assert verdict_from_evidence(evidence) is None


def test_sql_built_on_an_assignment_line() -> None:
    evidence = evidence_for("query = ", rule="B608", cwe=(89,))
    assert "interpolated_input" in kinds(evidence)
    assert verdict_from_evidence(evidence_for('conn.execute("SELECT 1")', "B608", (89,))).verdict == "false_positive"


def test_constant_input_is_weak_for_non_injection_findings() -> None:
    evidence = evidence_for("# module constant", rule="B324", cwe=(327,))
    assert [e.strong for e in evidence if e.kind == "constant_input"] == [False]
    assert verdict_from_evidence(evidence) is None


@pytest.mark.parametrize(
    "marker",
    ["# dead: if False", "# dead: if 0", "# dead: TYPE_CHECKING", "# dead: while False",
     "# dead: else of if True", "# dead: folded"],
)
def test_dead_branches(marker: str) -> None:
    evidence = evidence_for(marker, rule="B999", cwe=())
    assert "dead_code" in kinds(evidence)
    verdict = verdict_from_evidence(evidence)
    assert verdict.verdict == "false_positive" and verdict.confidence >= 0.8


def test_live_branch_is_not_dead() -> None:
    assert "dead_code" not in kinds(evidence_for("# live branch"))


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("tests/test_api.py", "test_code"), ("pkg/api_test.py", "test_code"), ("test_x.py", "test_code"),
        ("src/conftest.py", "test_code"), ("examples/demo.py", "example_code"),
        ("vendor/lib/x.py", "vendored_code"), ("lib/third_party/y.py", "vendored_code"),
        (".venv/lib/python3.11/site-packages/z.py", "vendored_code"),
        ("app/migrations/0001_initial.py", "generated_code"), ("proto/api_pb2.py", "generated_code"),
    ],
)
def test_path_kinds(path: str, kind: str) -> None:
    assert kind in kinds(path_evidence(path))


def test_production_path_has_no_path_evidence() -> None:
    assert path_evidence("app/testimony/contest.py") == []


def test_generated_header() -> None:
    assert kinds(path_evidence("app/x.py", "# Code generated by protoc. DO NOT EDIT.\nx = 1\n")) == {
        "generated_code"}


def test_test_code_alone_is_uncertain() -> None:
    evidence = evidence_for("# opaque", path="tests/test_run.py")
    verdict = verdict_from_evidence(evidence)
    assert verdict is not None and verdict.verdict == "uncertain"
    assert "test code" in verdict.rationale


def test_data_flow_contradicts_a_constant() -> None:
    finding = make_finding(line_of(SOURCE, "# module constant"), "py/command-line-injection", (78,),
                           path="app/run.py", tool="codeql")
    finding = finding.model_copy(update={"flow": [
        FlowStep(location=Location(path="app/run.py", start_line=n)) for n in (12, 13)]})
    evidence = collect_evidence(SOURCE, finding, "app/run.py")
    assert "data_flow" in kinds(evidence)
    assert verdict_from_evidence(evidence).verdict == "uncertain"


def test_unparsable_source_still_gets_path_evidence() -> None:
    evidence = collect_evidence("def (:\n", make_finding(1, path="tests/test_x.py"), "tests/test_x.py")
    assert kinds(evidence) == {"test_code"}
