"""Fast traversal of stdlib `ast` trees: the child nodes of a node without `ast.iter_child_nodes`' overhead.

Handles every node class of the running Python's `ast` module. `CHILD_FIELDS[cls]` names the fields of a node
class that may hold nodes, in `_fields` order (the order `ast.iter_child_nodes` yields them), leaving out the
ones that never lead anywhere the facts layer looks: identifiers and numbers, a `Constant`'s value (and
`case None:`'s), the expression context (`ctx`: Load/Store/Del) and operators (`op`, `ops`: leaf singletons). So
`children(node)` is `ast.iter_child_nodes(node)` without those leaf nodes, in the same order, and a walk with it
reaches every statement, expression, handler, argument, keyword, comprehension, pattern and alias the full walk
reaches. Lists are read as `ast.parse` builds them: None only where `NONE_IN_LISTS` says.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

_NOT_NODES = frozenset({"ctx", "op", "ops", "id", "attr", "name", "arg", "module", "level", "type_comment", "kind",
                        "conversion", "is_async", "simple", "tag", "rest", "kwd_attrs", "asname"})


def _child_fields() -> dict[type[ast.AST], tuple[str, ...]]:
    table: dict[type[ast.AST], tuple[str, ...]] = {}
    for value in vars(ast).values():
        if isinstance(value, type) and issubclass(value, ast.AST):
            fields = tuple(f for f in value._fields if f not in _NOT_NODES)
            if value in (ast.Constant, ast.Global, ast.Nonlocal, ast.MatchSingleton):
                fields = ()  # a constant's value (`case None:`'s too) and global/nonlocal names are not nodes
            table[value] = fields
    return table


CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = _child_fields()
# the list fields that `ast.parse` fills with None as well as nodes (`{**d}`'s key, a keyword-only parameter
# without a default); every other list field of a parsed tree holds nodes only
NONE_IN_LISTS = frozenset({(ast.Dict, "keys"), (ast.arguments, "kw_defaults")})
# `CHILD_FIELDS` with, per field, whether a list in it may hold None
CHILD_SPEC: dict[type[ast.AST], tuple[tuple[str, bool], ...]] = {
    cls: tuple((name, (cls, name) in NONE_IN_LISTS) for name in fields) for cls, fields in CHILD_FIELDS.items()}


def children(node: ast.AST) -> list[ast.AST]:
    """The node's children that may lead to other nodes, in `ast.iter_child_nodes` order (module docstring)."""
    found: list[ast.AST] = []
    for name, holes in CHILD_SPEC.get(node.__class__, ()):
        value = getattr(node, name, None)
        if value is None:
            continue
        if value.__class__ is not list:
            found.append(value)
        elif holes:
            found.extend([x for x in value if x is not None])
        else:
            found += value
    return found


def subtree(node: ast.AST) -> Iterator[ast.AST]:
    """`node` and every node below it that `children` leads to (what `ast.walk` yields but the leaf singletons:
    contexts and operators), depth first."""
    stack = [node]
    while stack:
        found = stack.pop()
        yield found
        stack += children(found)


_STATEMENT_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
# the fields of each node class that hold statement lists (an except handler's or match case's body too), in the
# class's field order (`ast.walk`'s: a `try`'s handlers come before its `else` and `finally`)
BLOCK_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {
    cls: tuple(f for f in cls._fields if f in _STATEMENT_BLOCKS)
    for cls in CHILD_FIELDS
    if cls not in (ast.Lambda, ast.IfExp, ast.Expression) and any(f in cls._fields for f in _STATEMENT_BLOCKS)}


def import_statements(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The module's `import` / `from ... import` statements, wherever they are, in `ast.walk` order (breadth
    first: by depth in the tree, then in source order). Only statements can hold them, so only statement lists
    are walked (an except handler or match case is one level of depth between its statement and its body)."""
    return statement_facts(tree)[0]


def statement_facts(tree: ast.Module) -> tuple[list[ast.Import | ast.ImportFrom], bool]:
    """(`import_statements(tree)`, whether a `global` or `nonlocal` statement occurs): one breadth-first walk of
    the statement lists (by depth, then in source order: `ast.walk`'s order), none of the expressions."""
    found: list[ast.Import | ast.ImportFrom] = []
    declares = False
    blocks, imports, scoped = BLOCK_FIELDS, (ast.Import, ast.ImportFrom), (ast.Global, ast.Nonlocal)
    level: list[ast.AST] = [tree]
    while level:
        below: list[ast.AST] = []
        for node in level:
            cls = node.__class__
            names = blocks.get(cls)
            if names is None:
                if cls in imports:
                    found.append(node)  # type: ignore[arg-type]
                elif cls in scoped:
                    declares = True
                continue
            for name in names:
                below += getattr(node, name)
        level = below
    return found, declares
