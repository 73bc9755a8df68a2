"""The three validation states end to end, through the real `suture` entry point (issue 14's done-when):

(a) a repo with no tests: a correct builtin fix is *unproven*, approvable without --override, and says "no test
    covers this change" in review show, the export commit, the PR text and SARIF;
(b) tests that never reach the change: not validated, even though the suite passes; a model-written regression
    test that passes on the unpatched code proves nothing and is discarded with a note;
(c) the LLM engine (scripted model server) writes a regression test that fails before and passes after: the
    patch is validated by it, and the export carries the test as a commit of its own, which can be left out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git
from tests.fakes.openai_server import ScriptedOpenAIServer, reply, respond_with
from tests.test_e2e import find, suture

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # many sandboxed pytest runs each; a loaded machine

NO_TESTS = "no test covers this change"
CONFIG = "import yaml\n\n\ndef read_config(text):\n    return yaml.load(text, Loader=yaml.Loader)\n"
FIX = """The loader builds Python objects from tags; safe_load does not.

app/config.py
<<<<<<< SEARCH
    return yaml.load(text, Loader=yaml.Loader)
=======
    return yaml.safe_load(text)
>>>>>>> REPLACE
"""
PROVING_TEST = """A document with a Python tag must be refused.

{path}
<<<<<<< SEARCH
=======
import pytest
import yaml

from app.config import read_config


def test_python_tag_is_refused():
    with pytest.raises(yaml.YAMLError):
        read_config("!!python/tuple [1, 2]")


def test_plain_yaml_still_loads():
    assert read_config("a: 1") == {{"a": 1}}
>>>>>>> REPLACE
"""
NOTHING_PROVEN = """Plain YAML loads.

{path}
<<<<<<< SEARCH
=======
from app.config import read_config


def test_plain_yaml_loads():
    assert read_config("a: 1") == {{"a": 1}}
>>>>>>> REPLACE
"""


def make_repo(root: Path, with_tests: bool) -> Path:
    repo = root / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "__init__.py").write_text("")
    (repo / "app" / "config.py").write_text(CONFIG)
    (repo / "app" / "maths.py").write_text("def add(a, b):\n    return a + b\n")
    if with_tests:  # a suite that passes and never reaches app/config.py
        (repo / "tests").mkdir()
        (repo / "tests" / "test_maths.py").write_text(
            "from app.maths import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "initial")
    return repo


def yaml_finding(repo: Path) -> dict:
    suture(repo, "scan", "--tool", "bandit")
    return find(json.loads(suture(repo, "triage", "--format", "json").stdout), "bandit", "B506", "app/config.py")


def shown(repo: Path, pid: str) -> tuple[str, dict]:
    text = suture(repo, "review", "show", pid).stdout
    return text, json.loads(suture(repo, "review", "show", pid, "--format", "json").stdout)["proposal"]


def scripted_model(regression_reply: str):
    """A model that calls the finding real, fixes it with FIX and answers the regression-test prompt with
    `regression_reply` (formatted with the test path the prompt asks for)."""
    def answer(request):
        body = request.json
        system = body["messages"][0]["content"]
        if "response_format" in body:
            return reply(json.dumps({"verdict": "true_positive", "confidence": 0.9,
                                     "rationale": "untrusted text reaches yaml.load with the unsafe loader"}))
        if "security regression test" in system:
            user = body["messages"][-1]["content"]
            path = user.split("as one new file at ", 1)[1].split(".py", 1)[0] + ".py"
            return reply(regression_reply.format(path=path))
        return reply(FIX)
    return answer


def fix_with_model(repo: Path, finding: dict, regression_reply: str) -> tuple[dict, list]:
    env = {"OPENAI_API_KEY": "sk-test"}
    with ScriptedOpenAIServer() as server:
        server.enqueue(*[respond_with(scripted_model(regression_reply))] * 3)
        out = json.loads(suture(repo, "fix", "--finding", finding["id"], "--model", "openai/test-model",
                                "--api-base", server.base_url, "--format", "json", env=env).stdout)
        return out[0], list(server.requests)


def test_a_no_tests_builtin_fix_is_unproven_and_says_so_everywhere(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, with_tests=False)
    finding = yaml_finding(repo)
    fixed = json.loads(suture(repo, "fix", "--finding", finding["id"], "--format", "json").stdout)[0]
    assert fixed["state"] == "unproven" and fixed["summary"].startswith(NO_TESTS)
    text, proposal = shown(repo, fixed["id"])
    assert NO_TESTS in text
    assert proposal["validation"]["regression"] is None
    assert "no tests folder" in proposal["validation"]["regression_note"]

    suture(repo, "review", "approve", fixed["id"], "--reviewer", "Ann Reviewer")  # no --override needed
    suture(repo, "export", fixed["id"], "--to", "patch")
    exports = repo / ".suture" / "exports"
    patch = next(exports.glob("suture-*.patch")).read_text()
    assert f"UNPROVEN: {NO_TESTS}" in patch and "OVERRIDE" not in patch
    assert patch.count("Subject: [PATCH") == 1  # no regression test commit
    assert f"**Unproven:** {NO_TESTS}" in next(exports.glob("*-pr.md")).read_text()
    sarif = json.loads(suture(repo, "sarif").stdout)
    fixes = [fx for run in sarif["runs"] for r in run["results"] for fx in r.get("fixes", [])]
    assert [fx["properties"]["suture/validation"] for fx in fixes] == ["unproven"]
    assert f"UNPROVEN: {NO_TESTS}" in fixes[0]["description"]["text"]


def test_b_tests_that_never_reach_the_change_do_not_validate_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, with_tests=True)
    finding = yaml_finding(repo)
    proposal, requests = fix_with_model(repo, finding, NOTHING_PROVEN)
    assert len(requests) == 3  # verdict, fix, regression test: a call of its own
    assert proposal["state"] == "unproven", proposal
    text, stored = shown(repo, proposal["id"])
    assert NO_TESTS in text and "passes on the unpatched code, so it proves nothing" in text
    regression = stored["validation"]["regression"]
    assert regression["before"] == "passed" and not regression["kept"]
    assert "passes on the unpatched code, so it proves nothing" in regression["note"]
    assert stored["validation"]["coverage"]["tests"] == []  # the suite ran and passed, yet never reached the fix
    assert stored["validation"]["patched"]["passed"] >= 1


def test_c_model_regression_test_validates_the_fix_and_is_exported_apart(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, with_tests=True)
    finding = yaml_finding(repo)
    proposal, requests = fix_with_model(repo, finding, PROVING_TEST)
    prompt = requests[-1].messages[-1]["content"]
    assert "yaml.safe_load(text)" in prompt, "the regression-test prompt shows the drafted fix"
    assert proposal["state"] == "validated", proposal
    text, stored = shown(repo, proposal["id"])
    regression = stored["validation"]["regression"]
    assert f"regression test {regression['path']}" in text and "def test_python_tag_is_refused" in text
    assert regression["kept"] and regression["covers_change"], regression
    assert (regression["before"], regression["after"]) == ("failed", "passed")
    assert regression["tests"] == [f"{regression['path']}::test_python_tag_is_refused"]
    assert regression["path"].startswith("tests/test_suture_regression_")
    assert "+++ b/" + regression["path"] not in stored["diff"], "the test is not part of the patch"

    suture(repo, "review", "approve", proposal["id"], "--reviewer", "Mo")
    branch = json.loads(suture(repo, "export", proposal["id"], "--format", "json").stdout)[0]["branch"]
    subjects = git(repo, "log", "--format=%s", f"main..{branch}").splitlines()
    assert len(subjects) == 2 and subjects[0].startswith("test(security): regression test for B506")
    assert git(repo, "show", "--name-only", "--format=", branch).split() == [regression["path"]]
    assert git(repo, "show", "--name-only", "--format=", f"{branch}~1").split() == ["app/config.py"]
    fix_message = git(repo, "log", "-1", "--format=%B", f"{branch}~1")
    assert "in its own commit" in fix_message and "Reviewed-by: Mo" in fix_message
    pr = next((repo / ".suture" / "exports").glob("*-pr.md")).read_text()
    assert "## Security regression test" in pr and "test_python_tag_is_refused" in pr

    # the reviewer can leave the test out: the patch file then holds the fix alone, and says so
    out = tmp_path / "patches"
    suture(repo, "export", proposal["id"], "--to", "patch", "--out", str(out), "--without-regression-test")
    patch = next(out.glob("suture-*.patch")).read_text()
    assert patch.count("Subject: [PATCH") == 1 and regression["path"] not in patch.split("\n---\n", 1)[1]
    assert "left out of this export" in patch


def test_repair_round_sees_the_regression_test_that_still_fails(tmp_path: Path) -> None:
    """A patch the re-scan accepts (`yaml.unsafe_load` is not B506) but whose own regression test still fails on
    the patched code goes back to the model with that result; the repaired patch is validated by a new test."""
    repo = make_repo(tmp_path, with_tests=True)
    finding = yaml_finding(repo)
    incomplete = FIX.replace("    return yaml.safe_load(text)", "    return yaml.unsafe_load(text)")
    answer = scripted_model(PROVING_TEST)

    def model(request):
        system = request.json["messages"][0]["content"]
        if "security regression test" not in system and "response_format" not in request.json \
                and "repair round" not in system:
            return reply(incomplete)  # the first draft
        return answer(request)

    with ScriptedOpenAIServer() as server:
        server.enqueue(*[respond_with(model)] * 5)
        out = json.loads(suture(repo, "fix", "--finding", finding["id"], "--model", "openai/test-model",
                                "--api-base", server.base_url, "--format", "json",
                                env={"OPENAI_API_KEY": "sk-test"}).stdout)[0]
        requests = list(server.requests)
    assert len(requests) == 5  # verdict, draft, its test, repair, the repaired patch's test
    repair_prompt = requests[3].messages[-1]["content"]
    assert "## The security regression test" in repair_prompt
    assert "was failed on the unpatched code and failed on the patched code" in repair_prompt
    assert out["state"] == "validated", out
    _text, stored = shown(repo, out["id"])
    assert "yaml.safe_load(text)" in stored["diff"] and stored["validation"]["regression"]["kept"]
