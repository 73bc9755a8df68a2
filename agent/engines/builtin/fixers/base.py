"""What every deterministic fixer shares: metadata, the result type, and a parsed view of the source.

A fixer is one narrow, well-understood rewrite (see the modules beside this one). It must check that the code at
the finding's lines has exactly the shape it knows how to rewrite, and otherwise *decline* with a reason a reviewer
understands: a fixer never rewrites blindly. Rewrites go through libcst, so code the fixer does not touch keeps its
formatting and comments byte for byte.

`CallFixer` is the common case: find the calls on the finding's lines that the fixer targets, plan a rewrite for
each one (or a reason to leave it), replace the nodes, add the imports the new code needs.
"""

from __future__ import annotations

import ast
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    CodeRange,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from agent.engines.builtin.fixers.ast_view import AstView
from agent.errors import SutureError
from agent.models import Finding


class SourceParseError(SutureError):
    """The file under repair is not Python that libcst can parse."""


@dataclass(frozen=True)
class FixResult:
    """A fixer's answer. `new_source` None means it declined; `reason` then says why, otherwise what changed."""

    new_source: str | None
    reason: str
    dependencies: tuple[str, ...] = ()  # distributions the rewritten code imports that it did not before

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("a FixResult must say what changed or why the fixer declined")

    @property
    def fixed(self) -> bool:
        return self.new_source is not None


@dataclass(frozen=True)
class NeededImport:
    """An import the rewritten code needs: `import module` (obj None) or `from module import obj`."""

    module: str
    obj: str | None = None


@dataclass(frozen=True)
class Rewrite:
    """Replace `original` (a node of the parsed module) with `replacement`; `summary` says what changed."""

    original: cst.CSTNode
    replacement: cst.CSTNode
    summary: str
    imports: tuple[NeededImport, ...] = ()
    dependencies: tuple[str, ...] = ()  # third-party distributions the replacement needs (e.g. "defusedxml")


@dataclass(frozen=True)
class Decline:
    """Why one candidate at the location is left alone."""

    reason: str


class ParsedSource:
    """A parsed module plus the libcst metadata fixers and the evidence checks use."""

    def __init__(self, source: str) -> None:
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as exc:
            raise SourceParseError(
                f"the file does not parse as Python (line {exc.raw_line}): {exc.message}"
            ) from exc
        self.wrapper = MetadataWrapper(module, unsafe_skip_copy=True)  # a fresh tree: nothing else holds it
        self.module = self.wrapper.module
        try:
            self._positions = self.wrapper.resolve(PositionProvider)
            self._parents = self.wrapper.resolve(ParentNodeProvider)
            self._scopes = self.wrapper.resolve(ScopeProvider)
            self._qualified = self.wrapper.resolve(QualifiedNameProvider)
        except NotImplementedError as exc:  # libcst's scope analysis refuses what Python would not compile
            raise SourceParseError(f"the file does not compile as Python: {exc}") from exc
        self._preorder: list[cst.CSTNode] | None = None  # every node, in visit order (nodes_on_lines)
        self._by_type: dict[type, list[tuple[cst.CSTNode, int, int]]] = {}

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def span(self, node: cst.CSTNode) -> CodeRange:
        return self._positions[node]

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._parents.get(node)

    def scope(self, node: cst.CSTNode):  # -> libcst.metadata.Scope | None
        return self._scopes.get(node)

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        value = self._qualified.get(node)
        if value is None:
            return set()
        if callable(value):  # libcst hands out LazyValue wrappers for qualified names
            value = value()
        return {q.name for q in value}

    def overlaps(self, node: cst.CSTNode, first_line: int, last_line: int) -> bool:
        pos = self.span(node)
        return pos.start.line <= last_line and pos.end.line >= first_line

    def nodes_on_lines(self, node_type: type[cst.CSTNode], first_line: int, last_line: int) -> list:
        """Every node of `node_type` whose source range overlaps the given lines, in source order. The tree is
        walked once per parse (nodes of each type listed with their lines); each call then only filters that list:
        detectors ask for every finding of a file (triage's quick-win check asks once per finding)."""
        listed = self._by_type.get(node_type)
        if listed is None:
            if self._preorder is None:
                order: list[cst.CSTNode] = []

                class _Collect(cst.CSTVisitor):
                    def on_visit(self, node: cst.CSTNode) -> bool:
                        order.append(node)
                        return True

                self.module.visit(_Collect())
                self._preorder = order
            listed = self._by_type[node_type] = [
                (n, self.span(n).start.line, self.span(n).end.line) for n in self._preorder if isinstance(n, node_type)]
        return [n for n, start, end in listed if start <= last_line and end >= first_line]

    def ancestors(self, node: cst.CSTNode):
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    def imports_module(self, module_name: str) -> bool:
        """True when the module imports `module_name` (or something from it) anywhere."""
        for imp in self.nodes_on_lines(cst.Import, 1, 10**9):
            if any(self.code(alias.name) == module_name for alias in imp.names):
                return True
        for imp in self.nodes_on_lines(cst.ImportFrom, 1, 10**9):
            if imp.module is not None and self.code(imp.module) == module_name:
                return True
        return False


@lru_cache(maxsize=16)
def parse_source(source: str) -> ParsedSource:
    """`ParsedSource(source)`, memoised for the few most recent texts (selection, fixing and triage parse one file
    many times). The result is shared: fixers only read it and build new trees from it."""
    return ParsedSource(source)


def call_names(parsed: ParsedSource, call: cst.Call) -> set[str]:
    """Qualified names of a call's callee (`subprocess.run`, `yaml.load`, ...), empty when unknown."""
    return parsed.qualified_names(call.func)


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional_args(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def has_star_args(call: cst.Call) -> bool:
    return any(a.star for a in call.args)


def is_name(node: cst.CSTNode, value: str) -> bool:
    return isinstance(node, cst.Name) and node.value == value


def without_arg(call: cst.Call, dropped: cst.Arg) -> cst.Call:
    """`call` minus one argument, keeping the other arguments' layout (and a trailing comma if there was one)."""
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a is dropped)
    del args[index]
    if args and index == len(args):  # dropped the last one: the new last takes over its (trailing) comma
        args[-1] = args[-1].with_changes(comma=dropped.comma)
    return call.with_changes(args=args)


def with_keyword(call: cst.Call, name: str, value_code: str) -> cst.Call:
    """`call` plus `name=value` at the end, following the call's layout (one line or one argument per line)."""
    value = cst.parse_expression(value_code)
    new_arg = cst.Arg(keyword=cst.Name(name), value=value, equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new_arg])
    last = args[-1]
    if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
        separator = args[-2].comma
    else:
        separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    trailing = last.comma if isinstance(last.comma, cst.Comma) else cst.MaybeSentinel.DEFAULT
    args[-1] = last.with_changes(comma=separator)
    args.append(new_arg.with_changes(comma=trailing))
    return call.with_changes(args=args)


class _ReplaceNodes(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.CSTNode]) -> None:
        super().__init__()
        self._replacements = replacements

    def on_leave(self, original_node, updated_node):
        return self._replacements.get(id(original_node), updated_node)


def with_replacements(node: cst.CSTNode, replacements: dict[int, cst.CSTNode]) -> cst.CSTNode:
    """`node` with the descendants keyed by `id(original)` replaced: for a rewrite whose replacement contains the
    code of another rewrite (both are applied, so the outer one must already hold the inner result)."""
    if not replacements or not isinstance(node, cst.CSTNode):  # a FlattenSentinel (one statement -> several)
        return node
    # _ReplaceNodes only swaps nodes for the CSTNodes in `replacements`: never a removal or a flattening
    return cast(cst.CSTNode, node.visit(_ReplaceNodes(replacements)))


def apply_rewrites(parsed: ParsedSource, rewrites: list[Rewrite]) -> str:
    """The module's code with every rewrite applied and the needed imports added (each at most once)."""
    replacements = {id(r.original): r.replacement for r in rewrites}
    # a replacement that still holds another rewrite's original node (an outer call rewritten around an inner one)
    # gets the inner rewrite too: the transformer would otherwise put back the outer's stale copy of the inner
    resolved = {key: with_replacements(node, {k: v for k, v in replacements.items() if k != key})
                for key, node in replacements.items()}
    module = parsed.module.visit(_ReplaceNodes(resolved))
    imports = {imp for r in rewrites for imp in r.imports}
    if imports:
        context = CodemodContext()
        for imp in sorted(imports, key=lambda i: (i.module, i.obj or "")):
            AddImportsVisitor.add_needed_import(context, imp.module, imp.obj)
        module = AddImportsVisitor(context).transform_module(module)
    return module.code


class Fixer(ABC):
    """One deterministic rewrite for one class of finding. Subclasses set the metadata and implement `fix_parsed`."""

    name: str = ""
    summary: str = ""
    cwe: tuple[int, ...] = ()
    rule_ids: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    review_guidance: str = ""
    target_description: str = "code"  # e.g. "subprocess call with shell=True", for "no ... on line N"
    # Words of which a module's text must hold one for the fixer to rewrite anything in it (empty: no such
    # words): e.g. the first part of every qualified name its targets are chosen by (libcst and `ast_scopes` build
    # qualified names from the identifiers the source spells out), or the method or keyword name every target
    # carries. Triage's quick-win check passes the fixer over in text that has none of them (`quick_win`).
    text_needs: tuple[str, ...] = ()

    def matches_rule_id(self, finding: Finding) -> bool:
        """The rule id is one of `rule_ids`, also with a `:suffix` or behind a dotted prefix (semgrep names a
        local pack's rules after the config path: `agent.rules.semgrep.python-weak-hash`)."""
        rule = finding.rule_id.strip().upper()
        last = rule.rsplit(".", 1)[-1]
        return any(rule == r.upper() or rule.startswith(r.upper() + ":") or last == r.upper() for r in self.rule_ids)

    def matches(self, finding: Finding) -> bool:
        """Cheap pre-filter: the finding's rule id is one this fixer knows, or it carries one of its CWEs."""
        return self.matches_rule_id(finding) or bool(set(finding.cwe) & set(self.cwe))

    def fix(self, source: str, finding: Finding) -> FixResult:
        try:
            parsed = parse_source(source)
        except SourceParseError as exc:
            return FixResult(None, str(exc))
        first, last = finding.location.start_line, finding.location.last_line
        return self.fix_parsed(parsed, first, last)

    def applies_to(self, source: str, line: int, last_line: int | None = None) -> bool:
        """Does the code on `line` (..`last_line`) have the shape this fixer rewrites? False for unparsable text.

        A cheap detector for choosing a fixer: True does not promise a rewrite (the fixer may still decline,
        e.g. a password hashed with MD5); `fix` says that.
        """
        try:
            parsed = parse_source(source)
        except SourceParseError:
            return False
        return self.detects(parsed, line, line if last_line is None else last_line)

    @abstractmethod
    def detects(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        """The detector behind `applies_to`, on an already parsed module."""

    @abstractmethod
    def fix_parsed(self, parsed: ParsedSource, first_line: int, last_line: int) -> FixResult:
        """Rewrite the code on lines first_line..last_line, or decline with a reason."""

    def rewrites(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        """`fix_parsed(...).fixed` without rendering the rewritten module: some plan on the lines is a Rewrite."""
        return self.fix_parsed(parsed, first_line, last_line).fixed

    def would_rewrite(self, view: AstView, first_line: int, last_line: int) -> bool | None:
        """`rewrites` answered on the stdlib `ast` tree (`AstView`), for triage's quick-win check: the same targets
        (qualified names resolved as libcst resolves them) and the same decline rules as `fix_parsed`. None when
        the ast answer cannot be sure (the caller then asks libcst). Every fixer must provide one: the registry
        refuses a fixer without it, and tests/engines/builtin/test_would_rewrite.py checks the two agree."""
        raise NotImplementedError(f"fixer {self.name} has no ast-level would_rewrite")

    def not_found(self, first_line: int, last_line: int) -> str:
        """The decline reason when `detects` is False: what the fixer looked for and where."""
        return f"no {self.target_description} on {lines_label(first_line, last_line)}"


def lines_label(first_line: int, last_line: int) -> str:
    return f"line {first_line}" if first_line == last_line else f"lines {first_line}-{last_line}"


class CallFixer(Fixer):
    """A fixer whose targets are calls: `is_target` picks them, `plan` rewrites one or declines it."""

    @abstractmethod
    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool: ...

    @abstractmethod
    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline: ...

    def targets(self, parsed: ParsedSource, first_line: int, last_line: int) -> list[cst.Call]:
        calls = [c for c in parsed.nodes_on_lines(cst.Call, first_line, last_line) if self.is_target(parsed, c)]
        ids = {id(c) for c in calls}
        return [c for c in calls if not any(id(a) in ids for a in parsed.ancestors(c))]

    def detects(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        return bool(self.targets(parsed, first_line, last_line))

    def fix_parsed(self, parsed: ParsedSource, first_line: int, last_line: int) -> FixResult:
        calls = self.targets(parsed, first_line, last_line)
        if not calls:
            return FixResult(None, self.not_found(first_line, last_line))
        return combine(parsed, [(c, self.plan(parsed, c)) for c in calls])

    def rewrites(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        return any(isinstance(self.plan(parsed, c), Rewrite) for c in self.targets(parsed, first_line, last_line))

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        """`is_target` on the ast tree."""
        raise NotImplementedError(f"fixer {self.name} has no ast-level is_target")

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        """Would `plan` return a Rewrite for this target call (None: cannot tell without libcst)?"""
        raise NotImplementedError(f"fixer {self.name} has no ast-level plan")

    def would_rewrite(self, view: AstView, first_line: int, last_line: int) -> bool | None:
        calls = view.call_targets(lambda c: self.ast_is_target(view, c), first_line, last_line)
        return any_rewrite(self.ast_plan(view, c) for c in calls)


def any_rewrite(answers) -> bool | None:
    """True when some plan rewrites, False when none does, None when none does for sure but some cannot tell."""
    unsure = False
    for answer in answers:
        if answer:
            return True
        unsure = unsure or answer is None
    return None if unsure else False


def combine(parsed: ParsedSource, plans: list[tuple[cst.CSTNode, Rewrite | Decline]]) -> FixResult:
    """One FixResult from per-candidate plans: the rewrites applied, the declines reported."""
    rewrites = [p for _, p in plans if isinstance(p, Rewrite)]
    declines = [(node, p) for node, p in plans if isinstance(p, Decline)]
    declined_text = "; ".join(f"line {parsed.span(n).start.line}: {d.reason}" for n, d in declines)
    if not rewrites:
        return FixResult(None, declined_text)
    changed = "; ".join(f"line {parsed.span(r.original).start.line}: {r.summary}" for r in rewrites)
    reason = changed if not declines else f"{changed}. Left unchanged: {declined_text}"
    dependencies = tuple(sorted({d for r in rewrites for d in r.dependencies}))
    return FixResult(apply_rewrites(parsed, rewrites), reason, dependencies)


def rename_callee(call: cst.Call, module: str, new_name: str) -> tuple[cst.Call, tuple[NeededImport, ...]]:
    """Call `module.new_name` instead, in the same style the code used (`mod.f(...)` or an imported `f(...)`)."""
    if isinstance(call.func, cst.Attribute):
        return call.with_changes(func=call.func.with_changes(attr=cst.Name(new_name))), ()
    return call.with_changes(func=cst.Name(new_name)), (NeededImport(module, new_name),)
