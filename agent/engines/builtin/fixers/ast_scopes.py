"""Qualified names on the stdlib `ast` tree, computed the way libcst's `QualifiedNameProvider` computes them.

The fixers choose their targets by libcst qualified names (`yaml.load`, `hashlib.md5`, ...); the quick-win check
(`Fixer.would_rewrite`) must choose the same nodes without libcst, so this module mirrors libcst's scope rules for
any module: module, class, function/lambda and comprehension scopes (class scopes hidden from nested ones), names
bound by assignment targets, `for`/`with`/`except` targets, walrus, parameters, `def`/`class` and imports (dotted
`import a.b` binds `a.b` and `a`), a name's bindings taken from the innermost scope that has one (flow-insensitive,
except that a plain name read before every binding of it in its own scope resolves one scope out), builtins, and
libcst's dotted "full name" of an expression (`a.b().c` -> `a.b.c`).

The bodies of functions and classes are walked when a lookup first needs them (a node in them, or a scope
they make): a module asked about a few lines is read around those lines and at module level, not everywhere. A
body can change no other scope's names (a `global`/`nonlocal` name aside: a module with such a statement is
walked whole up front), so the answers are those of one walk of the whole module.

Where libcst's answer hangs on details this model does not follow (`global`/`nonlocal` names, `match` captures,
comprehension targets read in their own comprehension, a read and a binding of the name in one statement), the
lookup raises `Unsure` and the caller falls back to libcst.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable

from agent.code.nodes import children

BUILTIN = "builtins"


class Unsure(Exception):
    """The ast model cannot promise libcst's answer here."""


class Binding:
    __slots__ = ("done", "kind", "name", "node", "scope", "value")

    def __init__(self, name: str, scope: Scope, kind: str, node: ast.AST | None, done: tuple[int, int],
                 value: ast.AST | None = None) -> None:
        self.name, self.scope, self.kind, self.node, self.done, self.value = name, scope, kind, node, done, value

    def qualify(self, full_name: str) -> set[str]:
        """libcst's `get_qualified_names_for(full_name)` of this assignment."""
        if self.kind == BUILTIN:
            return {f"builtins.{self.name}"}
        if self.kind == "import":
            return _import_names(self.node, full_name)  # type: ignore[arg-type]
        prefix = self.scope.prefix
        return {f"{prefix}.{full_name}" if prefix else full_name}


def _import_names(node: ast.Import | ast.ImportFrom, full_name: str) -> set[str]:
    module = ""
    if isinstance(node, ast.ImportFrom):
        module = "." * node.level + (node.module or "")
    results: set[str] = set()
    for alias in node.names:
        if alias.name == "*":
            continue
        parts = alias.name.split(".")
        for real in (".".join(parts[:i]) for i in range(len(parts), 0, -1)):
            as_name = real
            if module and module.endswith("."):
                real = f"{module}{real}"
            elif module:
                real = f"{module}.{real}"
            if alias.asname:
                as_name = alias.asname
            if full_name.startswith(as_name):
                remaining = full_name.split(as_name, 1)[1]
                if remaining and not remaining.startswith("."):
                    continue
                remaining = remaining.lstrip(".")
                results.add(f"{real}.{remaining}" if remaining else real)
                break
    return results


class Scope:
    __slots__ = ("bindings", "kind", "loads", "overwrites", "parent", "prefix", "unsure")

    def __init__(self, kind: str, parent: Scope | None, name: str | None = None) -> None:
        self.kind, self.parent = kind, parent
        parent_prefix: str = parent.prefix if parent is not None else ""
        if kind == "function":
            parts = [parent_prefix, name or "", "<locals>"]
        elif kind == "class":
            parts = [parent_prefix, name or ""]
        elif kind == "comprehension":
            parts = [parent_prefix, "<comprehension>"]
        else:
            parts = []
        self.prefix: str = ".".join(p for p in parts if p)
        self.bindings: dict[str, list[Binding]] = {}
        self.loads: dict[str, list[ast.Name]] = {}  # reads of each plain name made in this scope
        self.unsure: set[str] = set()  # names captured by `match` patterns here (libcst's rules not modelled)
        self.overwrites: dict[str, Scope] = {}  # `global` / `nonlocal` names -> the scope they live in

    def visible_parent(self) -> Scope | None:
        parent = self.parent
        while parent is not None and parent.kind == "class":
            parent = parent.parent
        return parent


# the node classes `Scopes._walk` treats apart (every other node's children are walked in its scope, unbound)
_SCOPED = frozenset({ast.Name, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp,
                     ast.SetComp, ast.GeneratorExp, ast.DictComp, ast.Import, ast.ImportFrom, ast.Global,
                     ast.Nonlocal, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.With,
                     ast.AsyncWith, ast.ExceptHandler, ast.NamedExpr, ast.MatchAs, ast.MatchStar, ast.MatchMapping,
                     ast.Starred, ast.Tuple, ast.List})


def import_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The names an import statement binds, in order: an alias's `as` name, else its dotted name and each of its
    prefixes, longest first (`import a.b` binds `a.b` and `a`, as the scope model keeps them); `*` binds none
    the model can know."""
    names: list[str] = []
    for alias in node.names:
        if alias.name == "*":
            continue
        if alias.asname:
            names.append(alias.asname)
        else:
            parts = alias.name.split(".")
            names += (".".join(parts[:i]) for i in range(len(parts), 0, -1))
    return names


def parameters(args: ast.arguments) -> list[ast.arg]:
    """A function's or lambda's parameters in source order (positional-only, plain, `*args`, keyword-only,
    `**kwargs`), as both scope models bind them."""
    return [*args.posonlyargs, *args.args, *([args.vararg] if args.vararg else []), *args.kwonlyargs,
            *([args.kwarg] if args.kwarg else [])]


def _end(node: ast.AST) -> tuple[int, int]:
    return node.end_lineno or 0, node.end_col_offset or 0  # type: ignore[attr-defined]


def _start(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset  # type: ignore[attr-defined]


class Scopes:
    """Every node's scope and every scope's bindings, for one module (function and class bodies walked on first
    need, see the module docstring). `parent_of(node)`: the node's parent in the tree (None for the module).
    `lazy`: False to walk the whole module up front (required when it has a `global` or `nonlocal` statement)."""

    def __init__(self, tree: ast.Module, parent_of: Callable[[ast.AST], ast.AST | None], lazy: bool = True) -> None:
        self.parent_of = parent_of
        self.module = Scope("global", None)
        self._scope_of: dict[int, Scope] = {}
        self._contains: dict[tuple[int, str], bool] = {}  # `contains`' answers by (scope id, name)
        # bodies not walked yet: id of each of their statements -> (the body, its scope); None: walk every body now
        self._pending: dict[int, tuple[list[ast.stmt], Scope]] | None = {} if lazy else None
        self._walk_body(tree.body, self.module)

    def scope(self, node: ast.AST) -> Scope:
        """The scope `node` is in (Unsure for a node the walk does not reach: an import's alias, a function's
        `arguments`, a node of another tree)."""
        found = self._scope_of.get(id(node)) or self._opened_to(node)
        if found is None:
            raise Unsure("a node outside the walked tree")
        return found

    def _opened_to(self, node: ast.AST) -> Scope | None:
        """Walk the bodies that hold `node`, outermost first; its scope then, or None (not a node the walk
        reaches)."""
        pending = self._pending
        while pending:
            current: ast.AST | None = node
            while current is not None and id(current) not in pending:
                current = self.parent_of(current)
            if current is None:
                return None
            self._open(current)
            found = self._scope_of.get(id(node))
            if found is not None:
                return found
        return None

    def _open(self, statement: ast.AST) -> None:
        """Walk now the pending body `statement` is in (its statements leave the pending ones)."""
        pending = self._pending
        assert pending is not None  # lazy: a statement is pending
        body, scope = pending[id(statement)]
        for each in body:
            del pending[id(each)]
        self._walk_body(body, scope)

    def _defer(self, body: list[ast.stmt], scope: Scope) -> None:
        """Walk `body` in `scope` now, or when a lookup first needs it."""
        if self._pending is None:
            self._walk_body(body, scope)
            return
        for statement in body:
            self._pending[id(statement)] = (body, scope)

    # --- the walk ---------------------------------------------------------------------------------------------

    def _bind(self, scope: Scope, name: str, kind: str, node: ast.AST | None, done: tuple[int, int],
              value: ast.AST | None = None) -> None:
        while scope.overwrites and name in scope.overwrites:  # libcst's `_find_assignment_target`
            target = scope.overwrites[name]
            while target.kind == "class" and target.parent is not None:
                target = target.parent
            scope = target
        found = scope.bindings.get(name)
        if found is None:
            scope.bindings[name] = [Binding(name, scope, kind, node, done, value)]
        else:
            found.append(Binding(name, scope, kind, node, done, value))

    def _walk_body(self, body: list[ast.stmt], scope: Scope) -> None:
        for stmt in body:
            self._walk(stmt, scope)

    def _walk_all(self, nodes, scope: Scope) -> None:
        for node in nodes:
            if node is not None:
                self._walk(node, scope)

    def _targets(self, target: ast.AST, scope: Scope, done: tuple[int, int], kind: str,
                 value: ast.AST | None = None) -> None:
        """Bind the names a target stores (walking the rest of it, e.g. subscripts, as reads)."""
        self._walk(target, scope, binding=(done, kind, value))

    def _walk(self, node: ast.AST, scope: Scope, binding: tuple | None = None) -> None:
        cls = node.__class__
        if cls not in _SCOPED:  # most nodes: their children are read in the same scope
            self._walk_plain(node, scope)
            return
        self._scope_of[id(node)] = scope
        if cls is ast.Name:
            if node.ctx.__class__ is ast.Store:  # type: ignore[attr-defined]
                done, kind, value = binding if binding is not None else (_end(node), "other", None)
                self._bind(scope, node.id, kind, node, done, value)  # type: ignore[attr-defined]
            else:
                scope.loads.setdefault(node.id, []).append(node)  # type: ignore[arg-type, attr-defined]
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            self._function(node, scope)
            return
        if isinstance(node, ast.ClassDef):
            self._walk_all(node.decorator_list, scope)
            self._walk_all(node.bases, scope)
            self._walk_all(node.keywords, scope)
            self._bind(scope, node.name, "def", node, _end(node))
            self._defer(node.body, Scope("class", scope, node.name))
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self._comprehension(node, scope)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in import_names(node):
                self._bind(scope, name, "import", node, _end(node))
            return
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            if scope.kind != "global":  # libcst ignores `global` at module level (and refuses `nonlocal` there)
                where = self.module if isinstance(node, ast.Global) else scope.parent
                for name in node.names:
                    scope.overwrites[name] = where  # type: ignore[assignment]
            return
        if isinstance(node, ast.Assign):
            self._walk(node.value, scope)
            for target in node.targets:
                plain = isinstance(target, ast.Name)
                self._targets(target, scope, _end(node), "assign" if plain else "other", node.value)
            return
        if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            self._walk_all([node.value, getattr(node, "annotation", None)], scope)
            self._targets(node.target, scope, _end(node), "other")
            return
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self._targets(node.target, scope, _end(node.target), "other")
            self._walk(node.iter, scope)
            self._walk_body(node.body, scope)
            self._walk_body(node.orelse, scope)
            return
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self._walk(item.context_expr, scope)
                if item.optional_vars is not None:
                    plain = isinstance(item.optional_vars, ast.Name)
                    self._targets(item.optional_vars, scope, _end(item.optional_vars), "with" if plain else "other",
                                  item.context_expr)
            self._walk_body(node.body, scope)
            return
        if isinstance(node, ast.ExceptHandler):
            self._walk_all([node.type], scope)
            if node.name:
                self._bind(scope, node.name, "other", None, _end(node.type) if node.type is not None else _start(node))
            self._walk_body(node.body, scope)
            return
        if isinstance(node, ast.NamedExpr):
            self._walk(node.value, scope)
            self._targets(node.target, scope, _end(node), "other")
            return
        if isinstance(node, (ast.MatchAs, ast.MatchStar, ast.MatchMapping)):
            captured = node.rest if isinstance(node, ast.MatchMapping) else node.name
            if captured:
                scope.unsure.add(captured)
        if isinstance(node, (ast.Starred, ast.Tuple, ast.List)) and binding is not None:
            inner_binding = (binding[0], "other", None)
            for child in ast.iter_child_nodes(node):
                self._walk(child, scope, inner_binding if not isinstance(child, ast.expr_context) else None)
            return
        for child in children(node):
            self._walk(child, scope)

    def _walk_plain(self, top: ast.AST, scope: Scope) -> None:
        """`_walk` of a node outside `_SCOPED`: its plain descendants get `scope` without a call each (in the
        same pre-order), the `_SCOPED` ones are walked by `_walk`."""
        scope_of, scoped, loads = self._scope_of, _SCOPED, scope.loads
        stack = [top]
        pop = stack.pop
        while stack:
            node = pop()
            cls = node.__class__
            if cls is ast.Name:  # `_walk`'s case for a name outside a target, inline: the commonest node
                scope_of[id(node)] = scope
                if node.ctx.__class__ is ast.Store:  # type: ignore[attr-defined]
                    self._bind(scope, node.id, "other", node, _end(node))  # type: ignore[attr-defined]
                else:
                    found = loads.get(node.id)  # type: ignore[attr-defined]
                    if found is None:
                        loads[node.id] = [node]  # type: ignore[attr-defined,list-item]
                    else:
                        found.append(node)  # type: ignore[arg-type]
                continue
            if cls in scoped:
                self._walk(node, scope)
                continue
            scope_of[id(node)] = scope
            kids = children(node)
            kids.reverse()
            stack += kids

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, scope: Scope) -> None:
        args = node.args
        self._walk_all([*args.defaults, *args.kw_defaults], scope)
        every = parameters(args)
        if not isinstance(node, ast.Lambda):
            self._walk_all(node.decorator_list, scope)
            self._walk_all([a.annotation for a in every], scope)
            self._walk_all([node.returns], scope)
            self._bind(scope, node.name, "def", node, _end(node))
        inner = Scope("function", scope, None if isinstance(node, ast.Lambda) else node.name)
        for arg in every:
            self._scope_of[id(arg)] = inner
            self._bind(inner, arg.arg, "param", arg, (0, 0))
        if isinstance(node, ast.Lambda):
            self._walk(node.body, inner)
        else:
            self._defer(node.body, inner)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp,
                       scope: Scope) -> None:
        generators = node.generators
        self._walk(generators[0].iter, scope)
        inner = Scope("comprehension", scope)
        for index, generator in enumerate(generators):
            self._scope_of[id(generator)] = inner
            if index:
                self._walk(generator.iter, inner)
            self._targets(generator.target, inner, (0, 0), "comprehension")
            self._walk_all(generator.ifs, inner)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        self._walk_all(parts, inner)

    # --- lookups ----------------------------------------------------------------------------------------------

    @staticmethod
    def _check(scope: Scope, name: str) -> None:
        if scope.unsure and name.split(".", 1)[0] in scope.unsure:
            raise Unsure(f"`{name}` is declared global/nonlocal or captured by a match pattern")

    def contains(self, scope: Scope | None, name: str) -> bool:
        """libcst's `name in scope` (memoised: a scope handed out has its bindings and its parents' complete)."""
        key = (id(scope), name)
        found = self._contains.get(key)
        if found is None:
            found = self._contains[key] = self._lookup(scope, name)
        return found

    def _lookup(self, scope: Scope | None, name: str) -> bool:
        while scope is not None:
            self._check(scope, name)
            if name in scope.overwrites:
                scope = scope.overwrites[name]
                continue
            if scope.bindings.get(name):
                return True
            if scope.kind == "global":
                return hasattr(builtins, name)
            scope = scope.visible_parent()
        return False

    def resolve(self, scope: Scope | None, name: str, from_scope: Scope | None = None) -> list[Binding]:
        """libcst's `scope._resolve_scope_for_access(name, ...)`: every binding of the innermost scope having one."""
        if scope is None:
            return []
        self._check(scope, name)
        if name in scope.overwrites:
            target = scope.overwrites[name]
            while target.kind == "class" and target.parent is not None:
                target = target.parent
            return self.resolve(target, name, from_scope)
        own = scope.bindings.get(name)
        if own:
            return own
        if scope.kind == "global":
            return [Binding(name, scope, BUILTIN, None, (0, 0))] if hasattr(builtins, name) else []
        return self.resolve(scope.visible_parent(), name, from_scope)

    def referents(self, node: ast.AST, name: str) -> list[Binding]:
        """The bindings a read of `name` at `node` refers to (libcst's `Access.referents`)."""
        scope = self.scope(node)
        found = self.resolve(scope, name)
        earlier = [b for b in found if b.scope is not scope or self._before(b, node)]
        if not earlier and found:
            parent = scope.parent
            if parent is None:
                return [Binding(name, scope, BUILTIN, None, (0, 0))] if hasattr(builtins, name) else []
            earlier = self.resolve(parent, name)
        return earlier

    def _before(self, binding: Binding, node: ast.AST) -> bool:
        if binding.kind == "param":
            return True
        if binding.kind == "comprehension":
            raise Unsure("a comprehension target read in its own comprehension")
        return _start(node) >= binding.done

    def accesses(self, scope: Scope, name: str) -> list[ast.Name]:
        """Reads of plain `name` recorded in `scope` (libcst's `scope.accesses[name]`)."""
        self._check(scope, name)
        return [n for n in scope.loads.get(name, ()) if self._access_node(n) is n]

    def _access_node(self, name: ast.Name) -> ast.AST:
        """The node libcst records a read at: the name, or the longest dotted attribute chain over it that an
        import binds (`import os.path`: the read of `os` in `os.path.join` is recorded at `os.path`)."""
        path: list[ast.AST] = []
        node: ast.AST = name
        while True:
            parent = self.parent_of(node)
            if isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node:
                path.append(parent)
                node = parent
                continue
            break
        tops = [i for i, n in enumerate(path) if isinstance(n, ast.Attribute)]
        if not tops or any(isinstance(n, ast.Subscript) for n in path[:tops[-1]]):
            return name
        scope = self.scope(name)
        for candidate in reversed(path[:tops[-1] + 1]):
            if self.contains(scope, full_name(candidate) or ""):
                return candidate
        return name

    def _reached(self, node: ast.AST) -> bool:
        """The walk reaches `node` (it has a scope)."""
        return id(node) in self._scope_of or self._opened_to(node) is not None

    def qualified_names(self, node: ast.AST) -> set[str]:
        """libcst's qualified names of an expression node."""
        if isinstance(node, (ast.Name, ast.Attribute)) and self._reached(node):
            root: ast.expr = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and isinstance(root.ctx, ast.Load) and self._reached(root) and \
                    self._access_node(root) is node:
                name = full_name(node) or ""
                return {q for b in self.referents(node if isinstance(node, ast.Name) else root, name)
                        for q in b.qualify(b.name)}
        full = full_name(node)
        if full is None:
            return set()
        scope = self.scope(node)
        prefix: str | None = full
        found: list[Binding] = []
        while prefix:
            if self.contains(scope, prefix):
                found = self.resolve(scope, prefix)
                break
            index = prefix.rfind(".")
            prefix = None if index == -1 else prefix[:index]
        return {q for b in found for q in b.qualify(full)}


def full_name(node: ast.AST | None) -> str | None:
    """libcst's `get_full_name_for_node` (a dotted name through attributes, calls and subscripts)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{full_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return full_name(node.func)
    if isinstance(node, ast.Subscript):
        return full_name(node.value)
    return None
