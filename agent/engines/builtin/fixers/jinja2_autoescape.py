"""Turn on HTML autoescaping for Jinja2 environments and templates.

Handles: `jinja2.Environment(...)`, `jinja2.sandbox.SandboxedEnvironment(...)` and `jinja2.Template(...)` (any
import style) called without `autoescape=` or with the literal `autoescape=False`:

* an Environment gets `autoescape=select_autoescape()`: escaping on for templates named `.html`/`.htm`/`.xml` and
  for templates built from strings, off for other files (plain-text mails, configs), as Jinja2's docs recommend;
* a Template (always built from a string) gets `autoescape=True`.

`select_autoescape` is imported the way the code imports Jinja2 (`jinja2.select_autoescape()` or
`from jinja2 import select_autoescape`).

Declines: autoescape already on (`True`, `select_autoescape(...)`), autoescape set from another expression (a
variable or a custom function: a person must decide where the setting comes from), and `**kwargs` that may carry
it.
"""

from __future__ import annotations

import ast

import libcst as cst

from agent.engines.builtin.fixers.ast_view import AstView
from agent.engines.builtin.fixers.base import (
    CallFixer,
    Decline,
    NeededImport,
    ParsedSource,
    Rewrite,
    call_names,
    has_star_args,
    is_name,
    keyword_arg,
    with_keyword,
)

ENVIRONMENTS = frozenset({"jinja2.Environment", "jinja2.environment.Environment",
                          "jinja2.sandbox.SandboxedEnvironment", "jinja2.sandbox.ImmutableSandboxedEnvironment"})
TEMPLATES = frozenset({"jinja2.Template", "jinja2.environment.Template"})
_AST_TARGETS = ENVIRONMENTS | TEMPLATES  # `ast_is_target`'s names


class Jinja2AutoescapeFixer(CallFixer):
    """Jinja2 Environment/Template without autoescape -> select_autoescape() / True (module docstring)."""

    name = "jinja2_autoescape"
    summary = "Turn on Jinja2 HTML autoescaping so interpolated values cannot inject markup or scripts"
    cwe = (79, 116, 94, 1336)
    rule_ids = ("B701", "python-jinja2-autoescape-disabled")
    references = (
        "https://jinja.palletsprojects.com/en/stable/api/#autoescaping",
        "https://cwe.mitre.org/data/definitions/79.html",
    )
    review_guidance = (
        "Values rendered into HTML/XML templates are now escaped. A value that deliberately carries trusted HTML "
        "must be marked with the |safe filter or markupsafe.Markup, or it shows up as escaped text; check the "
        "templates for such values. Templates with other extensions (.txt, .j2 mails) stay unescaped."
    )
    target_description = "jinja2 Environment/Template call"
    text_needs = ("jinja2",)  # its targets: jinja2.* calls

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        return bool(call_names(parsed, call) & (ENVIRONMENTS | TEMPLATES))

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        setting = keyword_arg(call, "autoescape")
        if setting is None and has_star_args(call):
            return Decline("the call passes *args or **kwargs, which may set autoescape")
        kind = "Template" if call_names(parsed, call) & TEMPLATES else "Environment"
        imports: tuple[NeededImport, ...]
        if kind == "Template":
            value, imports = "True", ()
        elif isinstance(call.func, cst.Attribute) and parsed.qualified_names(call.func.value) == {"jinja2"}:
            value, imports = f"{parsed.code(call.func.value).strip()}.select_autoescape()", ()
        else:
            value, imports = "select_autoescape()", (NeededImport("jinja2", "select_autoescape"),)
        if setting is None:
            new_call = with_keyword(call, "autoescape", value)
            return Rewrite(call, new_call, f"added autoescape={value} to the {kind}", imports)
        current = parsed.code(setting.value).strip()
        if is_name(setting.value, "False"):
            new_call = call.with_changes(args=[
                a.with_changes(value=cst.parse_expression(value)) if a is setting else a for a in call.args])
            return Rewrite(call, new_call, f"replaced autoescape=False with autoescape={value}", imports)
        if is_name(setting.value, "True") or (
            isinstance(setting.value, cst.Call) and "select_autoescape" in parsed.code(setting.value.func)
        ):
            return Decline(f"autoescape={current} already escapes")
        return Decline(f"autoescape= is set from `{current}`; a person must decide where that setting comes from")

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        return bool(view.call_names(call) & _AST_TARGETS)

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        setting = view.keyword(call, "autoescape")
        if setting is None:
            return not view.has_star(call)
        return view.is_name(setting.value, "False")
