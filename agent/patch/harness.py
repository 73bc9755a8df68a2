"""Which files are test-harness, build or CI machinery, which a fix has no business changing (DESIGN.md rule 8).

A fix changes the code under test. Files that decide *how* the tests run, what runs before them, or what runs
on a developer's or CI machine are the judge, not the judged: a patch that edits them can make any suite pass
(a pytest plugin whose `pytest_pyfunc_call` returns True, `--deselect`, `addopts`) or smuggle a command to the
reviewer's machine (`setup.py`, a CI workflow, a pre-commit hook). Classes of path, matched case-insensitively at
any depth:

- runner configuration: pytest.ini, .pytest.ini, pytest.toml, tox.ini, tox.toml, noxfile.py, .coveragerc,
  nose/unittest config, JavaScript test-runner configs (jest/vitest/mocha/karma/playwright);
- pytest hooks and plugins: conftest.py; interpreter start-up hooks: sitecustomize.py, usercustomize.py, *.pth;
- build machinery: setup.py, Makefile/GNUmakefile/*.mk, justfile, Taskfile, build.rs, *.gradle(.kts),
  hatch.toml;
- CI and developer automation: .github/, .gitlab-ci.yml, .gitlab/, .circleci/, azure-pipelines*, Jenkinsfile,
  .travis.yml, appveyor.yml, .buildkite/, .drone.yml, bitbucket-pipelines.yml, .woodpecker(.yml), .cirrus.yml,
  .pre-commit-config.yaml, .pre-commit-hooks.yaml, .husky/, lefthook.yml, .envrc, .devcontainer/, .vscode/;
- scanner configuration, because the re-scan is a judge too: .bandit, bandit.yaml, .semgrepignore,
  .semgrep.yml, .semgrep/ (`[tool.bandit]` in pyproject.toml is machinery by the manifest rule below).

Manifests that mix dependencies with machinery are judged by what the edit changes, not by name: a patch may
change pyproject.toml, setup.cfg or package.json only inside their dependency and descriptive-metadata keys
(the keys an SCA fix bumps), compared after parsing old and new text:
- pyproject.toml: `[project]` keys other than entry-points/scripts/gui-scripts/dynamic, `[dependency-groups]`,
  and Poetry's dependency tables (`[tool.poetry.dependencies]`, `[tool.poetry.group.*.dependencies]`,
  `[tool.poetry.dev-dependencies]`). Anything else (`[build-system]`, `[tool.pytest.ini_options]`,
  `[tool.coverage.*]`, `[tool.suture]`, every other `[tool.*]`) is machinery.
- setup.cfg: `[metadata]`, `[options.extras_require]` and the `install_requires`/`python_requires` keys of
  `[options]`. `[tool:pytest]`, `[coverage:*]`, `[options.entry_points]` (pytest11 plugins) and the rest are
  machinery.
- package.json: the dependency maps, `overrides`/`resolutions`, `engines` and descriptive keys; never
  `scripts` (npm runs them on install and test).
A manifest that does not parse (old or new) counts as machinery: the change cannot be shown to be harmless.

Limits: this is a list of the machinery common in Python projects and their CI, plus the JavaScript runners'
configs. Other ecosystems' build files (pom.xml, Cargo.toml, go.mod) are treated as ordinary files.
"""

from __future__ import annotations

import configparser
import fnmatch
import json
import tomllib
from typing import Any

_HARNESS_DIRS = {
    ".github": "CI configuration (.github/)",
    ".gitlab": "CI configuration (.gitlab/)",
    ".circleci": "CI configuration (.circleci/)",
    ".buildkite": "CI configuration (.buildkite/)",
    ".woodpecker": "CI configuration (.woodpecker/)",
    ".azure-pipelines": "CI configuration (.azure-pipelines/)",
    ".husky": "git hook manager (.husky/)",
    ".devcontainer": "dev container commands (.devcontainer/)",
    ".vscode": "editor tasks (.vscode/)",
    ".semgrep": "scanner configuration (the re-scan judges the patch)",
}
_HARNESS_FILES: tuple[tuple[str, str], ...] = (
    ("conftest.py", "pytest hooks (conftest.py)"),
    ("pytest.ini", "test runner configuration"),
    (".pytest.ini", "test runner configuration"),
    ("pytest.toml", "test runner configuration"),
    (".pytest.toml", "test runner configuration"),
    ("tox.ini", "test runner configuration"),
    ("tox.toml", "test runner configuration"),
    ("noxfile.py", "test runner configuration"),
    (".coveragerc", "coverage configuration"),
    ("nose.cfg", "test runner configuration"),
    (".noserc", "test runner configuration"),
    ("unittest.cfg", "test runner configuration"),
    ("jest.config.*", "test runner configuration"),
    ("vitest.config.*", "test runner configuration"),
    ("vitest.workspace.*", "test runner configuration"),
    ("karma.conf.*", "test runner configuration"),
    ("playwright.config.*", "test runner configuration"),
    (".mocharc*", "test runner configuration"),
    ("sitecustomize.py", "interpreter start-up hook"),
    ("usercustomize.py", "interpreter start-up hook"),
    ("*.pth", "interpreter start-up hook (.pth)"),
    ("setup.py", "build script (setup.py)"),
    ("makefile", "build script (Makefile)"),
    ("gnumakefile", "build script (Makefile)"),
    ("*.mk", "build script (Makefile)"),
    ("justfile", "build script (justfile)"),
    ("taskfile.y*ml", "build script (Taskfile)"),
    ("build.rs", "build script (build.rs)"),
    ("*.gradle", "build script (Gradle)"),
    ("*.gradle.kts", "build script (Gradle)"),
    ("hatch.toml", "build configuration (hatch.toml)"),
    (".gitlab-ci.yml", "CI configuration"),
    (".gitlab-ci.yaml", "CI configuration"),
    ("azure-pipelines*.y*ml", "CI configuration"),
    ("jenkinsfile", "CI configuration"),
    ("jenkinsfile.*", "CI configuration"),
    (".travis.yml", "CI configuration"),
    ("appveyor.yml", "CI configuration"),
    (".appveyor.yml", "CI configuration"),
    (".drone.yml", "CI configuration"),
    ("bitbucket-pipelines.yml", "CI configuration"),
    (".woodpecker.yml", "CI configuration"),
    (".cirrus.yml", "CI configuration"),
    (".pre-commit-config.yaml", "pre-commit hooks"),
    (".pre-commit-config.yml", "pre-commit hooks"),
    (".pre-commit-hooks.yaml", "pre-commit hooks"),
    ("lefthook.yml", "git hook manager"),
    ("lefthook.yaml", "git hook manager"),
    (".envrc", "shell start-up hook (direnv)"),
    (".bandit", "scanner configuration (the re-scan judges the patch)"),
    ("bandit.y*ml", "scanner configuration (the re-scan judges the patch)"),
    (".semgrepignore", "scanner configuration (the re-scan judges the patch)"),
    (".semgrep.y*ml", "scanner configuration (the re-scan judges the patch)"),
)
MANIFESTS = ("pyproject.toml", "setup.cfg", "package.json")

_PROJECT_MACHINERY = {"entry-points", "scripts", "gui-scripts", "dynamic"}
_SETUP_CFG_OPTIONS = {"install_requires", "python_requires"}
_PACKAGE_JSON_ALLOWED = {
    "dependencies", "devDependencies", "peerDependencies", "optionalDependencies", "bundledDependencies",
    "bundleDependencies", "overrides", "resolutions", "engines", "version", "description", "keywords",
    "homepage", "bugs", "license", "author", "contributors", "funding", "repository", "private",
}


def harness_rule(path: str) -> str | None:
    """What machinery `path` (relative POSIX) is, or None for an ordinary file or a manifest (see `MANIFESTS`)."""
    parts = path.split("/")
    for part in parts[:-1]:
        rule = _HARNESS_DIRS.get(part.lower())
        if rule:
            return rule
    name = parts[-1].lower()
    for pattern, rule in _HARNESS_FILES:
        if fnmatch.fnmatchcase(name, pattern):
            return rule
    return None


def is_manifest(path: str) -> bool:
    return path.rsplit("/", 1)[-1].lower() in MANIFESTS


def manifest_change_rule(path: str, old: str, new: str) -> str | None:
    """Why a change to a manifest touches machinery (the first key outside the allowed ones), or None.

    `old` is "" for a new file. Handles pyproject.toml, setup.cfg and package.json; other paths return None.
    """
    name = path.rsplit("/", 1)[-1].lower()
    old, new = old.removeprefix("\ufeff"), new.removeprefix("\ufeff")
    try:
        if name == "pyproject.toml":
            changed = _changed_keys(_toml(old), _toml(new))
            bad = [key for key in changed if not _pyproject_key_allowed(key)]
        elif name == "setup.cfg":
            changed = _changed_keys(_ini(old), _ini(new)) + _changed_headers(old, new)
            bad = [key for key in changed if not _setup_cfg_key_allowed(key)]
        elif name == "package.json":
            changed = _changed_keys(_json(old), _json(new))
            bad = [key for key in changed if key[0] not in _PACKAGE_JSON_ALLOWED]
        else:
            return None
    except ValueError as exc:
        return f"{path} cannot be parsed ({exc}), so the change cannot be shown to touch only dependencies"
    if not bad:
        return None
    where = ", ".join(_key_name(name, key) for key in bad[:3])
    return f"{path}: the change reaches {where}, not only dependency or metadata keys"


def _pyproject_key_allowed(key: tuple[str, ...]) -> bool:
    if key[0] == "project":
        return len(key) > 1 and key[1] not in _PROJECT_MACHINERY
    if key[0] == "dependency-groups":
        return True
    if key[:2] == ("tool", "poetry") and len(key) > 2:
        if key[2] in ("dependencies", "dev-dependencies"):
            return True
        return key[2] == "group" and len(key) > 4 and key[4] == "dependencies"
    return False


def _setup_cfg_key_allowed(key: tuple[str, ...]) -> bool:
    section = key[0].lower()
    if section in ("metadata", "options.extras_require"):
        return True
    return section == "options" and len(key) > 1 and key[1].lower() in _SETUP_CFG_OPTIONS


def _changed_headers(old: str, new: str) -> list[tuple[str, ...]]:
    """Section-header-like lines added or removed, however indented: INI readers (configparser for setuptools,
    iniconfig for pytest) disagree on edge syntax, so a header hidden in a continuation line still counts."""
    def headers(text: str) -> set[str]:
        return {line.strip()[1:-1].strip() for line in text.splitlines()
                if line.strip().startswith("[") and line.strip().endswith("]")}
    return [(name,) for name in sorted(headers(old) ^ headers(new))]


def _key_name(name: str, key: tuple[str, ...]) -> str:
    if name == "package.json":
        return f'"{key[0]}"'
    return f"[{key[0]}]" if len(key) < 2 else f"[{'.'.join(key[:-1])}] {key[-1]}"


def _changed_keys(old: dict[str, Any], new: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Key paths whose values differ, descending into tables down to the deepest differing table level."""
    changed: list[tuple[str, ...]] = []
    for key in list(dict.fromkeys([*old, *new])):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            changed += _changed_keys(a, b, (*prefix, key)) or [(*prefix, key)]
        elif isinstance(a, dict) or isinstance(b, dict):
            # a whole table added or removed: every key inside it changed
            table = a if isinstance(a, dict) else b
            inner = _changed_keys(table, {}, (*prefix, key)) if table else []
            changed += inner or [(*prefix, key)]
        else:
            changed.append((*prefix, key))
    return changed


def _toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None


def _ini(text: str) -> dict[str, Any]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise ValueError(f"not a valid INI file: {str(exc).splitlines()[0]}") from None
    return {section: dict(parser.items(section, raw=True)) for section in parser.sections()}


def _json(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    return data if isinstance(data, dict) else {"<top level>": data}
