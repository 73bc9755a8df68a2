"""Security regression tests: the builtin templates (generated text, and that text really failing on the
unpatched code and passing on the fixed code under pytest), the shape a model's reply must have, and the
checks a model-written test must pass before it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.engines.builtin.regression import RegressionDecline, module_name, regression_test_source
from agent.models import Edit, Finding, Location, RegressionTest, Validation
from agent.validate.regression import refused_test_edits, regression_lines, unsafe_test_code

YAML_UNSAFE = "import yaml\n\n\ndef read_config(text):\n    return yaml.load(text, Loader=yaml.Loader)\n"
YAML_SAFE = "import yaml\n\n\ndef read_config(text):\n    return yaml.safe_load(text)\n"
SHELL_UNSAFE = ("import subprocess\n\n\ndef greet(name, loud=False):\n"
                "    return subprocess.run(f\"echo hello {name}\", shell=True, check=False)\n")
SHELL_SAFE = ("import subprocess\n\n\ndef greet(name, loud=False):\n"
              "    return subprocess.run([\"echo\", \"hello\", name], check=False)\n")


def finding_at(path: str, line: int, rule: str = "B506") -> Finding:
    return Finding(id="f" * 64, tool="bandit", rule_id=rule, message="m", location=Location(path=path,
                                                                                          start_line=line))


def run_generated(tmp_path: Path, module_text: str, test_text: str) -> subprocess.CompletedProcess:
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "mod.py").write_text(module_text)
    (tmp_path / "tests").mkdir(exist_ok=True)
    (tmp_path / "tests" / "test_reg.py").write_text(test_text)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_reg.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("fixer", "unsafe", "safe", "line"), [
    ("yaml_load", YAML_UNSAFE, YAML_SAFE, 5),
    ("shell_command", SHELL_UNSAFE, SHELL_SAFE, 5),
])
def test_builtin_template_fails_before_and_passes_after(tmp_path: Path, fixer, unsafe, safe, line) -> None:
    text = regression_test_source(fixer, finding_at("app/mod.py", line), unsafe)
    assert isinstance(text, str), text
    assert "from app.mod import" in text
    before = run_generated(tmp_path, unsafe, text)
    assert before.returncode == 1 and "1 failed" in before.stdout, before.stdout
    after = run_generated(tmp_path, safe, text)
    assert after.returncode == 0 and "1 passed" in after.stdout, after.stdout


@pytest.mark.parametrize(("source", "why"), [
    ("import yaml\n\n\nclass C:\n    def load(self, text):\n        return yaml.load(text, Loader=yaml.Loader)\n",
     "not inside a module-level function"),
    ("import yaml\n\n\ndef load(path, strict):\n    return yaml.load(path, Loader=yaml.Loader)\n",
     "needs other arguments (strict)"),
    ("import yaml\n\n\ndef load():\n    return yaml.load(open('c.yml'), Loader=yaml.Loader)\n",
     "no parameter of load reaches the flagged call"),
])
def test_builtin_template_declines_call_sites_a_test_cannot_drive(source: str, why: str) -> None:
    line = source.splitlines().index(next(s for s in source.splitlines() if "yaml.load" in s)) + 1
    made = regression_test_source("yaml_load", finding_at("app/mod.py", line), source)
    assert isinstance(made, RegressionDecline) and why in made.reason


def test_fixer_without_a_template_says_so() -> None:
    made = regression_test_source("hardcoded_secret", finding_at("app/mod.py", 1), "TOKEN = 'x'\n")
    assert isinstance(made, RegressionDecline) and "no regression test template" in made.reason


def test_module_names() -> None:
    assert module_name("app/config.py") == "app.config"
    assert module_name("src/pkg/__init__.py") == "pkg"
    assert module_name("scripts/my-tool.py") is None
    assert module_name("app/data.yml") is None


def test_a_model_reply_must_be_exactly_the_one_new_file() -> None:
    path = "tests/test_suture_regression_x.py"
    assert refused_test_edits([Edit(path=path, search="", replace="def test_a(): pass\n", create=True)],
                              path) is None
    extra = Edit(path="app/config.py", search="yaml.load", replace="yaml.safe_load")
    assert "2 edits" in refused_test_edits([Edit(path=path, search="", replace="x", create=True), extra], path)
    assert "may not edit the patch" in refused_test_edits([extra], path)
    assert "new file" in refused_test_edits([Edit(path=path, search="old", replace="new")], path)


def test_a_model_test_may_use_pytest_but_not_rig_the_run_or_read_the_code() -> None:
    ok = "import pytest\n\n@pytest.mark.parametrize('a', [1])\ndef test_a(a):\n    with pytest.raises(ValueError):\n" \
         "        int('x')\n"
    assert unsafe_test_code("tests/t.py", ok) is None
    assert "pytest.main" in unsafe_test_code("tests/t.py", "import pytest\n\ndef test_a():\n    pytest.main([])\n")
    assert "os._exit" in unsafe_test_code("tests/t.py", "import os\n\ndef test_a():\n    os._exit(0)\n")
    sniff = "from pathlib import Path\n\ndef test_a():\n    assert 'safe' in Path('app/c.py').read_text()\n"
    assert "reads files or code" in unsafe_test_code("tests/t.py", sniff)
    assert "does not parse" in unsafe_test_code("tests/t.py", "def test_a(:\n")


def test_regression_evidence_rules() -> None:
    kept = RegressionTest(path="tests/t.py", content="", source="builtin:yaml_load", before="failed",
                          after="passed", tests=["tests/t.py::test_a"], kept=True, covers_change=True)
    passed = Validation(applied=True, passed=True, regression=kept)
    assert passed.state == "validated" and passed.covering_tests == ["tests/t.py::test_a"]
    not_covering = kept.model_copy(update={"covers_change": False, "note": "kept, but not counted"})
    assert Validation(applied=True, passed=True, regression=not_covering).state == "unproven"
    assert Validation(applied=True, passed=False, regression=kept).state == "failed"
    lines = regression_lines(Validation(applied=True, passed=True, regression=not_covering))
    assert "failed on the unpatched code, passed on the patched code; kept" in lines[0]
    assert regression_lines(Validation(applied=True, regression_note="no regression test: x")) == [
        "no regression test: x"]
