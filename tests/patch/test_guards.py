"""Every guard refuses before anything is written, with the rule in the message."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from agent.models import Edit
from agent.patch import GuardConfig, GuardError, apply_edits


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else b"<dir/link>")
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src/app.py").write_text("x = 1\n")
    (root / ".git").mkdir()
    (root / ".git/config").write_text("[core]\n")
    (root / "tests").mkdir()
    (root / "tests/test_app.py").write_text("def test_x():\n    assert True\n")
    return root


def refused(root: Path, edits: list[Edit], pattern: str, config: GuardConfig | None = None) -> None:
    before = snapshot(root)
    with pytest.raises(GuardError, match=pattern):
        apply_edits(root, edits, config)
    assert snapshot(root) == before


def create(path: str, text: str = "pwned\n") -> Edit:
    return Edit(path=path, search="", replace=text, create=True)


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("../outside.py", r"contains '\.\.'; paths must stay inside the repository"),
        ("src/../../outside.py", r"contains '\.\.'"),
        ("/etc/passwd", r"is absolute"),
        ("C:/Windows/x.py", r"is absolute"),
        ("~/.bashrc", r"starts with '~'"),
        ("src\\app.py", r"uses backslashes"),
        ("src/a\x00.py", r"contains a NUL byte"),
        ("src//app.py", r"is not normalized"),
        ("src/a\nb.py", r"contains control characters"),
        ("src/" + "x" * 300 + ".py", r"cannot be checked: File name too long"),
        (".git/config", r"is inside \.git/, which edits may never touch"),
        ("sub/.GIT/hooks/pre-commit", r"is inside \.GIT/"),
        (".suture/suture.db", r"is inside \.suture/"),
        ("deep/er/.Suture/x", r"is inside \.Suture/"),
        ("src", r"is a directory"),
    ],
)
def test_bad_paths_are_refused(repo: Path, path: str, pattern: str) -> None:
    refused(repo, [create(path)], pattern)


def test_symlink_to_outside_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("s = 1\n")
    os.symlink(outside, repo / "linked")
    refused(
        repo, [Edit(path="linked/secret.py", search="s = 1\n", replace="s = 2\n")], r"outside the repository"
    )
    assert (outside / "secret.py").read_text() == "s = 1\n"


def test_symlinked_file_inside_root_is_refused_with_real_path_hint(repo: Path) -> None:
    os.symlink("app.py", repo / "src/alias.py")
    refused(
        repo,
        [Edit(path="src/alias.py", search="x = 1\n", replace="x = 2\n")],
        r"goes through the symlink src/alias\.py -> app\.py; edit the file at its real path",
    )


def test_binary_target_and_binary_replacement(repo: Path) -> None:
    (repo / "src/blob.py").write_bytes(b"x = 1\n\x00\x01")
    refused(
        repo, [Edit(path="src/blob.py", search="x = 1\n", replace="y\n")], r"src/blob\.py is a binary file"
    )
    refused(repo, [Edit(path="src/app.py", search="x = 1\n", replace="x = '\x00'\n")], r"contains NUL bytes")


def test_file_and_hunk_caps(repo: Path) -> None:
    config = GuardConfig(max_files=2, max_hunks=3)
    refused(repo, [create(f"src/n{i}.py") for i in range(3)], r"^the edits touch 3 files; at most 2", config)
    edits = [Edit(path="src/app.py", search="x = 1\n", replace="x = 2\n")] * 4
    refused(repo, edits, r"^the reply has 4 edit blocks; at most 3 are allowed", config)


def test_new_files_can_be_forbidden(repo: Path) -> None:
    refused(
        repo, [create("src/new.py")], r"creating new files is not allowed", GuardConfig(allow_new_files=False)
    )


@pytest.mark.parametrize("path", ["tests/test_app.py", "src/test_util.py", "src/util_test.py"])
def test_test_files_refused_unless_allowed_then_flagged(repo: Path, path: str) -> None:
    refused(repo, [create(path) if path != "tests/test_app.py" else _edit_test()], r"is a test file")
    edit = create(path) if path != "tests/test_app.py" else _edit_test()
    result = apply_edits(repo, [edit], GuardConfig(allow_test_edits=True))
    assert f"edits test file {path}" in result.flags
    assert path in result.changed


def _edit_test() -> Edit:
    return Edit(path="tests/test_app.py", search="    assert True\n", replace="    assert 1\n")


def test_ordinary_file_passes_every_guard(repo: Path) -> None:
    result = apply_edits(repo, [Edit(path="src/app.py", search="x = 1\n", replace="x = 2\n")])
    assert result.flags == []
    assert (repo / "src/app.py").read_text() == "x = 2\n"


HARNESS_PATHS = [
    "pytest.ini", "sub/pkg/.pytest.ini", "tox.ini", "noxfile.py", ".coveragerc", "conftest.py", "src/conftest.py",
    "deep/er/CONFTEST.py", "sitecustomize.py", "src/usercustomize.py", "src/evil.pth", "setup.py", "Makefile",
    "build/rules.mk", ".github/workflows/ci.yml", ".github/actions/x/action.yml", ".gitlab-ci.yml",
    ".circleci/config.yml", "azure-pipelines.yml", "Jenkinsfile", ".pre-commit-config.yaml", ".envrc",
    "jest.config.js",
]


@pytest.mark.parametrize("path", HARNESS_PATHS)
def test_harness_files_refused_even_with_test_edits_allowed(repo: Path, path: str) -> None:
    for config in (None, GuardConfig(allow_test_edits=True)):
        refused(repo, [create(path)], r"not the patch's to change \(allow_harness_edits is off", config)


def test_harness_edit_allowed_by_setting_is_flagged(repo: Path) -> None:
    result = apply_edits(repo, [create(".github/workflows/ci.yml", "on: push\n")],
                         GuardConfig(allow_harness_edits=True))
    assert result.flags == [("edits CI configuration (.github/) .github/workflows/ci.yml (allowed by "
                            "allow_harness_edits)"), "creates new file .github/workflows/ci.yml"]
    for path in ("src/setup_helpers.py", "src/github.py", "docs/makefile_notes.md", "src/conftest_utils.py"):
        assert apply_edits(repo, [create(path)], write=False).flags == [f"creates new file {path}"]


PYPROJECT = """[project]
name = "demo"
version = "1.0"
dependencies = ["requests==2.19.0"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""


def _pyproject(repo: Path, text: str = PYPROJECT) -> None:
    (repo / "pyproject.toml").write_text(text)


@pytest.mark.parametrize(("search", "replace", "where"), [
    ('testpaths = ["tests"]', 'testpaths = ["tests"]\naddopts = "-p evil_plugin"',
     "[tool.pytest.ini_options] addopts"),
    ('[project]', '[build-system]\nrequires = ["evil"]\n\n[project]', "[build-system]"),
    ('dependencies = ["requests==2.19.0"]',
     'dependencies = ["requests==2.19.0"]\n[project.entry-points.pytest11]\nevil = "evil_plugin"',
     "[project.entry-points.pytest11] evil"),
    ('[tool.pytest.ini_options]', '[tool.coverage.run]\nbranch = true\n\n[tool.pytest.ini_options]',
     "[tool.coverage.run] branch"),
])
def test_pyproject_changes_beyond_dependencies_are_refused(repo: Path, search: str, replace: str,
                                                           where: str) -> None:
    _pyproject(repo)
    edit = Edit(path="pyproject.toml", search=search, replace=replace)
    refused(repo, [edit], re.escape(where) + r".*not only dependency or metadata keys")
    result = apply_edits(repo, [edit], GuardConfig(allow_harness_edits=True), write=False)
    assert any("allowed by allow_harness_edits" in flag for flag in result.flags)


def test_pyproject_dependency_bump_is_allowed_and_flagged(repo: Path) -> None:
    _pyproject(repo)
    edit = Edit(path="pyproject.toml", search='dependencies = ["requests==2.19.0"]',
                replace='dependencies = ["requests>=2.32.3"]')
    result = apply_edits(repo, [edit])
    assert result.flags == ["changes dependencies or metadata in pyproject.toml"]
    assert 'requests>=2.32.3' in (repo / "pyproject.toml").read_text()


SETUP_CFG = """[metadata]
name = demo

[options]
install_requires =
    jinja2==2.10

[tool:pytest]
testpaths = tests
"""


@pytest.mark.parametrize(("search", "replace", "ok"), [
    ("    jinja2==2.10", "    jinja2>=3.1.4", True),
    ("testpaths = tests", "testpaths = tests\naddopts = -p evil_plugin", False),
    ("[options]", "[options.entry_points]\npytest11 =\n    evil = evil_plugin\n\n[options]", False),
    ("    jinja2==2.10", "    jinja2==2.10\n    [pytest]\n    addopts = -p evil", False),  # a header hidden in a value
    ("name = demo", "name = demo\nx = [unclosed", True),
])
def test_setup_cfg_changes_judged_by_section(repo: Path, search: str, replace: str, ok: bool) -> None:
    (repo / "setup.cfg").write_text(SETUP_CFG)
    edit = Edit(path="setup.cfg", search=search, replace=replace)
    if ok:
        assert apply_edits(repo, [edit], write=False).flags == ["changes dependencies or metadata in setup.cfg"]
    else:
        refused(repo, [edit], r"^setup\.cfg: the change reaches")


def test_unparsable_manifest_is_refused(repo: Path) -> None:
    _pyproject(repo)
    edit = Edit(path="pyproject.toml", search='version = "1.0"', replace='version = "1.0\n[tool.pytest')
    refused(repo, [edit], r"cannot be parsed .*not valid TOML")


def test_package_json_scripts_refused_dependencies_allowed(repo: Path) -> None:
    (repo / "package.json").write_text('{\n  "name": "d",\n  "dependencies": {"lodash": "4.17.4"}\n}\n')
    bump = Edit(path="package.json", search='  "dependencies": {"lodash": "4.17.4"}',
                replace='  "dependencies": {"lodash": "4.17.21"}')
    assert apply_edits(repo, [bump], write=False).flags == ["changes dependencies or metadata in package.json"]
    hook = Edit(path="package.json", search='  "name": "d",', replace='  "name": "d", "scripts": {"test": "true"},')
    refused(repo, [hook], r'reaches "scripts"')
