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


def test_test_modules_are_dismissed_but_shipped_test_folders_are_not() -> None:
    # issue 13: test code is one of the things that proves a finding harmless (it never runs in production)
    verdict = verdict_from_evidence(evidence_for("# interpolated", path="tests/test_run.py"))
    assert verdict is not None and verdict.verdict == "false_positive" and "test code" in verdict.rationale
    shipped = verdict_from_evidence(evidence_for("# opaque", path="numpy/testing/utils.py"))
    assert shipped is not None and shipped.verdict == "uncertain" and "may ship" in shipped.rationale


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


def verdict_of(source: str, marker: str, rule: str, cwe: tuple[int, ...], path: str = "app/x.py"):
    source = textwrap.dedent(source)
    verdict = verdict_from_evidence(collect_evidence(source, make_finding(line_of(source, marker), rule, cwe,
                                                                          path=path), path))
    return verdict.verdict if verdict is not None else None


REAL_SHAPES = {
    "sh -c list": ('import subprocess\ndef f(x):\n    subprocess.run(["sh", "-c", f"echo {x}"])\n', "B603"),
    "os.execl /bin/sh": ('import os\ndef f(cmd):\n    os.execl("/bin/sh", "sh", "-c", cmd)\n', "B606"),
    "shell on stdin": ('import subprocess\ndef f(s):\n    subprocess.run(["sh"], input=s)\n', "B603"),
    "constant call first": ('import os\ndef f(c):\n    print("go"); os.system(c)\n', "B605"),
    "list mutated": (('import subprocess\nC = ["bash", "-c"]\ndef f(x):\n    C.append(x)\n'
                     '    subprocess.run(C)\n'), "B603"),
    "wildcard": ('import os\nos.system("tar cf a.tar *")\n', "B609"),
    "check that only logs": (('OK = {"a"}\ndef f(cur, c):\n    if c not in OK:\n        print(c)\n'
                             '    cur.execute(f"SELECT {c}")\n'), "B608"),
    "name bound twice": (('OK = {"a"}\ndef f(cur, c, d):\n    if c not in OK:\n        return\n    c = d\n'
                         '    cur.execute(f"SELECT {c}")\n'), "B608"),
}


def test_real_shapes_are_never_dismissed() -> None:
    dismissed = []
    for shape, (source, rule) in REAL_SHAPES.items():
        last = source.rstrip().splitlines()[-1].strip()
        if verdict_of(source, last, rule, (78,) if rule != "B608" else (89,)) == "false_positive":
            dismissed.append(shape)
    assert dismissed == []


def test_a_shell_program_in_an_argument_list_is_evidence_for_real() -> None:
    for program in ("sh", "/bin/bash", "cmd", "powershell.exe", "python3", "node"):
        source = f'import subprocess\ndef f(x):\n    subprocess.run(["env", "A=1", "{program}", "-c", x])\n'
        evidence = collect_evidence(source, make_finding(3, "B603", (78,)), "app/x.py")
        assert [e.supports for e in evidence if e.kind == "shell_program"] == ["true_positive"], program
    plain = collect_evidence('import subprocess\ndef f(x):\n    subprocess.run(["git", "log", x])\n',
                             make_finding(3, "B603", (78,)), "app/x.py")
    assert "shell_program" not in kinds(plain) and verdict_from_evidence(plain) is None  # not proven either way


FALSE_SHAPES = {
    "placeholders": (('def f(cur, ids):\n    m = ",".join("?" * len(ids))\n'
                     '    cur.execute(f"SELECT * FROM t WHERE id IN ({m})", ids)\n'), "B608"),
    "allow-list exits": (('OK = {"a", "b"}\ndef f(cur, c):\n    if c not in OK:\n        raise ValueError(c)\n'
                         '    cur.execute(f"SELECT {c} FROM t")\n'), "B608"),
    "inside allow-list": ('OK = ("a",)\ndef f(cur, c):\n    if c in OK:\n        cur.execute("SELECT " + c)\n',
                          "B608"),
    "int only": ('import os\ndef f(p):\n    os.system(f"kill {int(p)}")\n', "B605"),
    "constant table": ('import os\nT = {"a": "ls"}\ndef f(k):\n    os.system(T[k])\n', "B605"),
    "either constant": ('import os\nos.system("cls" if os.name == "nt" else "clear")\n', "B605"),
    "safe loader": ('import yaml\ndef f(t):\n    return yaml.load(t, Loader=yaml.SafeLoader)\n', "B506"),
    "not for security": ('import hashlib\ndef f(b):\n    return hashlib.md5(b, usedforsecurity=False).hexdigest()\n',
                         "B324"),
    "sleep jitter": ('import random, time\ndef f():\n    time.sleep(random.uniform(0, 1))\n', "B311"),
}


@pytest.mark.parametrize("shape", sorted(FALSE_SHAPES))
def test_proven_false_positive_shapes_are_dismissed(shape: str) -> None:
    source, rule = FALSE_SHAPES[shape]
    last = source.rstrip().splitlines()[-1].strip()
    cwe = {"B608": (89,), "B506": (20,), "B324": (327,), "B311": (330,)}.get(rule, (78,))
    assert verdict_of(source, last, rule, cwe) == "false_positive"


def test_a_live_credential_is_never_dismissed_even_in_tests() -> None:
    token = "ghp_" + "9fK2mQ7xLp4Rt8vW1zY6bN3cH5jD0sA2eG7u"
    source = f'TOKEN = "{token}"\n'
    assert verdict_of(source, "TOKEN", "B105", (259,), path="tests/test_api.py") != "false_positive"
    assert verdict_of('TOKEN = "ghp_' + "x" * 36 + '"\n', "TOKEN", "B105", (259,), path="tests/test_api.py") == (
        "false_positive")  # a placeholder is no credential
