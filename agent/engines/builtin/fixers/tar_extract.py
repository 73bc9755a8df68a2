"""Extract tar archives through the "data" filter: `tar.extractall(...)` / `tar.extract(...)` get `filter="data"`.

Handles: `.extractall(...)` and `.extract(...)` calls whose receiver is a `tarfile.TarFile` as far as a static
check can tell: the expression `tarfile.open(...)` / `tarfile.TarFile(...)` itself, or a name bound (by `=` or
`with ... as`) only to such calls, or a parameter annotated `TarFile`; failing that, a module that imports
`tarfile` and not `zipfile` (the only common stdlib look-alike, whose extractall has no `filter`).
The "data" filter refuses absolute paths, `..` escapes, links pointing outside the target, device files, and
strips unsafe permission bits.

Requires Python >= 3.12, or a security backport (3.8.17, 3.9.17, 3.10.12, 3.11.4 and later): earlier versions
reject the `filter` argument with a TypeError.

Declines: a call that already passes `filter=` or `members=` (a members list or callable may already vet entries;
a person should reconcile the two), `*args`/`**kwargs`, and receivers that may not be tar archives.
"""

from __future__ import annotations

import ast

import libcst as cst

from agent.engines.builtin.fixers.ast_view import AstView, Unsure
from agent.engines.builtin.fixers.base import (
    CallFixer,
    Decline,
    ParsedSource,
    Rewrite,
    has_star_args,
    keyword_arg,
    positional_args,
    with_keyword,
)

TAR_CONSTRUCTORS = frozenset({"tarfile.open", "tarfile.TarFile", "tarfile.TarFile.open", "tarfile.TarFile.gzopen",
                              "tarfile.TarFile.bz2open", "tarfile.TarFile.xzopen", "tarfile.TarFile.taropen"})
METHODS = ("extractall", "extract")


def _builds_tarfile(parsed: ParsedSource, node: cst.CSTNode | None) -> bool:
    return isinstance(node, cst.Call) and bool(parsed.qualified_names(node.func) & TAR_CONSTRUCTORS)


def _name_is_tarfile(parsed: ParsedSource, name: cst.Name) -> bool:
    scope = parsed.scope(name)
    if scope is None or name not in scope.accesses:
        return False
    referents = [r for access in scope.accesses[name] for r in access.referents]
    if not referents:
        return False
    for referent in referents:
        node = getattr(referent, "node", None)
        parent = parsed.parent(node) if node is not None else None
        if isinstance(node, cst.Param):
            annotation = node.annotation
            if annotation is None or not parsed.code(annotation.annotation).strip().endswith("TarFile"):
                return False
        elif isinstance(parent, cst.AsName):
            with_item = parsed.parent(parent)
            if not (isinstance(with_item, cst.WithItem) and _builds_tarfile(parsed, with_item.item)):
                return False
        elif isinstance(parent, cst.AssignTarget):
            if not _builds_tarfile(parsed, parsed.parent(parent).value):  # type: ignore[union-attr]
                return False
        else:
            return False
    return True


def receiver_is_tarfile(parsed: ParsedSource, receiver: cst.BaseExpression) -> bool:
    if _builds_tarfile(parsed, receiver):
        return True
    if isinstance(receiver, cst.Name) and _name_is_tarfile(parsed, receiver):
        return True
    return parsed.imports_module("tarfile") and not parsed.imports_module("zipfile")


class TarExtractFixer(CallFixer):
    """TarFile.extractall/extract without filter/members -> filter="data" (module docstring)."""

    name = "tar_extract"
    summary = 'Extract tar archives with filter="data" so entries cannot escape the target directory'
    cwe = (22,)
    rule_ids = ("B202",)
    references = (
        "https://docs.python.org/3/library/tarfile.html#tarfile-extraction-filter",
        "https://peps.python.org/pep-0706/",
        "https://cwe.mitre.org/data/definitions/22.html",
    )
    review_guidance = (
        'filter="data" needs Python >= 3.12 or 3.8.17/3.9.17/3.10.12/3.11.4+; older interpreters raise TypeError. '
        "Archives with absolute paths, '..' entries, links leaving the target or device files now fail with "
        "tarfile.FilterError, and permission bits such as setuid are dropped."
    )
    target_description = "tarfile extractall/extract call"
    text_needs = ("extract",)  # its targets: extract()/extractall() calls

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        return isinstance(call.func, cst.Attribute) and call.func.attr.value in METHODS

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        assert isinstance(call.func, cst.Attribute)
        method = call.func.attr.value
        receiver = call.func.value
        if has_star_args(call):
            return Decline("the call passes *args or **kwargs, so a filter may already be set")
        existing = keyword_arg(call, "filter")
        if existing is not None:
            return Decline(f"the call already passes filter={parsed.code(existing.value).strip()}")
        positional = positional_args(call)
        members = keyword_arg(call, "members") or (
            positional[1] if method == "extractall" and len(positional) > 1 else None
        )
        if members is not None:
            return Decline(
                f"the call passes members={parsed.code(members.value).strip()}, which may already vet the entries; "
                "a person should decide how it combines with an extraction filter"
            )
        if not receiver_is_tarfile(parsed, receiver):
            return Decline(
                f"cannot tell that `{parsed.code(receiver).strip()}` is a tarfile.TarFile "
                "(zipfile's extractall has no filter argument)"
            )
        return Rewrite(call, with_keyword(call, "filter", '"data"'), f'added filter="data" to .{method}()')

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        return isinstance(call.func, ast.Attribute) and call.func.attr in METHODS

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        assert isinstance(call.func, ast.Attribute)
        if view.has_star(call) or view.keyword(call, "filter") is not None:
            return False
        positional = view.positional(call)
        if view.keyword(call, "members") or (call.func.attr == "extractall" and len(positional) > 1):
            return False
        return _ast_receiver_is_tarfile(view, call.func.value)


def _ast_builds_tarfile(view: AstView, node: ast.AST | None) -> bool:
    return isinstance(node, ast.Call) and bool(view.call_names(node) & TAR_CONSTRUCTORS)


def _ast_name_is_tarfile(view: AstView, name: ast.Name) -> bool:
    """`_name_is_tarfile` on the ast tree: every binding any read of the name in its scope refers to makes one."""
    scopes = view.scopes
    reads = scopes.accesses(scopes.scope(name), name.id)
    referents = [b for read in reads for b in scopes.referents(read, name.id)]
    if not referents:
        return False
    for binding in referents:
        if binding.kind == "param":
            annotation = binding.node.annotation  # type: ignore[union-attr]
            if annotation is None:
                return False
            if view.grouped(annotation):
                raise Unsure("a parenthesised annotation")
            if not view.segment(annotation).strip().endswith("TarFile"):
                return False
        elif binding.kind in ("with", "assign"):
            if not _ast_builds_tarfile(view, binding.value):
                return False
        else:
            return False
    return True


def _ast_receiver_is_tarfile(view: AstView, receiver: ast.expr) -> bool:
    if _ast_builds_tarfile(view, receiver):
        return True
    if isinstance(receiver, ast.Name) and _ast_name_is_tarfile(view, receiver):
        return True
    return view.imports_module("tarfile") and not view.imports_module("zipfile")
