"""Name bindings of one Python module, from the stdlib `ast` tree: which assignment a name read refers to.

Handles any module `ast.parse` accepts. Scopes follow Python's rules: module, class (not visible from the
functions, lambdas and comprehensions nested in it), function and lambda (parameters, `global` and `nonlocal`),
and comprehensions (the first iterable is read in the enclosing scope). Defaults, decorators, annotations and
class bases are read in the enclosing scope. A binding is any store of the name: assignment, annotated
assignment (with or without a value), augmented assignment, for / with / except targets, walrus, import, def,
class, parameter. `del` and `match` captures are not bindings (as libcst's scope analysis, which this replaces
for the static evidence checks, counts them).
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass, field

from agent.code.nodes import BLOCK_FIELDS, CHILD_SPEC, children

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
# node classes `ScopeMap._visit` handles itself; any other node's children are visited in the same scope
_SPECIAL = frozenset({ast.Name, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, *_COMPREHENSIONS,
                      ast.Assign, ast.NamedExpr, ast.Import, ast.ImportFrom, ast.ExceptHandler})
# the child fields of every other node class (`nodes.CHILD_SPEC`: whether a list there may hold None)
_PLAIN_FIELDS = {cls: fields for cls, fields in CHILD_SPEC.items() if cls not in _SPECIAL}
_NAME, _LOAD, _STORE = ast.Name, ast.Load, ast.Store
_NEW_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef})


@dataclass(eq=False)
class Binding:
    """One store of a name. `value`: the right-hand side when it is a plain `name = value` (one target)."""

    value: ast.expr | None
    qualified: str | None = None  # for imports: the dotted name it binds ("typing.TYPE_CHECKING")


@dataclass(eq=False)
class Scope:
    kind: str  # "module", "class", "function", "comprehension"
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)

    def _enclosing(self):
        scope = self.parent
        while scope is not None:
            if scope.kind != "class":
                yield scope
            scope = scope.parent

    def owner(self, name: str) -> Scope | None:
        """The scope whose bindings of `name` a read of `name` here refers to (None: builtin or undefined)."""
        if name in self.globals:
            return self.module()
        if name in self.nonlocals:
            return next((s for s in self._enclosing() if s.kind != "module" and name in s.bindings), None)
        if name in self.bindings:
            return self
        return next((s for s in self._enclosing() if name in s.bindings), None)

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def bind(self, name: str, binding: Binding) -> None:
        target = self.owner(name) if name in self.globals or name in self.nonlocals else self
        (target or self).bindings.setdefault(name, []).append(binding)


def _holds(node: ast.AST, where: tuple[int, int]) -> bool:
    """Whether the position (line, column) lies within the node's source."""
    start = (node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = (node.end_lineno or node.lineno, node.end_col_offset or 0)  # type: ignore[attr-defined]
    return start <= where <= end


class ScopeMap:
    """Every scope of a module and, for each `ast.Name` read, the scope it is read in."""

    def __init__(self, tree: ast.Module, declares: bool = True) -> None:
        """`declares=False`: the caller knows the module holds no `global` / `nonlocal` statement (nothing to
        look for). Then a function's body, whose bindings are its own, is visited only when a name read in it is
        asked about (a large module is read where the questions are); with such statements, every body is
        visited up front, each once its enclosing scope is complete, as they can bind names elsewhere."""
        self.of_name: dict[int, Scope] = {}
        self._keep: list[ast.AST] = []  # holds the nodes whose ids key `of_name`
        self.root = Scope("module", None)
        self._declares = declares
        self._pending: deque[tuple[ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, Scope]] = deque()
        self._unknown: set[int] = set()  # names asked about that no function body holds
        self._declare(tree.body, self.root)
        self._visit_all(tree.body, self.root)
        while declares and self._pending:  # function bodies are visited once their enclosing scope is complete
            node, scope = self._pending.popleft()
            self._body(node, scope)

    def scope_of(self, name: ast.Name) -> Scope | None:
        found = self.of_name.get(id(name))
        if found is not None or not self._pending or id(name) in self._unknown:
            return found
        where = (name.lineno, name.col_offset)
        while found is None:  # visit the bodies (outermost first) of the functions the name is in
            holder = next((p for p in self._pending if _holds(p[0], where)), None)
            if holder is None:
                self._unknown.add(id(name))
                self._keep.append(name)
                break
            self._pending.remove(holder)
            self._body(*holder)
            found = self.of_name.get(id(name))
        return found

    def constant_binding(self, name: ast.Name) -> ast.expr | None:
        """The value of the one plain `name = value` that a read of `name` refers to, when there is exactly one
        binding of it in the scope it resolves to; else None."""
        scope = self.scope_of(name)
        owner = scope.owner(name.id) if scope is not None else None
        found = owner.bindings[name.id] if owner is not None else []
        return found[0].value if len(found) == 1 else None

    def binding_count(self, name: ast.Name) -> int:
        """How many bindings the scope a read of `name` resolves to holds for it (0: builtin or undefined)."""
        scope = self.scope_of(name)
        owner = scope.owner(name.id) if scope is not None else None
        return len(owner.bindings[name.id]) if owner is not None else 0

    def qualified_names(self, node: ast.expr) -> set[str]:
        """Dotted names an expression may stand for, as far as imports and assignments in the module tell."""
        if isinstance(node, ast.Name):
            scope = self.scope_of(node)
            owner = scope.owner(node.id) if scope is not None else None
            if owner is None:
                return set()
            return {b.qualified or node.id for b in owner.bindings[node.id]}
        if isinstance(node, ast.Attribute):
            return {f"{base}.{node.attr}" for base in self.qualified_names(node.value)}
        return set()

    # --- building ---------------------------------------------------------------------------------------------

    def _declare(self, body: list[ast.stmt], scope: Scope) -> None:
        """`global` / `nonlocal` statements anywhere in this scope's own body (not nested scopes): statements sit
        in statement lists only (`nodes.BLOCK_FIELDS`), so no expression is walked."""
        if not self._declares:
            return
        stack: list[ast.AST] = list(body)
        blocks = BLOCK_FIELDS
        while stack:
            node = stack.pop()
            cls = node.__class__
            if cls is ast.Global:
                scope.globals.update(node.names)  # type: ignore[attr-defined]
            elif cls is ast.Nonlocal:
                scope.nonlocals.update(node.names)  # type: ignore[attr-defined]
            elif cls not in _NEW_SCOPES:
                for name in blocks.get(cls, ()):
                    stack += getattr(node, name)

    def _visit_all(self, nodes, scope: Scope) -> None:
        for node in nodes:
            self._visit(node, scope)

    def _visit(self, node: ast.AST, scope: Scope) -> None:
        """Visit `node` in `scope`: one call (one frame) per node, so code nested too deep fails here as it did
        when each node was visited by the generic walk."""
        cls = node.__class__
        if cls is _NAME:
            ctx = node.ctx.__class__  # type: ignore[attr-defined]
            if ctx is _LOAD:
                self.of_name[id(node)] = scope
                self._keep.append(node)
            elif ctx is _STORE:
                scope.bind(node.id, Binding(None))  # type: ignore[attr-defined]
            return
        fields = _PLAIN_FIELDS.get(cls)
        if fields is not None:
            for name, holes in fields:
                value = getattr(node, name, None)
                if value is None:
                    continue
                if value.__class__ is not list:
                    self._visit(value, scope)
                elif holes:
                    for child in value:
                        if child is not None:
                            self._visit(child, scope)
                else:
                    for child in value:
                        self._visit(child, scope)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._visit_all(node.decorator_list, scope)
            self._arguments_outside(node.args, scope)
            if node.returns is not None:
                self._visit(node.returns, scope)
            scope.bind(node.name, Binding(None))
            self._pending.append((node, Scope("function", scope)))
            return
        if isinstance(node, ast.Lambda):
            self._arguments_outside(node.args, scope)
            self._pending.append((node, Scope("function", scope)))
            return
        if isinstance(node, ast.ClassDef):
            self._visit_all(node.decorator_list, scope)
            self._visit_all(node.bases, scope)
            self._visit_all(node.keywords, scope)
            inner = Scope("class", scope)
            self._declare(node.body, inner)
            self._visit_all(node.body, inner)
            scope.bind(node.name, Binding(None))
            return
        if isinstance(node, _COMPREHENSIONS):
            self._comprehension(node, scope)
            return
        if isinstance(node, ast.Assign):
            self._visit(node.value, scope)
            for target in node.targets:
                if len(node.targets) == 1 and isinstance(target, ast.Name):
                    scope.bind(target.id, Binding(node.value))
                else:
                    self._visit(target, scope)
            return
        if isinstance(node, ast.NamedExpr):
            self._visit(node.value, scope)
            owner = scope
            while owner.kind == "comprehension" and owner.parent is not None:
                owner = owner.parent
            owner.bind(node.target.id, Binding(None))
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    continue
                if isinstance(node, ast.ImportFrom):
                    local, qualified = alias.asname or alias.name, f"{node.module or ''}.{alias.name}".lstrip(".")
                else:
                    local = alias.asname or alias.name.split(".")[0]
                    qualified = alias.name if alias.asname else local
                scope.bind(local, Binding(None, qualified))
            return
        if isinstance(node, ast.ExceptHandler):
            if node.type is not None:
                self._visit(node.type, scope)
            if node.name:
                scope.bind(node.name, Binding(None))
            self._visit_all(node.body, scope)
            return
        for child in children(node):
            self._visit(child, scope)

    def _arguments_outside(self, args: ast.arguments, scope: Scope) -> None:
        """Defaults and annotations are evaluated where the function is defined."""
        self._visit_all([d for d in (*args.defaults, *args.kw_defaults) if d is not None], scope)
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None and arg.annotation is not None:
                self._visit(arg.annotation, scope)

    def _body(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, inner: Scope) -> None:
        args = node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None:
                inner.bindings.setdefault(arg.arg, []).append(Binding(None))
        if isinstance(node, ast.Lambda):
            self._visit(node.body, inner)
        else:
            self._declare(node.body, inner)
            self._visit_all(node.body, inner)

    def _comprehension(self, node, scope: Scope) -> None:
        inner = Scope("comprehension", scope)
        for index, gen in enumerate(node.generators):
            self._visit(gen.iter, scope if index == 0 else inner)
            self._visit(gen.target, inner)
            self._visit_all(gen.ifs, inner)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        self._visit_all(parts, inner)
