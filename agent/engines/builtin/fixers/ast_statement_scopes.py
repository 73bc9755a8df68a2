"""`ast_scopes.Scopes`' answers for a module read at its statements only: the usual case, much cheaper.

A module with no `global` or `nonlocal` statement and no assignment expression (`:=`) binds names in statements
only: imports, definitions, assignment, `for`/`with`/`except` targets and parameters. Its expressions bind nothing
in the scope they are in (a lambda's parameters and a comprehension's targets live in scopes of their own). So
every binding of every function, class and module scope is found by walking statements and targets, in the order
the whole walk meets them, and the scope of a node is that of the innermost statement around it (a definition's
decorators, defaults and annotations belong to the scope the definition is in; a parameter to its function), read
off the node's ancestors. The bodies of functions and classes are walked when a lookup first needs them.

What this cannot answer as `Scopes` does, it leaves to a `Scopes` of the module, and from then on every lookup
goes there: the reads of a name (`accesses`: reads are in expressions), a node inside a lambda or a comprehension
(their scopes are not built here), and a module with a `match` statement (its captures bind in patterns).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from agent.engines.builtin.fixers.ast_scopes import (
    Binding,
    Scope,
    Scopes,
    _end,
    _start,
    import_names,
    parameters,
)

# nodes with no scope in `Scopes` (its walk never records them)
_UNWALKED = (ast.arguments, ast.alias, ast.withitem, ast.expr_context, ast.operator, ast.boolop, ast.unaryop,
             ast.cmpop, ast.Module)
_OWN_SCOPE = frozenset({ast.Lambda, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp, ast.comprehension})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class _Switched(Exception):
    """A lookup this walk cannot answer: `Scopes` answers it (and every one after it)."""


def statement_bindings_suffice(source: str) -> bool:
    """The module text cannot hold a `global`/`nonlocal` statement or an assignment expression (checked on the
    text: a word in a string or comment only costs the cheaper walk)."""
    return "global" not in source and "nonlocal" not in source and ":=" not in source


class StatementScopes(Scopes):
    """`Scopes`' lookups (`scope`, `contains`, `resolve`, `referents`, `accesses`, `qualified_names`) for a module
    `statement_bindings_suffice` accepts, from its statements (module docstring). Scopes it handed out may be
    passed back after lookups went over to `Scopes`."""

    def __init__(self, tree: ast.Module, parent_of: Callable[[ast.AST], ast.AST | None]) -> None:
        self._tree = tree
        self._full: Scopes | None = None
        self._defines: dict[int, ast.AST | None] = {}  # id of each scope made here -> its definition (None: module)
        try:
            super().__init__(tree, parent_of, lazy=True)
            self._defines[id(self.module)] = None
        except _Switched:
            self._switch()

    # --- the walk: statements and targets ---------------------------------------------------------------------

    def _walk_body(self, body: list[ast.stmt], scope: Scope) -> None:
        for statement in body:
            self._statement(statement, scope)

    def _statement(self, node: ast.stmt, scope: Scope) -> None:
        """The bindings `Scopes._walk` makes for a statement, in its order (expressions bind nothing here)."""
        cls = node.__class__
        self._scope_of[id(node)] = scope
        if cls in _FUNCTIONS:
            self._bind(scope, node.name, "def", node, _end(node))  # type: ignore[attr-defined]
            inner = Scope("function", scope, node.name)  # type: ignore[attr-defined]
            self._defines[id(inner)] = node
            for arg in parameters(node.args):  # type: ignore[attr-defined]
                self._scope_of[id(arg)] = inner
                self._bind(inner, arg.arg, "param", arg, (0, 0))
            self._defer(node.body, inner)  # type: ignore[attr-defined]
        elif cls is ast.ClassDef:
            self._bind(scope, node.name, "def", node, _end(node))  # type: ignore[attr-defined]
            inner = Scope("class", scope, node.name)  # type: ignore[attr-defined]
            self._defines[id(inner)] = node
            self._defer(node.body, inner)  # type: ignore[attr-defined]
        elif cls is ast.Import or cls is ast.ImportFrom:
            for name in import_names(node):  # type: ignore[arg-type]
                self._bind(scope, name, "import", node, _end(node))
        elif cls is ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                plain = target.__class__ is ast.Name
                self._target(target, scope, _end(node), "assign" if plain else "other", node.value)  # type: ignore
        elif cls is ast.AugAssign or cls is ast.AnnAssign:
            self._target(node.target, scope, _end(node), "other", None)  # type: ignore[attr-defined]
        elif cls is ast.For or cls is ast.AsyncFor:
            self._target(node.target, scope, _end(node.target), "other", None)  # type: ignore[attr-defined]
            self._walk_body(node.body, scope)  # type: ignore[attr-defined]
            self._walk_body(node.orelse, scope)  # type: ignore[attr-defined]
        elif cls is ast.With or cls is ast.AsyncWith:
            for item in node.items:  # type: ignore[attr-defined]
                target = item.optional_vars
                if target is not None:
                    plain = target.__class__ is ast.Name
                    self._target(target, scope, _end(target), "with" if plain else "other", item.context_expr)
            self._walk_body(node.body, scope)  # type: ignore[attr-defined]
        elif cls is ast.If or cls is ast.While:
            self._walk_body(node.body, scope)  # type: ignore[attr-defined]
            self._walk_body(node.orelse, scope)  # type: ignore[attr-defined]
        elif cls is ast.Try or cls.__name__ == "TryStar":
            self._walk_body(node.body, scope)  # type: ignore[attr-defined]
            for handler in node.handlers:  # type: ignore[attr-defined]
                self._scope_of[id(handler)] = scope
                if handler.name:
                    done = _end(handler.type) if handler.type is not None else _start(handler)
                    self._bind(scope, handler.name, "other", None, done)
                self._walk_body(handler.body, scope)
            self._walk_body(node.orelse, scope)  # type: ignore[attr-defined]
            self._walk_body(node.finalbody, scope)  # type: ignore[attr-defined]
        elif cls is ast.Match or cls is ast.Global or cls is ast.Nonlocal:
            raise _Switched("names bound outside statements' targets")

    def _target(self, target: ast.AST, scope: Scope, done: tuple[int, int], kind: str,
                value: ast.AST | None) -> None:
        """`Scopes._targets`' bindings: a name, or the names of a tuple, list or starred target (an attribute or
        subscript binds nothing)."""
        cls = target.__class__
        if cls is ast.Name:
            self._bind(scope, target.id, kind, target, done, value)  # type: ignore[attr-defined]
        elif cls is ast.Tuple or cls is ast.List or cls is ast.Starred:
            for child in ast.iter_child_nodes(target):
                if not isinstance(child, ast.expr_context):
                    self._target(child, scope, done, "other", None)

    # --- the scope of a node: its innermost statement's ---------------------------------------------------------

    def _opened_to(self, node: ast.AST) -> Scope | None:
        """`Scopes._opened_to`: the scope of the innermost statement around `node`, the pending bodies on the way
        walked (`_Switched` where this walk cannot tell)."""
        if isinstance(node, _UNWALKED):
            return None
        if node.__class__ is ast.comprehension:
            raise _Switched("a comprehension's scope")
        pending, own_scope = self._pending, _OWN_SCOPE
        assert pending is not None
        scope_of = self._scope_of
        while True:  # once more after each body walked on the way
            found = scope_of.get(id(node))
            if found is not None:
                return found
            current: ast.AST | None = node
            below: list[ast.AST] = []  # the nodes climbed through, which share the scope found
            while current is not None:
                key = id(current)
                if key in pending:
                    break
                if current is not node:
                    cls = current.__class__
                    if cls in own_scope:
                        raise _Switched("a node inside a lambda or a comprehension")
                    if cls is ast.arg:  # an annotation is in its function's outer scope (the parameter not)
                        below = []
                    else:
                        found = scope_of.get(key)
                        if found is not None:
                            for passed in below:
                                scope_of[id(passed)] = found
                            scope_of[id(node)] = found
                            return found
                        if not isinstance(current, _UNWALKED):
                            below.append(current)
                current = self.parent_of(current)
            if current is None:
                return None
            self._open(current)

    def _switch(self) -> Scopes:
        if self._full is None:
            self._full = Scopes(self._tree, self.parent_of, lazy=True)
        return self._full

    def _theirs(self, scope: Scope | None) -> Scope | None:
        """The `Scopes` scope for a scope made here (the same for one made there)."""
        if scope is None or id(scope) not in self._defines:
            return scope
        full = self._switch()
        definition = self._defines[id(scope)]
        return full.module if definition is None else full.scope(definition.body[0])  # type: ignore[attr-defined]

    # --- lookups: here while this walk can answer them, then `Scopes`' -----------------------------------------

    def scope(self, node: ast.AST) -> Scope:
        if self._full is None:
            try:
                return super().scope(node)
            except _Switched:
                pass
        return self._switch().scope(node)

    def contains(self, scope: Scope | None, name: str) -> bool:
        if self._full is None:
            return super().contains(scope, name)
        return self._full.contains(self._theirs(scope), name)

    def resolve(self, scope: Scope | None, name: str, from_scope: Scope | None = None) -> list[Binding]:
        if self._full is None:
            return super().resolve(scope, name, from_scope)
        return self._full.resolve(self._theirs(scope), name, self._theirs(from_scope))

    def referents(self, node: ast.AST, name: str) -> list[Binding]:
        if self._full is None:
            try:
                return super().referents(node, name)
            except _Switched:
                pass
        return self._switch().referents(node, name)

    def accesses(self, scope: Scope, name: str) -> list[ast.Name]:
        full = self._switch()  # reads are in expressions: not walked here
        theirs = self._theirs(scope)
        assert theirs is not None
        return full.accesses(theirs, name)

    def qualified_names(self, node: ast.AST) -> set[str]:
        if self._full is None:
            try:
                return super().qualified_names(node)
            except _Switched:
                pass
        return self._switch().qualified_names(node)
