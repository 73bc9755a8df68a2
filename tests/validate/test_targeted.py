"""Targeted test selection from imports: module names, relative imports, transitive importers, narrowing."""

from __future__ import annotations

import sys
from pathlib import Path

from agent.validate.targeted import imported_names, module_names, select_tests, targeted_command


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_module_names_flat_src_and_init(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "src/lib/__init__.py": ""})
    assert module_names(tmp_path, "pkg/sub/mod.py") == {"pkg.sub.mod"}
    assert module_names(tmp_path, "pkg/sub/__init__.py") == {"pkg.sub"}
    assert module_names(tmp_path, "src/lib/core.py") == {"src.lib.core", "lib.core"}
    assert module_names(tmp_path, "scripts/tool.py") == {"scripts.tool", "tool"}  # not a package: both roots


def test_imported_names_resolves_relative_imports() -> None:
    source = "import a.b\nfrom . import sibling\nfrom ..up import thing\nfrom x import *\n"
    names = imported_names(source, "pkg/sub/mod.py")
    assert {"a", "a.b", "pkg.sub.sibling", "pkg.up", "pkg.up.thing", "x"} <= names
    assert "x.*" not in names


def test_select_tests_direct_transitive_and_unrelated(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "", "app/core.py": "X = 1\n",
        "app/service.py": "from app.core import X\n", "app/other.py": "Y = 2\n",
        "tests/test_core.py": "from app import core\n", "tests/test_service.py": "import app.service\n",
        "tests/test_other.py": "from app.other import Y\n", "tests/broken_helper.py": "def (:\n",
    })
    assert select_tests(tmp_path, ["app/core.py"]) == ["tests/test_core.py", "tests/test_service.py"]
    assert select_tests(tmp_path, ["app/core.py", "app/other.py"]) is None  # all test files: no narrower target
    assert select_tests(tmp_path, ["app/other.py"]) == ["tests/test_other.py"]
    assert select_tests(tmp_path, ["app/service.py", "tests/test_other.py"]) == [
        "tests/test_other.py", "tests/test_service.py"]


def test_no_target_for_conftest_or_non_python(tmp_path: Path) -> None:
    write(tmp_path, {"tests/conftest.py": "", "tests/test_a.py": "import conftest\n"})
    assert select_tests(tmp_path, ["tests/conftest.py"]) is None
    assert select_tests(tmp_path, ["setup.cfg"]) is None
    assert select_tests(tmp_path, []) is None


def test_targeted_command_respects_scopes(tmp_path: Path) -> None:
    write(tmp_path, {"tests/unit/test_a.py": "", "tests/slow/test_b.py": ""})
    base = [sys.executable, "-m", "pytest", "-x", "tests/unit"]
    assert targeted_command(base, tmp_path, ["tests/unit/test_a.py", "tests/slow/test_b.py"]) == [
        sys.executable, "-m", "pytest", "-x", "tests/unit/test_a.py"]
    assert targeted_command(base, tmp_path, ["tests/slow/test_b.py"]) is None
    assert targeted_command(["make", "test"], tmp_path, ["tests/unit/test_a.py"]) is None
    assert targeted_command(["pytest", "-q"], tmp_path, ["tests/slow/test_b.py"]) == [
        "pytest", "-q", "tests/slow/test_b.py"]
