"""PythonSupport: scopes, focus excerpts, imports used, callers and related tests on real files in tmp dirs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.context.language_registry import language_for
from agent.context.languages import LineWindowSupport
from agent.context.python_code import PythonSupport
from agent.context.python_refs import import_bindings, module_matches, module_name
from agent.context.repo_files import RepoFiles, is_test_path

PY = PythonSupport()

SOURCE = textwrap.dedent(
    '''\
    import os
    import sys
    from functools import wraps

    LIMIT = 10


    def deco(fn):
        @wraps(fn)
        def inner(*args):
            return fn(*args)
        return inner


    class Store:
        """A store."""

        kind = "memory"
        size: int = 3

        def __init__(self, root):
            self.root = root
            self.items = []

        @deco
        def load(self, name):
            path = os.path.join(self.root, name)
            return open(path).read()

        async def fetch(self, url):
            return url


    def outer(x):
        def helper(y):
            return y + LIMIT
        return helper(x)
    '''
)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_scopes_for_nested_function_outermost_first():
    scopes = PY.enclosing_scopes(SOURCE, line_of(SOURCE, "return y + LIMIT"))
    assert [(s.kind, s.qualname) for s in scopes] == [("function", "outer"), ("function", "outer.helper")]


def test_scopes_for_method_decorator_line_and_async():
    deco_line = line_of(SOURCE, "    @deco")
    scopes = PY.enclosing_scopes(SOURCE, deco_line)
    assert [s.qualname for s in scopes] == ["Store", "Store.load"]
    assert scopes[1].start_line == deco_line  # decorators belong to the function
    fetch = PY.enclosing_scopes(SOURCE, line_of(SOURCE, "return url"))
    assert fetch[-1].kind == "async function" and fetch[-1].name == "fetch"


def test_scopes_at_module_level_and_in_class_body():
    assert PY.enclosing_scopes(SOURCE, line_of(SOURCE, "LIMIT = 10")) == []
    assert [s.kind for s in PY.enclosing_scopes(SOURCE, line_of(SOURCE, 'kind = "memory"'))] == ["class"]


def test_focus_on_method_gives_whole_method_and_class_header_with_attributes():
    line = line_of(SOURCE, "open(path)")
    focus = PY.focus(SOURCE, "pkg/store.py", line, line)
    lines = SOURCE.splitlines()
    shown = [lines[n - 1] for n in sorted(focus.variants[0].lines)]
    assert shown[0].strip() == "@deco" and shown[-1].strip() == "return open(path).read()"
    assert focus.function is not None and focus.function.qualname == "Store.load"
    context = [lines[n - 1].strip() for n in sorted(focus.class_context.lines)]
    assert context[0] == "class Store:"
    assert {'kind = "memory"', "size: int = 3", "self.root = root", "self.items = []"} <= set(context)
    assert "return url" not in context and "async def fetch(self, url):" not in context


def test_focus_on_nested_function_shows_outer_function_and_a_smaller_nested_form():
    small = PythonSupport(max_function_lines=3)
    line = line_of(SOURCE, "return y + LIMIT")
    focus = small.focus(SOURCE, "m.py", line, line)
    assert focus.function is not None and focus.function.name == "outer"
    first = focus.variants[0]
    assert "nested `outer.helper`" in first.label
    assert first.lines == frozenset({line_of(SOURCE, "def outer"), *range(line - 1, line + 1)})
    whole = PY.focus(SOURCE, "m.py", line, line).variants[0]
    assert line_of(SOURCE, "return helper(x)") in whole.lines


def test_focus_on_long_function_narrows_to_the_flagged_line():
    body = "\n".join(f"    v{i} = {i}" for i in range(300))
    source = f"def big():\n{body}\n    return v0\n"
    flagged = 200
    focus = PythonSupport(max_function_lines=150).focus(source, "big.py", flagged, flagged)
    for variant in focus.variants:
        assert 1 in variant.lines and flagged in variant.lines  # header + the flagged line, always
        assert len(variant.lines) < 60
    assert len(focus.variants[0].lines) > len(focus.variants[-1].lines)


def test_focus_at_module_level_includes_the_whole_statement():
    source = "import os\n\nCONFIG = {\n    'a': 1,\n    'b': os.sep,\n    'c': 3,\n}\n\n\nOTHER = 1\n"
    focus = PY.focus(source, "cfg.py", 5, 5)
    assert focus.function is None and focus.scopes == []
    assert set(range(3, 8)) <= focus.variants[0].lines


def test_unparseable_python_falls_back_to_a_line_window_with_a_note():
    source = "print 'python 2'\n" * 100
    focus = PY.focus(source, "old.py", 50, 50)
    assert focus.notes and "does not parse" in focus.notes[0]
    assert {30, 50, 70} <= focus.variants[0].lines and not {29, 71} & focus.variants[0].lines


def test_imports_used_lists_only_used_imports_and_module_names():
    source = textwrap.dedent(
        """\
        import os
        import sys
        import json
        try:
            import yaml
        except ImportError:
            yaml = None
        TIMEOUT = 5
        UNUSED = 1


        def helper(a,
                   b):
            return a


        def target(json):
            local = os.getcwd()
            return helper(local, TIMEOUT), yaml.dump(json)
        """
    )
    line = line_of(source, "local = os.getcwd()")
    focus = PY.focus(source, "t.py", line, line)
    excerpt = PY.imports_used(source, "t.py", focus)
    shown = {source.splitlines()[n - 1].strip() for n in excerpt.lines}
    assert {"import os", "import yaml", "yaml = None", "TIMEOUT = 5", "def helper(a,", "b):"} <= shown
    assert "import sys" not in shown and "UNUSED = 1" not in shown
    assert "import json" not in shown  # the parameter `json` shadows the module
    assert "return a" not in shown  # a used function shows its signature only


def test_language_seam_picks_python_or_the_line_window():
    assert isinstance(language_for("a/b.py"), PythonSupport)
    fallback = language_for("web/app.js")
    assert isinstance(fallback, LineWindowSupport)
    focus = fallback.focus("\n".join(f"l{i}" for i in range(1, 101)), "web/app.js", 50, 50)
    assert min(focus.variants[0].lines) == 35 and max(focus.variants[0].lines) == 65


def test_module_names_and_import_resolution():
    assert module_name("src/app/utils.py") == "app.utils"
    assert module_name("app/__init__.py") == "app"
    assert module_matches("utils", "app.utils") and not module_matches("tils", "app.utils")
    import ast

    tree = ast.parse("from .utils import f as g\nfrom .. import core\nimport a.b\n")
    bound = import_bindings(tree, "pkg/sub/mod.py")
    assert bound["g"] == "pkg.sub.utils.f" and bound["core"] == "pkg.core" and bound["a"] == "a"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(
        tmp_path,
        "app/db.py",
        """\
        def run_query(sql):
            return sql


        class Repo:
            def find(self, name):
                return run_query(name)


        def local_use():
            return run_query("x")
        """,
    )
    for i in range(5):
        write(
            tmp_path,
            f"app/caller{i}.py",
            f"from app.db import run_query\n\n\ndef use{i}():\n    return run_query({i})\n",
        )
    write(
        tmp_path,
        "app/unrelated.py",
        "def run_query(q):\n    return q\n\n\ndef other():\n    return run_query(1)\n",
    )
    write(tmp_path, "app/methods.py", "from app import db\n\n\ndef go(repo):\n    return repo.find('n')\n")
    for skipped in (".venv/lib/x.py", "lib/site-packages/pkg/y.py", ".git/z.py", "env2/bin/w.py"):
        write(tmp_path, skipped, "from app.db import run_query\nrun_query(9)\n")
    (tmp_path / "env2" / "pyvenv.cfg").write_text("home = /usr\n")
    write(
        tmp_path,
        "tests/test_db.py",
        """\
        from app.db import run_query


        def test_unrelated_thing():
            assert 1 + 1 == 2


        def test_run_query_returns_sql():
            assert run_query("s") == "s"
        """,
    )
    write(tmp_path, "tests/test_mentions.py", "def test_doc():\n    assert 'run_query' in 'run_query docs'\n")
    write(tmp_path, "tests/test_other.py", "import json\n\n\ndef test_json():\n    assert json.dumps(1)\n")
    return tmp_path


def _focus_for(root: Path, rel: str, needle: str):
    source = (root / rel).read_text()
    line = line_of(source, needle)
    return PY.focus(source, rel, line, line)


def test_callers_are_bounded_same_file_first_and_skip_tool_dirs(project: Path):
    focus = _focus_for(project, "app/db.py", "return sql")
    callers = PY.find_callers(RepoFiles(project), "app/db.py", focus, limit=3)
    assert len(callers) == 3
    assert [c.path for c in callers[:2]] == ["app/db.py", "app/db.py"]  # Repo.find, local_use
    assert callers[2].path == "app/caller0.py"
    everything = PY.find_callers(RepoFiles(project), "app/db.py", focus, limit=50)
    paths = {c.path for c in everything}
    assert paths == {"app/db.py", *(f"app/caller{i}.py" for i in range(5))}  # no unrelated, venv, .git


def test_callers_scan_is_bounded_by_files(project: Path):
    focus = _focus_for(project, "app/db.py", "return sql")
    repo = RepoFiles(project, max_files=3)
    callers = PY.find_callers(repo, "app/db.py", focus, limit=50)
    assert repo.truncated and len(repo.paths()) == 3
    assert {c.path for c in callers} <= set(repo.paths()) | {"app/db.py"}


def test_method_callers_through_module_import(project: Path):
    focus = _focus_for(project, "app/db.py", "return run_query(name)")
    callers = PY.find_callers(RepoFiles(project), "app/db.py", focus, limit=5)
    assert [c.path for c in callers] == ["app/methods.py"]
    assert "`go` calls `find`" in callers[0].label


def test_related_tests_found_and_best_test_chosen(project: Path):
    focus = _focus_for(project, "app/db.py", "return sql")
    related = PY.related_tests(RepoFiles(project), "app/db.py", focus, limit=10)
    assert related.paths == ["tests/test_db.py", "tests/test_mentions.py"]
    assert related.best is not None and "test_run_query_returns_sql" in related.best.label
    text = (project / "tests/test_db.py").read_text().splitlines()
    assert {text[n - 1].strip() for n in related.best.lines} == {
        "def test_run_query_returns_sql():",
        'assert run_query("s") == "s"',
    }


def test_test_path_conventions():
    assert (
        is_test_path("tests/unit/helpers.py") and is_test_path("pkg/test_x.py") and is_test_path("x_test.py")
    )
    assert not is_test_path("tests/conftest.py") and not is_test_path("app/testing.py")


def test_imports_used_trims_long_import_lists_and_dotted_duplicates():
    source = textwrap.dedent(
        """\
        import pkg
        import pkg.sub.deep
        from typing import (
            Any,
            Callable,
            Iterable,
            Mapping,
        )


        def target(x: Mapping) -> Any:
            return pkg.run(x)
        """
    )
    line = line_of(source, "return pkg.run")
    excerpt = PY.imports_used(source, "t.py", PY.focus(source, "t.py", line, line))
    shown = [source.splitlines()[n - 1].strip() for n in sorted(excerpt.lines)]
    assert shown == ["import pkg", "from typing import (", "Any,", "Mapping,", ")"]
