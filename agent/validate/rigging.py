"""Static check that a patch's Python code does not rig the test run it is judged by (DESIGN.md rule 8).

Patched code runs inside the test process, so it can change the verdict without changing any test: a pytest
hook that reports every test as passed, a skip raised at import, `os._exit(0)` before pytest writes its report,
a replaced `sys.exit`, an `atexit` handler, a frame walk up to the runner's objects. This module reads the old
and the patched text of each changed `.py` file with `ast` and reports the *new* occurrences (more in the patched
version than in the old one, so a project that is itself a pytest plugin is not blamed for code it already had)
of these classes of code:

- test-runner internals: importing or naming `pytest`, `_pytest`, `pluggy`, `unittest`, `doctest`, `nose`,
  `nose2`, `xdist`, `coverage`, `pytest_cov`; defining a `pytest_*` function (a hook wherever the module is loaded
  as a plugin) or a `pytest_plugins` variable;
- interpreter state the runner relies on: assigning, deleting or `setattr`/`delattr` on anything reached from
  `sys`, `os`, `builtins`, `__builtins__`, `atexit`, `importlib`, `gc`, `inspect`, `signal`, `threading`,
  `faulthandler`, `site`, `traceback`, `warnings`, `io` or a runner module; mutating `sys.modules`,
  `sys.meta_path`, `sys.path_hooks` or `sys.path`; `sys.settrace`/`setprofile`, `threading.settrace`,
  `sys.addaudithook`, `sys.excepthook`;
- ending the process behind the runner's back: `os._exit`, `os.abort`, `os.kill`/`killpg`, `os.exec*`/`spawn*`
  and `atexit.register` anywhere; `sys.exit`/`exit`/`quit`/`raise SystemExit` at import time (outside any
  function and outside `if __name__ == "__main__":`);
- reaching the runner's objects without naming them: `sys._getframe`, `inspect.currentframe`/`stack`/
  `getouterframes`/`getmembers`, `gc.get_objects`/`get_referrers`/`get_referents`, frame attributes (`f_back`,
  `f_locals`, `f_globals`, `tb_frame`), `__subclasses__`, `vars()` or a dunder attribute (`__dict__`,
  `__getattribute__`, …) of a watched module;
- code this check cannot read: `exec`, `eval`, `__import__`, `importlib.import_module`/`util`,
  `runpy`, `marshal`, `pickle.loads`, `ctypes`, `cffi`, and `getattr` on a watched module with a computed name.

Names are resolved through the file's own imports (`import os as o`, `from os import _exit as e`) and
`getattr(module, "constant")`. Limits: indirection through objects this check cannot follow (an alias passed
through a function or a container, a module obtained from an unwatched object's attribute), code in files the
patch did not change, non-Python files read at run time, and native extensions are not seen. It complements the
run-time rule that the patched run must report every baseline test; it does not replace the sandbox.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass

from agent.code.pyparse import parse_python
from agent.context.python_refs import import_bindings

RUNNER_MODULES = {"pytest", "_pytest", "pluggy", "unittest", "doctest", "nose", "nose2", "xdist", "coverage",
                  "pytest_cov", "py"}
STATE_MODULES = {"sys", "os", "builtins", "__builtins__", "atexit", "importlib", "gc", "inspect", "signal",
                 "threading", "faulthandler", "site", "traceback", "warnings", "io"} | RUNNER_MODULES
OPAQUE_MODULES = {"ctypes", "cffi", "runpy", "marshal"}
_SYS_LISTS = {"sys.modules", "sys.meta_path", "sys.path_hooks", "sys.path", "sys.path_importer_cache"}
_MUTATORS = {"append", "extend", "insert", "remove", "pop", "clear", "update", "setdefault", "__setitem__",
             "__delitem__", "popitem"}
_ANYWHERE_CALLS = {
    "os._exit": "exits the process", "os.abort": "exits the process", "os.kill": "signals a process",
    "os.killpg": "signals a process group", "atexit.register": "registers an exit handler",
    "sys.settrace": "installs a tracer", "sys.setprofile": "installs a profiler",
    "threading.settrace": "installs a tracer", "threading.setprofile": "installs a profiler",
    "sys.addaudithook": "installs an audit hook", "sys._getframe": "walks the call stack",
    "inspect.currentframe": "walks the call stack", "inspect.stack": "walks the call stack",
    "inspect.getouterframes": "walks the call stack", "inspect.getmembers": "lists an object's internals",
    "gc.get_objects": "searches live objects", "gc.get_referrers": "searches live objects",
    "gc.get_referents": "searches live objects", "importlib.import_module": "imports by computed name",
    "importlib.__import__": "imports by computed name", "pickle.loads": "runs code from data",
    "pickle.load": "runs code from data", "exec": "runs dynamic code", "eval": "runs dynamic code",
    "__import__": "imports by computed name",
}
_IMPORT_TIME_EXITS = {"sys.exit", "exit", "quit", "os._exit", "os.abort"}
_HARMLESS_DUNDERS = {"__name__", "__file__", "__doc__", "__version__", "__all__"}
_FRAME_ATTRS = {"f_back", "f_locals", "f_globals", "f_builtins", "tb_frame", "gi_frame", "cr_frame",
                "__subclasses__"}


@dataclass(frozen=True)
class Rigging:
    """One suspicious construct: `what` names it (the dedup key), `line` is where it is in the patched file."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def find_rigging(path: str, old: str, new: str) -> list[Rigging]:
    """New rigging constructs in `new` compared with `old` ("" for a new file), for a .py path.

    Raises SyntaxError (or ValueError for NUL bytes) when `new` is not Python; an unparsable `old` counts as
    empty, so everything in `new` is new.
    """
    found = _scan(path, new)
    try:
        before = Counter(item.what for item in _scan(path, old)) if old else Counter()
    except (SyntaxError, ValueError):
        before = Counter()
    result: list[Rigging] = []
    for item in found:
        if before[item.what] > 0:
            before[item.what] -= 1
        else:
            result.append(item)
    return result


def rigging_reasons(changed: dict[str, tuple[str, str]]) -> list[str]:
    """Validation failure reasons for every changed Python file (path -> (old, new)); [] when none is found."""
    reasons: list[str] = []
    for path, (old, new) in sorted(changed.items()):
        if not path.lower().endswith((".py", ".pyw")):
            continue
        try:
            found = find_rigging(path, old, new)
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            reasons.append(f"{path} does not parse as Python{f' (line {line})' if line else ''}, so it cannot be "
                           "checked for code that rigs the test run")
            continue
        if found:
            listed = "; ".join(str(item) for item in found[:5]) + (" …" if len(found) > 5 else "")
            reasons.append(f"patched code rigs the test run (touches test-runner internals or process exit): "
                           f"{listed}")
    return reasons


def _scan(path: str, source: str) -> list[Rigging]:
    tree = parse_python(source, filename=path)
    visitor = _Visitor(path, import_bindings(tree, path))
    visitor.visit(tree)
    return visitor.found


def _root(dotted: str) -> str:
    return dotted.split(".")[0]


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str, aliases: dict[str, str]) -> None:
        self.path = path
        self.aliases = aliases
        self.found: list[Rigging] = []
        self.depth = 0  # function nesting: 0 means the code runs at import time

    def add(self, node: ast.AST, what: str) -> None:
        self.found.append(Rigging(self.path, getattr(node, "lineno", 0), what))

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name an expression refers to, through import aliases and constant getattr."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):
            return self.resolve(node.value)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)):
            base = self.resolve(node.args[0])
            return f"{base}.{node.args[1].value}" if base else None
        return None

    def watched(self, node: ast.AST) -> str | None:
        """The dotted name of `node` when it is reached from a watched module (imported or builtins)."""
        name = self.resolve(node)
        if not name:
            return None
        root = _root(name)
        imported = any(_root(target) == root or local == root for local, target in self.aliases.items())
        if root in STATE_MODULES and (imported or root == "__builtins__"):
            return name
        return None

    # --- imports and definitions --------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self._imported(node, node.module)
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in _ANYWHERE_CALLS or full in _SYS_LISTS:
                    self.add(node, f"imports {full}")

    def _imported(self, node: ast.AST, module: str) -> None:
        root = _root(module)
        if root in RUNNER_MODULES:
            self.add(node, f"imports test-runner module {module}")
        elif root in OPAQUE_MODULES or module.startswith("importlib.util"):
            self.add(node, f"imports {module} (code this check cannot read)")

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        name = getattr(node, "name", "")
        if name.startswith("pytest_"):
            self.add(node, f"defines pytest hook {name}()")
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    # --- writes --------------------------------------------------------------------------------------

    def _target(self, node: ast.AST, target: ast.AST, verb: str) -> None:
        if isinstance(target, ast.Name) and target.id == "pytest_plugins":
            self.add(node, "sets pytest_plugins")
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(node, element, verb)
            return
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            name = self.watched(target)
            if name:
                self.add(node, f"{verb} {name}")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(node, target, "assigns")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node, node.target, "assigns")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node, node.target, "assigns")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(node, target, "deletes")
        self.generic_visit(node)

    # --- calls, names, attributes ---------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        name = self.resolve(node.func)
        if name:
            self._call(node, name)
        self.generic_visit(node)

    def _call(self, node: ast.Call, name: str) -> None:
        first = self.watched(node.args[0]) if node.args else None
        if name in _ANYWHERE_CALLS:
            self.add(node, f"calls {name}() ({_ANYWHERE_CALLS[name]})")
        elif self.depth == 0 and name in _IMPORT_TIME_EXITS:
            self.add(node, f"calls {name}() at import time")
        elif name.startswith(("os.exec", "os.spawn", "os.posix_spawn")):
            self.add(node, f"calls {name}() (replaces the process or starts one behind the runner)")
        elif name in ("setattr", "delattr") and first:
            self.add(node, f"calls {name}() on {first}")
        elif name == "getattr" and len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant) and first:
            self.add(node, f"reads {first} attributes by computed name")
        elif name == "vars" and first:
            self.add(node, f"calls vars() on {first}")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            target = self.watched(node.func.value)
            if target in _SYS_LISTS:
                self.add(node, f"mutates {target}")

    def visit_If(self, node: ast.If) -> None:
        """`if __name__ == "__main__":` runs only as a script, never at import: its body counts as a function."""
        test = node.test
        main_guard = (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
                      and test.left.id == "__name__" and len(test.comparators) == 1
                      and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")
        if not main_guard:
            self.generic_visit(node)
            return
        self.visit(node.test)
        self.depth += 1
        for child in node.body:
            self.visit(child)
        self.depth -= 1
        for child in node.orelse:
            self.visit(child)

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        name = self.resolve(exc) if exc is not None else None
        if self.depth == 0 and name in ("SystemExit", "KeyboardInterrupt"):
            self.add(node, f"raises {name} at import time")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in _FRAME_ATTRS:
            self.add(node, f"reads .{node.attr}")
        elif node.attr.startswith("__") and node.attr not in _HARMLESS_DUNDERS and self.watched(node.value):
            self.add(node, f"reads {self.watched(node.value)}.{node.attr}")
        else:
            name = self.watched(node)
            if name and _root(name) in RUNNER_MODULES and isinstance(node.ctx, ast.Load):
                self.add(node, f"uses {name}")
                if isinstance(node.value, (ast.Attribute, ast.Name)):
                    return  # one report per attribute chain
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "__builtins__":
            self.add(node, "uses __builtins__")
