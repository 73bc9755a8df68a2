"""BuiltinEngine: drafts are the fixer's output as search/replace edits; classify reports strong evidence only."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from agent.engines.base import Engine, Feedback
from agent.engines.builtin import BuiltinEngine
from agent.engines.builtin.fixers import FIXERS, fixer_named, fixers_for
from agent.models import Context, Edit
from tests.engines.builtin.helpers import line_of, make_finding

APP = textwrap.dedent('''\
    """A small service."""
    import hashlib
    import os
    import subprocess

    BACKUP = "tar -czf /tmp/backup.tgz /srv"


    def list_dir(path):
        return subprocess.check_output(f"ls -l {path}", shell=True)


    def backup(dest):
        return os.system("tar -czf " + dest + " /srv")


    def backup_default():
        return os.system(BACKUP)


    def list_dir_again(path):
        return subprocess.check_output(f"ls -l {path}", shell=True)


    def fingerprint(data):
        return hashlib.md5(data).hexdigest()


    def pipeline(path):
        return subprocess.check_output(f"cat {path} | wc -l", shell=True)
    ''')

ENGINE = BuiltinEngine()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "service.py").write_text(APP)
    return tmp_path


def context_for(finding) -> Context:
    return Context(finding_id=finding.id)


def apply_edits(text: str, edits: list[Edit]) -> str:
    for edit in edits:
        assert text.count(edit.search) == 1, f"search text not unique: {edit.search!r}"
        text = text.replace(edit.search, edit.replace, 1)
    return text


def test_engine_satisfies_the_protocol() -> None:
    assert isinstance(ENGINE, Engine)
    assert ENGINE.name == "builtin"


@pytest.mark.parametrize(
    ("marker", "rule", "cwe", "fixer"),
    [
        ('f"ls -l {path}"', "B602", (78,), "shell_command"),
        ('os.system("tar -czf "', "B605", (78,), "shell_command"),
        ("hashlib.md5(data)", "B324", (327,), "weak_hash"),
    ],
)
def test_draft_edits_reproduce_the_fixer_output(project: Path, marker: str, rule: str, cwe, fixer: str) -> None:
    finding = make_finding(line_of(APP, marker), rule, cwe, path="app/service.py")
    draft = ENGINE.draft(finding, context_for(finding), project)
    assert draft.error is None
    assert draft.model_params == {"fixer": fixer}
    expected = fixer_named(fixer).fix(APP, finding).new_source
    assert apply_edits(APP, draft.edits) == expected
    assert all(e.path == "app/service.py" and not e.create for e in draft.edits)
    assert "Review guidance:" in draft.rationale and fixer_named(fixer).review_guidance in draft.rationale
    assert (project / "app" / "service.py").read_text() == APP  # the engine never writes the tree


def test_duplicate_code_gets_context_to_stay_unique(project: Path) -> None:
    finding = make_finding(line_of(APP, "def list_dir_again") + 1, "B602", (78,), path="app/service.py")
    draft = ENGINE.draft(finding, context_for(finding), project)
    (edit,) = draft.edits
    assert "def list_dir_again(path):" in edit.search  # the bare call line occurs twice in the file
    assert apply_edits(APP, draft.edits).count('["ls", "-l", "--", str(path)]') == 1


def test_declined_fix_becomes_a_draft_error(project: Path) -> None:
    finding = make_finding(line_of(APP, "| wc -l"), "B602", (78,), path="app/service.py")
    draft = ENGINE.draft(finding, context_for(finding), project)
    assert draft.edits == []
    assert draft.error == f"shell_command: line {finding.location.start_line}: the command uses the shell operator `|`"
    assert draft.model_params == {"fixer": "shell_command"}


def test_unknown_rule_has_no_fixer(project: Path) -> None:
    finding = make_finding(3, "B110", (703,), path="app/service.py")
    assert fixers_for(finding) == []
    draft = ENGINE.draft(finding, context_for(finding), project)
    assert draft.error == "no builtin fixer handles rule B110 (CWE-703)"


def test_cwe_only_match_from_another_tool(project: Path) -> None:
    finding = make_finding(line_of(APP, 'f"ls -l {path}"'), "python.lang.security.audit.subprocess-shell-true",
                           (78,), path="app/service.py", tool="semgrep")
    draft = ENGINE.draft(finding, context_for(finding), project)
    assert draft.model_params == {"fixer": "shell_command"} and draft.edits


@pytest.mark.parametrize(
    ("path", "message"),
    [("../outside.py", "points outside the project root"), ("app/missing.py", "does not exist")],
)
def test_unreadable_paths_are_errors(project: Path, path: str, message: str) -> None:
    (project.parent / "outside.py").write_text("import os\nos.system('ls ' + x)\n")
    finding = make_finding(2, "B605", (78,), path=path)
    draft = ENGINE.draft(finding, context_for(finding), project)
    assert draft.edits == [] and message in draft.error


def test_repair_round_is_refused(project: Path) -> None:
    finding = make_finding(line_of(APP, 'f"ls -l {path}"'), "B602", (78,), path="app/service.py")
    feedback = Feedback(attempt=2, previous_reply=None, failure="tests failed: test_list")
    draft = ENGINE.draft(finding, context_for(finding), project, feedback)
    assert draft.edits == [] and "tests failed: test_list" in draft.error


def test_fixers_are_ordered_rule_id_first() -> None:
    other_tool = make_finding(1, "B324", (78,), tool="semgrep")
    assert [f.name for f in fixers_for(other_tool)] == ["hmac_signature", "weak_hash", "shell_command"]
    # bandit's rule ids are exact: a CWE shared with another bandit rule is no match; hmac_signature comes first
    # because a weak hash over key + data needs HMAC, and it declines every other MD5/SHA-1 shape
    assert [f.name for f in fixers_for(make_finding(1, "B324", (78,)))] == ["hmac_signature", "weak_hash"]
    assert fixers_for(make_finding(1, "B607", (78,))) == []  # partial executable path: a shell rewrite can't fix it
    assert [f.name for f in fixers_for(make_finding(1, "python.cmd-injection", (78,), tool="codeql"))] == [
        "shell_command"]
    assert len({f.name for f in FIXERS}) == len(FIXERS)
    assert all(f.summary and f.review_guidance and f.references for f in FIXERS)
    assert all(len(sys.modules[type(f).__module__].__doc__ or "") > 200 for f in FIXERS)  # documented class of code


def test_classify_constant_command_is_a_false_positive(project: Path) -> None:
    finding = make_finding(line_of(APP, "os.system(BACKUP)"), "B605", (78,), path="app/service.py")
    verdict = ENGINE.classify(finding, context_for(finding), project)
    assert verdict is not None and verdict.verdict == "false_positive" and verdict.source == "builtin"
    assert "BACKUP" in verdict.rationale


def test_classify_interpolated_command_has_no_opinion(project: Path) -> None:
    finding = make_finding(line_of(APP, 'f"ls -l {path}"'), "B602", (78,), path="app/service.py")
    assert ENGINE.classify(finding, context_for(finding), project) is None


def test_classify_missing_test_file_still_uses_its_path(project: Path) -> None:
    finding = make_finding(4, "B101", (703,), path="tests/test_gone.py")
    verdict = ENGINE.classify(finding, context_for(finding), project)
    assert verdict is not None and verdict.verdict == "false_positive"  # test code proves it (issue 13)
