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


def _child_fields() -> dict[type, tuple[str, ...]]:
    table: dict[type, tuple[str, ...]] = {}
    for value in vars(ast).values():
        if isinstance(value, type) and issubclass(value, ast.AST):
            fields = tuple(f for f in value._fields if f not in _NOT_NODES)
            if value is ast.Constant or value is ast.Global or value is ast.Nonlocal:
                fields = ()  # a constant's value and global/nonlocal names are not nodes
            table[value] = fields
    return table


CHILD_FIELDS: dict[type, tuple[str, ...]] = _child_fields()


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
