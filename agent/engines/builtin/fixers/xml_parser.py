"""Parse XML safely: standard-library parse calls -> defusedxml, unsafe parser flags -> safe ones.

Handles, on the finding's lines (any import style: `import xml.etree.ElementTree as ET`,
`from xml.etree import ElementTree as ET`, `from xml.dom.minidom import parseString`, `import xml.sax`):

* a standard-library parse function (`ElementTree.parse/iterparse/fromstring/XML/XMLParser`, `minidom` and
  `pulldom` `parse/parseString`, `sax.parse/parseString/make_parser`, `expatbuilder.parse/parseString`,
  `expatreader.create_parser`; tables in `xml_targets.py`) -> the defusedxml function of the same name, called
  as `defusedxml.<module>.<function>` with `import defusedxml.<module>` added and the old import removed when
  nothing else uses it. **defusedxml becomes a runtime dependency of the patched project** (the draft says so
  and whether the project already declares it);
* a SAX parser told to load external entities (`p.setFeature(feature_external_ges, True)`, also the `_pes`
  feature and their URIs) -> `False`: no new dependency;
* a method call on a variable holding a parser (`parser.parse(...)` after `parser = xml.sax.make_parser()` in
  the same scope; `parser.feed(data)` after `ET.XMLParser()` or lxml's `etree.XMLParser()`): a SAX parser's
  `setFeature(..., True)` calls flip to False when there are any, else the parser is made by defusedxml
  (`defusedxml.sax.make_parser()`, `defusedxml.ElementTree.XMLParser()`) or, for lxml, with safe flags;
* lxml (no defusedxml equivalent): `etree.XMLParser(...)` gets `resolve_entities=False` (and `no_network=True` if it
  was turned off); `etree.parse/fromstring/XML` without a parser get `parser=etree.XMLParser(resolve_entities=False,
  no_network=True)`; with a parser variable made by `etree.XMLParser(...)` in the same scope, that constructor is
  fixed; `etree.iterparse` gets `resolve_entities=False`;
* an import finding (bandit B405-B409: `import xml.dom.minidom`): every parse call through that import, when the
  module then no longer needs the import (so the finding goes away too).

Declines: a parse call given its own parser or SAX driver list (defusedxml would use it unchanged), a constant
document written in the source, `*args`/`**kwargs`, functions defusedxml has no equivalent for (`fromstringlist`,
`XMLPullParser`, xmlrpc — defusedxml guards xmlrpc only process-wide), lxml flags set from variables, parser
variables assigned more than once or elsewhere, and import findings whose import stays in use for other things
(building XML, `ET.Element`).
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import ImportAssignment

from agent.engines.builtin.fixers.ast_view import AstView
from agent.engines.builtin.fixers.base import (
    Decline,
    Fixer,
    FixResult,
    NeededImport,
    ParsedSource,
    Rewrite,
    call_names,
    combine,
    has_star_args,
    positional_args,
)
from agent.engines.builtin.fixers.xml_flags import (
    flip_feature,
    is_external_feature_on,
    is_none,
    parser_arg,
    plan_flags,
    plan_lxml_parse,
    plan_lxml_parser,
    single_binding,
)
from agent.engines.builtin.fixers.xml_targets import (
    DEFUSED,
    DRIVER_LIST_FUNCTIONS,
    IMPORT_MODULES,
    LXML_ITERPARSE,
    LXML_PARSE_WITH_PARSER,
    LXML_PARSER,
    NO_EQUIVALENT,
    PARSER_ARGUMENT,
    PARSER_FACTORIES,
    SAX_EXTERNAL_FEATURE_URIS,
    SAX_EXTERNAL_FEATURES,
)

Plan = tuple[cst.CSTNode, Rewrite | Decline]
DEPENDENCY = "defusedxml"


def _name_of(names: set[str], table) -> str | None:
    hits = sorted(n for n in names if n in table)
    return hits[0] if hits else None


def _root_name(func: cst.BaseExpression) -> cst.Name | None:
    while isinstance(func, cst.Attribute):
        func = func.value
    return func if isinstance(func, cst.Name) else None


def _import_binding(parsed: ParsedSource, call: cst.Call) -> tuple[str, str | None, str | None] | None:
    """(module, obj, asname) of the import the callee goes through, for removing it once unused."""
    root = _root_name(call.func)
    if root is None:
        return None
    scope = parsed.scope(root)
    if scope is None:
        return None
    callee = parsed.code(call.func).strip()
    for assignment in scope[root.value]:
        if not isinstance(assignment, ImportAssignment):
            continue
        node = assignment.node
        aliases = node.names if isinstance(node, (cst.Import, cst.ImportFrom)) else ()
        for alias in aliases if not isinstance(aliases, cst.ImportStar) else ():
            if alias.evaluated_alias is not None:
                matches = alias.evaluated_alias == root.value
            else:  # `import xml.sax` binds `xml`; the callee names the whole module path
                matches = callee.startswith(alias.evaluated_name + ".") or callee == alias.evaluated_name
            if not matches:
                continue
            if isinstance(node, cst.Import):
                return alias.evaluated_name, None, alias.evaluated_alias
            if isinstance(node, cst.ImportFrom) and node.module is not None and not node.relative:
                return parsed.code(node.module), alias.evaluated_name, alias.evaluated_alias
    return None


class XmlParserFixer(Fixer):
    """Standard-library XML parsing -> defusedxml; unsafe SAX/lxml flags -> safe ones (module docstring)."""

    name = "xml_parser"
    summary = "Parse XML without entity expansion or external entities (defusedxml, or safe parser flags)"
    cwe = (611, 776, 827)
    rule_ids = ("B313", "B314", "B315", "B316", "B317", "B318", "B319", "B320", "B405", "B406", "B407", "B408",
                "B409", "B410", "B411", "python-xml-unsafe-parser", "python-xml-external-entities-enabled")
    references = (
        "https://docs.python.org/3/library/xml.html#xml-vulnerabilities",
        "https://pypi.org/project/defusedxml/",
        "https://lxml.de/FAQ.html#how-do-i-use-lxml-safely-as-a-web-service-endpoint",
        "https://cwe.mitre.org/data/definitions/611.html",
    )
    review_guidance = (
        "A switch to defusedxml makes defusedxml (PyPI: defusedxml) a runtime dependency of this project: add it "
        "to the project's requirements; this patch does not edit dependency files. defusedxml refuses documents "
        "that declare entities or reference external ones, raising defusedxml.EntitiesForbidden / "
        "ExternalReferenceForbidden (ValueError subclasses, not ParseError): check that handlers of parse errors "
        "and the documents this code really reads cope. On Python >= 3.7.1 with Expat >= 2.4.1 the standard parsers "
        "already refuse external entities and entity-expansion bombs unless told otherwise; the change matters on "
        "older builds and where the code enabled external entities. lxml flags: resolve_entities=False leaves "
        "entity references unexpanded."
    )
    target_description = "XML parse call, XML parser object or unsafe parser flag"
    text_needs = ("xml", "setFeature")  # xml.* / lxml.* / xmlrpc.* names and imports, setFeature() calls

    def detects(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        return bool(self._plans(parsed, first_line, last_line))

    def fix_parsed(self, parsed: ParsedSource, first_line: int, last_line: int) -> FixResult:
        plans = self._plans(parsed, first_line, last_line)
        if not plans:
            return FixResult(None, self.not_found(first_line, last_line))
        result = combine(parsed, plans)
        if result.new_source is None:
            return result
        bindings = {_import_binding(parsed, node) for node, plan in plans
                    if isinstance(plan, Rewrite) and DEPENDENCY in plan.dependencies and isinstance(node, cst.Call)}
        return FixResult(_drop_unused_imports(result.new_source, {b for b in bindings if b is not None}), result.reason,
                         result.dependencies)

    def rewrites(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        return any(isinstance(plan, Rewrite) for _, plan in self._plans(parsed, first_line, last_line))

    def would_rewrite(self, view: AstView, first_line: int, last_line: int) -> bool | None:
        """False when nothing on the lines is an XML parse call, parser flag, parser object or XML import; True for
        a SAX `setFeature(external..., True)` (always flipped); None (ask libcst) for the rest."""
        calls = view.nodes_on_lines(ast.Call, first_line, last_line)
        planned, unsure = False, False
        for call in calls:
            names = view.call_names(call)
            if (qualified := _name_of(names, DEFUSED)) is not None:
                planned = True
                answer = _ast_defused_rewrites(view, call, qualified)
                if answer:
                    return True
                unsure = unsure or answer is None
            elif _name_of(names, NO_EQUIVALENT):
                planned = True
            elif LXML_PARSER in names or LXML_ITERPARSE in names or names & LXML_PARSE_WITH_PARSER:
                unsure = True
            elif _ast_external_feature_on(view, call):
                return True
        if unsure:
            return None
        if planned:
            return False
        for call in calls:
            if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
                factory = _ast_single_binding(view, call.func.value)
                if factory is not None and (LXML_PARSER in view.call_names(factory)
                                            or view.call_names(factory) & PARSER_FACTORIES):
                    return None
        for node in view.nodes_on_lines((ast.Import, ast.ImportFrom), first_line, last_line):
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                if alias.name == "*" or not (full in IMPORT_MODULES or module in IMPORT_MODULES
                                             or full.startswith("lxml")):
                    continue
                if not (full.startswith(("xmlrpc", "xmlrpclib", "lxml")) or module.startswith("xmlrpc")):
                    return None  # the parse calls through the import: _plan_binding_uses stays libcst's
        return False

    def _plans(self, parsed: ParsedSource, first: int, last: int) -> list[Plan]:
        calls = parsed.nodes_on_lines(cst.Call, first, last)
        plans: list[Plan] = []
        for call in calls:
            if any(isinstance(plan, Rewrite) and plan.original is call for _, plan in plans):
                continue  # already rewritten as the parser an enclosing call was given
            planned = self._plan_call(parsed, call)
            if planned is not None:
                plans.extend(planned)
        if not plans:
            for call in calls:
                plans.extend(self._plan_receiver(parsed, call))
        if not plans:
            for statement in parsed.nodes_on_lines(cst.SimpleStatementLine, first, last):
                for node in statement.body:
                    if isinstance(node, (cst.Import, cst.ImportFrom)):
                        plans.extend(_plan_import(parsed, node))
        unique: dict[int, Plan] = {}
        for node, plan in plans:
            unique.setdefault(id(node), (node, plan))
        return list(unique.values())

    def _plan_call(self, parsed: ParsedSource, call: cst.Call) -> list[Plan] | None:
        names = call_names(parsed, call)
        if (qualified := _name_of(names, DEFUSED)) is not None:
            return [(call, _plan_defused(parsed, call, qualified))]
        if (qualified := _name_of(names, NO_EQUIVALENT)) is not None:
            return [(call, Decline(f"{qualified}: {NO_EQUIVALENT[qualified]}"))]
        if LXML_PARSER in names:
            return [(call, plan_lxml_parser(parsed, call))]
        if LXML_ITERPARSE in names:
            return [(call, plan_flags(parsed, call, (("resolve_entities", "False"),), "lxml.etree.iterparse"))]
        if names & LXML_PARSE_WITH_PARSER:
            return plan_lxml_parse(parsed, call)
        if is_external_feature_on(parsed, call):
            return [(call, flip_feature(call))]
        return None

    def _plan_receiver(self, parsed: ParsedSource, call: cst.Call) -> list[Plan]:
        """A method call on a variable holding a parser made in the same scope (SAX, ElementTree.XMLParser, lxml's
        XMLParser: `parser.feed(data)`, `parser.parse(source)`)."""
        if not (isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name)):
            return []
        factory = single_binding(parsed, call.func.value)
        if factory is not None and LXML_PARSER in call_names(parsed, factory):
            return [(factory, plan_lxml_parser(parsed, factory))]
        if factory is None or not call_names(parsed, factory) & PARSER_FACTORIES:
            return []
        receiver = call.func.value.value
        scope = parsed.scope(call)
        flips: list[Plan] = [(c, flip_feature(c)) for c in parsed.nodes_on_lines(cst.Call, 1, 10**9)
                 if is_external_feature_on(parsed, c) and isinstance(c.func, cst.Attribute)
                 and isinstance(c.func.value, cst.Name) and c.func.value.value == receiver and parsed.scope(c) is scope]
        if flips:
            return flips
        qualified = _name_of(call_names(parsed, factory), DEFUSED)
        return [(factory, _plan_defused(parsed, factory, qualified))] if qualified else []


def _plan_defused(parsed: ParsedSource, call: cst.Call, qualified: str) -> Rewrite | Decline:
    if has_star_args(call):
        return Decline(f"{qualified} is called with *args or **kwargs, so a parser argument cannot be ruled out")
    if qualified in PARSER_ARGUMENT:
        own = parser_arg(call, *PARSER_ARGUMENT[qualified])
        if not is_none(own):
            assert own is not None  # is_none() holds for a missing argument
            made_by = own.value if isinstance(own.value, cst.Call) else (
                single_binding(parsed, own.value) if isinstance(own.value, cst.Name) else None)
            maker = _name_of(call_names(parsed, made_by), DEFUSED) if made_by is not None else None
            if maker is not None and made_by is not None and maker not in PARSER_ARGUMENT:
                return _plan_defused(parsed, made_by, maker)
            return Decline(f"{qualified} is given its own parser `{parsed.code(own.value).strip()}`, which defusedxml "
                           "would use unchanged: make that parser a defused one")
    if qualified in DRIVER_LIST_FUNCTIONS and positional_args(call):
        return Decline(f"{qualified} asks for specific SAX drivers, which defusedxml.sax.make_parser ignores")
    first = positional_args(call)
    if first and isinstance(first[0].value, (cst.SimpleString, cst.ConcatenatedString)):
        return Decline(f"{qualified} parses a constant document written in the source; nothing untrusted reaches it")
    module, function = DEFUSED[qualified]
    new_func = cst.parse_expression(f"{module}.{function}")
    return Rewrite(call, call.with_changes(func=new_func),
                   f"{qualified} -> {module}.{function} (defusedxml: a new runtime dependency of this project)",
                   (NeededImport(module),), (DEPENDENCY,))


def _plan_import(parsed: ParsedSource, node: cst.Import | cst.ImportFrom) -> list[Plan]:
    """An import finding: rewrite every parse call through the import when that leaves the import unused."""
    if isinstance(node.names, cst.ImportStar):
        return []
    module = parsed.code(node.module) if isinstance(node, cst.ImportFrom) and node.module is not None else ""
    plans: list[Plan] = []
    for alias in node.names:
        full = f"{module}.{alias.evaluated_name}" if module else alias.evaluated_name
        if not (full in IMPORT_MODULES or module in IMPORT_MODULES or full.startswith("lxml")):
            continue
        if full.startswith(("xmlrpc", "xmlrpclib")) or module.startswith("xmlrpc"):
            plans.append((node, Decline(NO_EQUIVALENT["xmlrpc.client.ServerProxy"])))
            continue
        if full.startswith("lxml"):
            plans.append((node, Decline("lxml has no defusedxml equivalent to import instead; its parse calls "
                                        "are made safe with parser flags through their own findings")))
            continue
        plans.extend(_plan_binding_uses(parsed, node, alias))
    return plans


def _plan_binding_uses(parsed: ParsedSource, node: cst.CSTNode, alias: cst.ImportAlias) -> list[Plan]:
    bound = alias.evaluated_alias or alias.evaluated_name  # libcst names `import xml.sax`'s binding "xml.sax"
    scope = parsed.scope(node)
    assignments = [a for a in scope.assignments if isinstance(a, ImportAssignment) and a.node is node
                   and a.name == bound] if scope else []
    calls: list[tuple[cst.Call, str]] = []
    other: list[cst.CSTNode] = []
    for reference in (r for a in assignments for r in a.references):
        call = _call_rooted_at(parsed, reference.node)
        qualified = _name_of(call_names(parsed, call), DEFUSED) if call is not None else None
        if call is None or qualified is None:  # qualified is None whenever call is
            other.append(reference.node)
        else:
            calls.append((call, qualified))
    if other:
        line = parsed.span(other[0]).start.line
        return [(node, Decline(f"`{bound}` is also used for more than parsing (line {line}: "
                               f"`{parsed.code(parsed.parent(other[0]) or other[0]).strip()}`), so the import and "
                               "its finding stay; the parse calls are fixed through their own findings"))]
    if not calls:
        return [(node, Decline(f"nothing in the module parses XML through `{bound}`"))]
    return [(call, _plan_defused(parsed, call, qualified)) for call, qualified in calls]


def _call_rooted_at(parsed: ParsedSource, name: cst.CSTNode) -> cst.Call | None:
    """The call whose callee is `name` or `name.attr...`, if `name` is used that way."""
    node = name
    for parent in parsed.ancestors(name):
        if isinstance(parent, cst.Attribute) and parent.value is node:
            node = parent
            continue
        return parent if isinstance(parent, cst.Call) and parent.func is node else None
    return None


def _drop_unused_imports(source: str, bindings: set[tuple[str, str | None, str | None]]) -> str:
    """`source` without the imports the rewritten calls went through, where nothing uses them any more."""
    if not bindings:
        return source
    context = CodemodContext()
    for module, obj, asname in bindings:
        RemoveImportsVisitor.remove_unused_import(context, module, obj, asname)
    return RemoveImportsVisitor(context).transform_module(cst.parse_module(source)).code


def _ast_external_feature_on(view: AstView, call: ast.Call) -> bool:
    """`is_external_feature_on` on the ast tree."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "setFeature"):
        return False
    args = view.positional(call)
    if len(args) != 2 or not view.is_name(args[1].value, "True"):
        return False
    feature = args[0].value
    if view.is_simple_string(feature):
        return feature.value in SAX_EXTERNAL_FEATURE_URIS  # type: ignore[attr-defined]
    return bool(view.qualified_names(feature) & SAX_EXTERNAL_FEATURES)


def _ast_defused_rewrites(view: AstView, call: ast.Call, qualified: str) -> bool | None:
    """`_plan_defused` on the ast tree: a Rewrite (True), a Decline (False), or None for a parser of its own."""
    if view.has_star(call):
        return False
    positional = view.positional(call)
    if qualified in PARSER_ARGUMENT:
        index, keyword = PARSER_ARGUMENT[qualified]
        own = view.keyword(call, keyword) or (positional[index] if len(positional) > index else None)
        if own is not None and not view.is_name(own.value, "None"):
            return None
    if qualified in DRIVER_LIST_FUNCTIONS and positional:
        return False
    first = positional[0].value if positional else None
    return not (view.is_simple_string(first) or view.is_concatenated_string(first))  # a constant document


def _ast_single_binding(view: AstView, name: ast.Name) -> ast.Call | None:
    """`single_binding` on the ast tree."""
    scopes = view.scopes
    bindings = scopes.resolve(scopes.scope(name), name.id)
    if len(bindings) != 1 or bindings[0].kind != "assign":
        return None
    assign = view.parent_of(bindings[0].node)
    if isinstance(assign, ast.Assign) and len(assign.targets) == 1 and isinstance(assign.value, ast.Call):
        return assign.value
    return None
