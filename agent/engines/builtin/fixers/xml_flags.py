"""Safe parser flags for the XML parser fixer: SAX external-entity features and lxml's parser options.

No new dependency: these rewrites change flags on parsers the code already uses.

* `p.setFeature(feature_external_ges | feature_external_pes | their URIs, True)` -> `False`;
* `lxml.etree.XMLParser(...)` -> `resolve_entities=False` added (or a literal True flipped), `no_network=False`
  flipped to True; flags set from variables are declined;
* `etree.parse/fromstring/XML` without a parser -> `parser=etree.XMLParser(resolve_entities=False, no_network=True)`;
  with an inline `XMLParser(...)` or a variable assigned once from one in the same scope, that constructor is
  fixed; any other parser is declined.

Also the small helpers both XML modules use: a call's parser argument, and the call a variable is assigned from.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import Assignment

from agent.engines.builtin.fixers.base import (
    Decline,
    NeededImport,
    ParsedSource,
    Rewrite,
    call_names,
    has_star_args,
    keyword_arg,
    positional_args,
    with_keyword,
    without_arg,
)
from agent.engines.builtin.fixers.xml_targets import (
    LXML_PARSER,
    SAX_EXTERNAL_FEATURE_URIS,
    SAX_EXTERNAL_FEATURES,
)

Plan = tuple[cst.CSTNode, Rewrite | Decline]


def parser_arg(call: cst.Call, index: int, keyword: str) -> cst.Arg | None:
    positional = positional_args(call)
    return keyword_arg(call, keyword) or (positional[index] if len(positional) > index else None)


def is_none(arg: cst.Arg | None) -> bool:
    return arg is None or (isinstance(arg.value, cst.Name) and arg.value.value == "None")


def single_binding(parsed: ParsedSource, name: cst.Name) -> cst.Call | None:
    """The call a local variable is assigned from, when it is assigned exactly once, by `name = call(...)`."""
    scope = parsed.scope(name)
    if scope is None:
        return None
    assignments = list(scope[name.value])
    if len(assignments) != 1 or not isinstance(assignments[0], Assignment):
        return None
    target = parsed.parent(assignments[0].node)
    statement = parsed.parent(target) if isinstance(target, cst.AssignTarget) else None
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1 and isinstance(statement.value, cst.Call):
        return statement.value
    return None


def _bool_literal(arg: cst.Arg | None) -> bool | None:
    if arg is not None and isinstance(arg.value, cst.Name) and arg.value.value in {"True", "False"}:
        return arg.value.value == "True"
    return None


def plan_flags(parsed: ParsedSource, call: cst.Call, flags, what: str) -> Rewrite | Decline:
    if has_star_args(call):
        return Decline(f"{what} is called with *args or **kwargs, so its flags cannot be seen")
    new_call, changed = call, list[str]()
    for flag, safe in flags:
        arg = keyword_arg(call, flag)
        if arg is None:
            if flag == "resolve_entities":
                new_call, changed = with_keyword(new_call, flag, safe), [*changed, f"{flag}={safe}"]
            continue
        current = _bool_literal(arg)
        if current is None:
            return Decline(f"{what} sets {flag} from `{parsed.code(arg.value).strip()}`, which cannot be checked here")
        if str(current) != safe:
            new_call = new_call.with_changes(args=[
                a.with_changes(value=cst.Name(safe)) if a.keyword is not None and a.keyword.value == flag else a
                for a in new_call.args])
            changed.append(f"{flag}={safe}")
    if not changed:
        return Decline(f"{what} already sets resolve_entities=False")
    return Rewrite(call, new_call, f"{what} now passes {', '.join(changed)}")


def plan_lxml_parser(parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
    return plan_flags(parsed, call, (("resolve_entities", "False"), ("no_network", "True")), "lxml.etree.XMLParser")


def plan_lxml_parse(parsed: ParsedSource, call: cst.Call) -> list[Plan]:
    if has_star_args(call):
        return [(call, Decline("the lxml parse call passes *args or **kwargs, so its parser cannot be seen"))]
    own = parser_arg(call, 1, "parser")
    if is_none(own):
        parser_code = (f"{parsed.code(call.func.value).strip()}.XMLParser" if isinstance(call.func, cst.Attribute)
                       else "XMLParser")
        imports = () if isinstance(call.func, cst.Attribute) else (NeededImport("lxml.etree", "XMLParser"),)
        value = f"{parser_code}(resolve_entities=False, no_network=True)"
        base = call if own is None else without_arg(call, own)
        return [(call, Rewrite(call, with_keyword(base, "parser", value),
                               "lxml parse call now uses a parser with resolve_entities=False, no_network=True",
                               imports))]
    assert own is not None  # is_none() holds for a missing argument
    if isinstance(own.value, cst.Call) and LXML_PARSER in call_names(parsed, own.value):
        return [(own.value, plan_lxml_parser(parsed, own.value))]
    if isinstance(own.value, cst.Name):
        made_by = single_binding(parsed, own.value)
        if made_by is not None and LXML_PARSER in call_names(parsed, made_by):
            return [(made_by, plan_lxml_parser(parsed, made_by))]
    return [(call, Decline(f"the lxml parse call uses the parser `{parsed.code(own.value).strip()}` made elsewhere; "
                           "create it with etree.XMLParser(resolve_entities=False, no_network=True)"))]


def is_external_feature_on(parsed: ParsedSource, call: cst.Call) -> bool:
    if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "setFeature"):
        return False
    args = positional_args(call)
    if len(args) != 2 or _bool_literal(args[1]) is not True:
        return False
    feature = args[0].value
    if isinstance(feature, cst.SimpleString):
        return feature.evaluated_value in SAX_EXTERNAL_FEATURE_URIS
    return bool(parsed.qualified_names(feature) & SAX_EXTERNAL_FEATURES)


def flip_feature(call: cst.Call) -> Rewrite:
    args = list(call.args)
    args[1] = args[1].with_changes(value=cst.Name("False"))
    return Rewrite(call, call.with_changes(args=args),
                   "the SAX parser no longer loads external entities (setFeature(..., False); no new dependency)")
