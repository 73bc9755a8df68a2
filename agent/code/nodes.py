"""Fast traversal of stdlib `ast` trees: the child nodes of a node without `ast.iter_child_nodes`' overhead.

Handles every node class of the running Python's `ast` module. `CHILD_FIELDS[cls]` names the fields of a node
class that may hold nodes, in `_fields` order (the order `ast.iter_child_nodes` yields them), leaving out the
ones that never lead anywhere the facts layer looks: identifiers and numbers, a `Constant`'s value, the
expression context (`ctx`: Load/Store/Del) and operators (`op`, `ops`: leaf singletons). So
`children(node)` is `ast.iter_child_nodes(node)` without those leaf nodes, in the same order, and a walk with it
reaches every statement, expression, handler, argument, keyword, comprehension, pattern and alias the full walk
reaches.
"""

from __future__ import annotations

import ast

_NOT_NODES = frozenset({"ctx", "op", "ops", "id", "attr", "name", "arg", "module", "level", "type_comment", "kind",
                        "conversion", "is_async", "simple", "tag", "rest", "kwd_attrs", "asname"})


def _child_fields() -> dict[type[ast.AST], tuple[str, ...]]:
    table: dict[type[ast.AST], tuple[str, ...]] = {}
    for value in vars(ast).values():
        if isinstance(value, type) and issubclass(value, ast.AST):
            fields = tuple(f for f in value._fields if f not in _NOT_NODES)
            if value is ast.Constant or value is ast.Global or value is ast.Nonlocal:
                fields = ()  # a constant's value and global/nonlocal names are not nodes
            table[value] = fields
    return table


CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = _child_fields()


def children(node: ast.AST) -> list[ast.AST]:
    """The node's children that may lead to other nodes, in `ast.iter_child_nodes` order (module docstring)."""
    found: list[ast.AST] = []
    for name in CHILD_FIELDS.get(node.__class__, ()):
        value = getattr(node, name, None)
        if value is None:
            continue
        if value.__class__ is list:
            found.extend(x for x in value if x is not None)
        else:
            found.append(value)
    return found


_STATEMENT_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
# the fields of each node class that hold statement lists (an except handler's or match case's body too)
BLOCK_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {
    cls: tuple(f for f in _STATEMENT_BLOCKS if f in cls._fields)
    for cls in CHILD_FIELDS
    if cls not in (ast.Lambda, ast.IfExp, ast.Expression) and any(f in cls._fields for f in _STATEMENT_BLOCKS)}


def import_statements(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The module's `import` / `from ... import` statements, wherever they are, in `ast.walk` order (breadth
    first: by depth in the tree, then in source order). Only statements can hold them, so only statement lists
    are walked (an except handler or match case is one level of depth between its statement and its body)."""
    return statement_facts(tree)[0]


def statement_facts(tree: ast.Module) -> tuple[list[ast.Import | ast.ImportFrom], bool]:
    """(`import_statements(tree)`, whether a `global` or `nonlocal` statement occurs): one walk of the statement
    lists, none of the expressions."""
    found: list[tuple[int, int, ast.Import | ast.ImportFrom]] = []
    declares = False
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    blocks, imports, scoped = BLOCK_FIELDS, (ast.Import, ast.ImportFrom), (ast.Global, ast.Nonlocal)
    order = 0
    while stack:
        node, depth = stack.pop()
        order += 1
        cls = node.__class__
        names = blocks.get(cls)
        if names is None:
            if cls in imports:
                found.append((depth, order, node))  # type: ignore[arg-type]
            elif cls in scoped:
                declares = True
            continue
        inner: list[tuple[ast.AST, int]] = []
        for name in names:
            inner.extend((child, depth + 1) for child in getattr(node, name))
        inner.reverse()
        stack.extend(inner)
    found.sort(key=lambda t: (t[0], t[1]))
    return [node for _, _, node in found], declares
