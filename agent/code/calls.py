"""Call edges and statements of one parsed Python module (stdlib `ast`), for reachability and grouping.

Handles any module `ast.parse` accepts. `call_facts(tree, module)` lists

* every function (module-level functions, methods as `Class.method`, nested functions as `outer.inner`) with its
  line span and, for a function decorated as a web route, a route label (`GET /users`; "" otherwise), and
* every call made inside a function, as an edge (caller, callee reference). A callee reference is a dotted name
  as far as the module's own imports and definitions resolve it (`app.db.find_user` for `db.find_user()` after
  `from app import db`, `app.views.helper` for a call of a function defined in the module, `app.views.Repo.find`
  for `self.find()` in a method of `Repo`), else `?.name` — the called name alone (a method of an unknown
  object, a star import), which `CallGraph` matches only when exactly one function in the project has that name.

``CallGraph` joins the call facts of a project's modules and walks them, breadth first and at most `MAX_DEPTH`
calls deep, from its web entry points, so a finding in a helper a route calls counts as reachable. What it cannot
resolve (dynamic dispatch, `getattr`, callbacks, inherited methods, a name defined twice) it leaves out: a
function the walk does not reach is "not shown reachable", never "unreachable". Built with `demand`, the graph
asks for the modules that may define a name just before resolving a reference to it; `outline(text)` tells, off a
module's text without parsing it, whether it may hold a web handler and which names it may define (supersets), so
a caller can parse only the modules that can change the walk.

`statement_at(module, line)` gives the span of the innermost simple statement covering a line and, for an
assignment `name = ...`, the span of the next statement of the same block when a call in it reads `name` (the
"build on one line, execute on the next" pair scanners report twice).
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from agent.code.entry_points import ROUTE_DECORATORS, VIEW_BASE_SUFFIXES
from agent.code.nodes import CHILD_SPEC, subtree

MAX_DEPTH = 4  # calls followed from a route: route → helper → helper → data access → driver wrapper
_HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})


@dataclass
class CallFacts:
    """Functions (first line, last line, qualified name in the module, route label or "") and edges (caller,
    callee reference). Facts cached by an older version may carry functions without the label."""

    functions: list[tuple] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def function_at(self, line: int) -> str | None:
        """The innermost function whose span covers `line`."""
        inner = [(f[0], f[2]) for f in self.functions if f[0] <= line <= f[1]]
        return max(inner)[1] if inner else None


def module_name(path: str) -> str:
    """The dotted module name of a project-relative path (`src/` layouts and `__init__` folded)."""
    parts = path.replace("\\", "/").removesuffix(".pyw").removesuffix(".py").split("/")
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(p for p in parts if p)


def _imports(tree: ast.Module, module: str, imports: Iterable[ast.Import | ast.ImportFrom] | None = None
             ) -> dict[str, str]:
    """Local name → dotted name, for module-level and function-level imports alike (the common case).
    `imports`: the module's import statements in `ast.walk` order, when the caller already has them."""
    found: dict[str, str] = {}
    package = module.rsplit(".", 1)[0] if "." in module else ""
    for node in ast.walk(tree) if imports is None else imports:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else (
                    alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                if alias.name != "*":
                    found[alias.asname or alias.name] = f"{base}.{alias.name}".lstrip(".")
    return found


def call_facts(tree: ast.Module, module: str, import_nodes: Iterable[ast.Import | ast.ImportFrom] | None = None
               ) -> CallFacts:
    """The functions and call edges of a module named `module` (see the module docstring). `import_nodes`: its
    import statements in `ast.walk` order, when the caller already has them."""
    facts = CallFacts()
    imports = _imports(tree, module, import_nodes)
    top_level = {n.name for n in tree.body if isinstance(n, (*_FUNCTIONS, ast.ClassDef))}

    def resolve(func: ast.expr, klass: str | None) -> str | None:
        if isinstance(func, ast.Name):
            if func.id in imports:
                return imports[func.id]
            return f"{module}.{func.id}" if func.id in top_level else f"?.{func.id}"
        if isinstance(func, ast.Attribute):
            base = func.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls") and klass is not None:
                return f"{module}.{klass}.{func.attr}"
            if isinstance(base, ast.Name) and base.id in imports:
                return f"{imports[base.id]}.{func.attr}"
            if isinstance(base, ast.Name) and base.id in top_level:
                return f"{module}.{base.id}.{func.attr}"
            return f"?.{func.attr}"
        return None

    spec, call_t = CHILD_SPEC, ast.Call

    def visit(body: list[ast.stmt], prefix: str, klass: str | None) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.", node.name)
            elif isinstance(node, _FUNCTIONS):
                qual = f"{prefix}{node.name}"
                facts.functions.append((node.lineno, node.end_lineno or node.lineno, qual, route_label(node)))
                seen: set[str] = set()
                nested: list[ast.stmt] = []
                stack: list[ast.AST] = list(node.body)
                pop, push = stack.pop, stack.append
                while stack:
                    inner = pop()
                    cls = inner.__class__
                    if cls in _SCOPES:
                        nested.append(inner)  # type: ignore[arg-type]  # visited as its own function, below
                        continue
                    if cls is call_t:
                        target = resolve(inner.func, klass)  # type: ignore[attr-defined]
                        if target is not None and target not in seen:
                            seen.add(target)
                            facts.edges.append((qual, target))
                    for name, holes in spec.get(cls, ()):
                        value = getattr(inner, name)
                        if value.__class__ is list:
                            stack += [x for x in value if x is not None] if holes else value
                        elif value is not None:
                            push(value)
                visit(sorted(nested, key=lambda n: n.lineno), f"{qual}.", klass)
    visit(tree.body, "", None)
    return facts


def route_label(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """`METHOD /path` from a route decorator (`@app.get("/u")`, `@app.route("/u", methods=["POST"])`), the path
    alone for other route decorators, "" when no decorator names a route. At most 80 characters, one line."""
    for deco in fn.decorator_list:
        if not isinstance(deco, ast.Call):
            continue
        func = deco.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name not in ROUTE_DECORATORS:
            continue
        path = deco.args[0].value if deco.args and isinstance(deco.args[0], ast.Constant) else None
        method = name.upper() if name in _HTTP_METHODS else ""
        for kw in deco.keywords:
            if kw.arg == "methods" and isinstance(kw.value, (ast.List, ast.Tuple, ast.Set)):
                method = "|".join(e.value.upper() for e in kw.value.elts
                                  if isinstance(e, ast.Constant) and isinstance(e.value, str))
        if name in ("route", "api_route") and not method:
            method = "GET"
        label = f"{method} {path if isinstance(path, str) else ''}".strip()
        return " ".join(label.split())[:80]
    return ""


@dataclass(frozen=True)
class Outline:
    """What a module's text says about its place in a call graph, without parsing it: `web` is False only when it
    provably has no web handler, `names` holds every name it may define a function or class under (a superset),
    None when unknown (any name; always so when `web`)."""

    web: bool
    names: frozenset[str] | None


# (each pattern starts with a literal, which `re` scans for fast)
_DEFS = (re.compile(r"def[\s\\]+(\w+)"), re.compile(r"class[\s\\]+(\w+)"))
_HEADERS = ((re.compile(r"\n[ \t\f]*@"), 1), (re.compile(r"\n[ \t\f]*class\b"), 5))  # (line start, keyword width)
_SIMPLE_LINE = re.compile(r"['\"#\\]")  # a line without these needs no tokenizer
_ROUTE_WORD = re.compile(r"\b(?:" + "|".join(sorted(ROUTE_DECORATORS)) + r")\b")
_VIEW_BASE = re.compile("(?:" + "|".join(sorted(VIEW_BASE_SUFFIXES, key=len, reverse=True)) + r")\b")
_TOKEN = re.compile(r'(?P<s>"""(?:\\.|[^\\])*?"""|' r"'''(?:\\.|[^\\])*?'''|" r'"(?:\\.|[^\\"\n])*"|'
                    r"'(?:\\.|[^\\'\n])*')|(?P<c>#[^\n]*)|(?P<o>[(\[{])|(?P<x>[)\]}])|(?P<n>\n)|(?P<b>\\\n)"
                    r"|(?P<w>[^'\"#()\[\]{}\n\\]+)|(?P<e>.)", re.DOTALL)


def outline(text: str) -> Outline:
    """The `Outline` of a module's source (as `agent.code.file_facts.decode_source` gives it).

    Handles ASCII source; any other (whose identifiers Python may NFKC-normalise) gets the "may be anything"
    outline. A web handler (`agent.code.entry_points`) is a function with a decorator named in ROUTE_DECORATORS or
    a method of a class with a base ending in a VIEW_BASE_SUFFIXES word: both need, in the code (strings and
    comments left out) of a decorator's or class header's logical line, that name as a whole word or that suffix
    at a word's end. A function or class named `n` needs `def n` / `class n` in the text."""
    if not text.isascii():
        return Outline(True, None)
    lines = "\n" + text  # every line, the first too, starts after a newline
    if any(_web_header(lines, match.end() - width, words)
           for (header, width), words in zip(_HEADERS, (_ROUTE_WORD, _VIEW_BASE)) for match in header.finditer(lines)):
        return Outline(True, None)  # (a module that may hold a handler is needed whatever names it defines)
    return Outline(False, frozenset(name for defined in _DEFS for name in defined.findall(text)))


def _web_header(text: str, at: int, words: re.Pattern[str]) -> bool:
    """Whether the decorator or class header at `at` (the first token of its line) may make a web handler: the
    code of its logical line has one of `words`, or cannot be told apart."""
    end = text.find("\n", at)
    line = text[at:] if end < 0 else text[at:end]
    if _SIMPLE_LINE.search(line) is None and (
            line.count("(") + line.count("[") + line.count("{") == line.count(")") + line.count("]") + line.count("}")):
        code: str | None = line  # no string, comment or backslash, brackets closed: the logical line is this line
    else:
        code = _logical_line(text, at)
    return code is None or words.search(code) is not None


def _logical_line(text: str, start: int) -> str | None:
    """The code of the logical line starting at `start` with strings and comments left out, or None when this
    simple tokenizer cannot tell it (an f-string, whose 3.12 form may nest quotes; an unclosed bracket or string;
    a stray backslash)."""
    parts: list[str] = []
    depth, pos = 0, start
    while pos < len(text):
        token = _TOKEN.match(text, pos)
        assert token is not None  # (?P<e>.) matches any one character
        kind = token.lastgroup
        if kind == "s":
            if "f" in text[max(start, pos - 2):pos].lower():
                return None
            parts.append(" ")
        elif kind == "e":
            return None
        elif kind == "n" and depth == 0:
            return "".join(parts)
        elif kind in ("c", "b"):
            parts.append(" ")  # a comment or a line continuation separates tokens
        else:
            depth += 1 if kind == "o" else -1 if kind == "x" and depth else 0
            parts.append(token.group())
        pos = token.end()
    return None if depth else "".join(parts)


class CallGraph:
    """The call facts of a project's modules, walked from its web entry points (see the module docstring).

    Handles any modules added with `add_module`; a callee reference resolves to a project function when it names
    one exactly (`pkg.mod.f`, `pkg.mod.Class.method`, `pkg.mod.Class` → its `__init__`), when exactly one project
    function's dotted name ends with it (a project whose import root is a subfolder), or, for a bare `?.name`,
    when exactly one project function has that name. Anything else is not followed."""

    def __init__(self, demand: Callable[[str], None] | None = None) -> None:
        """`demand(name)`, when given, is called before a callee reference whose last part is `name` is resolved:
        it must add (in any order) every module not added yet that could define a function or class of that name
        (see `ReachabilityIndex.call_graph`), so a graph built on demand resolves as the whole project's would."""
        self.functions: dict[str, tuple[str, str]] = {}  # dotted name -> (path of a module defining it, its name there)
        self._by_name: dict[str, list[str]] = {}
        self._edges: dict[str, dict[int, list[str]]] = {}  # caller -> module order -> callee references
        self._roots: list[tuple[str, str]] = []  # (dotted name, description)
        self._reached: dict[str, tuple[str, tuple[str, ...]]] | None = None
        self._demand = demand
        self._asked: set[str] = set()  # names `demand` was called with
        self._added = 0

    def add_module(self, path: str, calls: CallFacts, web: Mapping[int, str], order: int | None = None) -> None:
        """Add a module's functions and edges; `web` maps the first line of each web handler to its name. `order`:
        the module's place in the project's path order (default: after every module added so far), so modules
        added out of order (on demand) give the same graph as when added in order."""
        module = module_name(path)
        order = self._added if order is None else order
        self._added = max(self._added, order) + 1
        for fn in calls.functions:
            first, qual = fn[0], fn[2]
            full = f"{module}.{qual}"
            self.functions[full] = (path, qual)
            self._by_name.setdefault(qual.rsplit(".", 1)[-1], []).append(full)
            if first in web:
                label = fn[3] if len(fn) > 3 else ""
                self._roots.append((full, f"route {label} (web handler `{web[first]}`)" if label
                                    else f"web handler `{web[first]}`"))
        edges: dict[str, list[str]] = {}
        for caller, ref in calls.edges:
            edges.setdefault(caller, []).append(ref)
        for caller, refs in edges.items():  # (two files of one module name may both define `caller`)
            self._edges.setdefault(f"{module}.{caller}", {})[order] = refs
        self._reached = None

    def callees(self, caller: str) -> list[str]:
        """The callee references of the function `caller` (dotted name), in module order then call order."""
        parts = self._edges.get(caller)
        if not parts:
            return []
        if len(parts) == 1:
            return next(iter(parts.values()))
        return [ref for order in sorted(parts) for ref in parts[order]]

    def resolve(self, ref: str) -> str | None:
        """The project function a callee reference names, or None (see the class docstring)."""
        name = ref.rsplit(".", 1)[-1]
        if self._demand is not None and name not in self._asked and not ref.startswith("?.__"):
            self._asked.add(name)
            self._demand(name)
        if ref in self.functions:
            return ref
        if f"{ref}.__init__" in self.functions:
            return f"{ref}.__init__"
        candidates = self._by_name.get(name, [])
        if ref.startswith("?."):
            return candidates[0] if len(candidates) == 1 and not ref.startswith("?.__") else None
        matches = [c for c in candidates if c.endswith("." + ref)]
        return matches[0] if len(matches) == 1 else None

    def walk(self) -> None:
        """Walk the graph from its web entry points now (adding the modules `demand` asks for), rather than on the
        first `path_to`."""
        self._walk()

    def _walk(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Every function reached from a web root within MAX_DEPTH calls → (root description, names called on the
        way, the function itself last). Breadth first from all roots at once: each function keeps a shortest
        path; a function is visited once, so recursion and cycles end."""
        if self._reached is not None:
            return self._reached
        reached: dict[str, tuple[str, tuple[str, ...]]] = {}
        queue: deque[tuple[str, int]] = deque()
        for full, label in self._roots:
            if full not in reached:
                reached[full] = (label, ())
                queue.append((full, 0))
        while queue:
            caller, depth = queue.popleft()
            if depth >= MAX_DEPTH:
                continue
            label, via = reached[caller]
            for ref in self.callees(caller):
                target = self.resolve(ref)
                if target is not None and target not in reached:
                    reached[target] = (label, (*via, self.functions[target][1]))
                    queue.append((target, depth + 1))
        self._reached = reached
        return reached

    def path_to(self, path: str, qual: str) -> str | None:
        """How the function `qual` of the module at `path` is reached from a web entry point ("reachable from
        route GET /users (web handler `show`) via load_user → run_query"), or None when the walk does not reach
        it through a call (a web handler itself is None here: it is an entry point, not reached)."""
        found = self._walk().get(f"{module_name(path)}.{qual}")
        if found is None or not found[1]:
            return None
        return f"reachable from {found[0]} via {' → '.join(found[1])}"


SIMPLE_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Return, ast.Raise, ast.Assert, ast.Delete)
_BLOCKS = ("body", "orelse", "finalbody", "handlers")


def statement_at(tree: ast.Module, line: int) -> tuple[int, int, int, int] | None:
    """(first, last) of the innermost simple statement covering `line`, plus (first, last) of the next statement
    of its block when the statement assigns one name that a call in that next statement reads ((0, 0) when not).
    None when no simple statement covers the line."""
    best: tuple[ast.stmt, list[ast.stmt], int] | None = None
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for name in _BLOCKS:
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            for index, child in enumerate(block):
                if not isinstance(child, ast.stmt | ast.ExceptHandler):
                    continue
                if not child.lineno <= line <= (child.end_lineno or child.lineno):
                    continue
                if isinstance(child, SIMPLE_STATEMENTS):
                    best = (child, block, index)
                else:
                    stack.append(child)
        if isinstance(node, ast.Match):
            stack.extend(node.cases)
    if best is None:
        return None
    return statement_span(*best)


def statement_span(statement: ast.stmt, block: list[ast.stmt], index: int) -> tuple[int, int, int, int]:
    """`statement_at`'s answer for the simple statement found at `block[index]`."""
    first, last = statement.lineno, statement.end_lineno or statement.lineno
    target = None
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        target = statement.targets[0].id
    elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
        target = statement.target.id
    if target is not None and index + 1 < len(block):
        following = block[index + 1]
        for node in subtree(following):
            if isinstance(node, ast.Call) and any(
                    isinstance(n, ast.Name) and n.id == target
                    for a in [*node.args, *(k.value for k in node.keywords)] for n in subtree(a)):
                return first, last, following.lineno, following.end_lineno or following.lineno
    return first, last, 0, 0
