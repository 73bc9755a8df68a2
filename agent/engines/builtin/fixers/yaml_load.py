"""Load YAML with the safe loader: `yaml.load(x)` and friends become `yaml.safe_load(x)`.

Handles: `yaml.load(stream)` with no loader, or with `Loader=` / a second positional argument naming PyYAML's
unsafe loaders (`Loader`, `FullLoader`, `UnsafeLoader` and their C variants), the same for `yaml.load_all`, and
`yaml.full_load`, `yaml.unsafe_load` (and their `_all` forms), in any import style (`import yaml as y`,
`from yaml import load` — then `safe_load` is imported too). The result is `safe_load(stream)` or
`safe_load_all(stream)`.

Declines: a loader that is already safe (`SafeLoader`, `BaseLoader`, ...), a custom or computed Loader (it may
register constructors the code relies on), and calls with `*args`/`**kwargs`.
"""

from __future__ import annotations

import ast

import libcst as cst

from agent.engines.builtin.fixers.ast_view import AstView
from agent.engines.builtin.fixers.base import (
    CallFixer,
    Decline,
    ParsedSource,
    Rewrite,
    call_names,
    has_star_args,
    keyword_arg,
    positional_args,
    rename_callee,
    without_arg,
)

_SAFE_REPLACEMENT = {
    "load": "safe_load", "full_load": "safe_load", "unsafe_load": "safe_load",
    "load_all": "safe_load_all", "full_load_all": "safe_load_all", "unsafe_load_all": "safe_load_all",
}
TARGETS = frozenset(f"yaml.{name}" for name in _SAFE_REPLACEMENT)
UNSAFE_LOADERS = frozenset(
    f"yaml.{n}" for n in ("Loader", "FullLoader", "UnsafeLoader", "CLoader", "CFullLoader", "CUnsafeLoader")
) | frozenset(f"yaml.loader.{n}" for n in ("Loader", "FullLoader", "UnsafeLoader"))
SAFE_LOADERS = frozenset(f"yaml.{n}" for n in ("SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"))


class YamlLoadFixer(CallFixer):
    """yaml.load & co. with no or an unsafe PyYAML loader -> yaml.safe_load(_all) (module docstring)."""

    name = "yaml_load"
    summary = "Parse YAML with yaml.safe_load instead of a loader that can build arbitrary Python objects"
    cwe = (502,)
    rule_ids = ("B506",)
    references = (
        "https://pyyaml.org/wiki/PyYAMLDocumentation",
        "https://github.com/yaml/pyyaml/wiki/PyYAML-yaml.load(input)-Deprecation",
        "https://cwe.mitre.org/data/definitions/502.html",
    )
    review_guidance = (
        "safe_load builds only plain YAML types (dicts, lists, strings, numbers, dates): documents that use "
        "Python tags such as !!python/tuple or !!python/object now raise yaml.constructor.ConstructorError. "
        "Check that the files this code reads do not rely on them."
    )
    target_description = "yaml.load / load_all / full_load / unsafe_load call"
    text_needs = ("yaml",)  # its targets: yaml.* calls

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        return bool(call_names(parsed, call) & TARGETS)

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        if has_star_args(call):
            return Decline("the call passes *args or **kwargs, so its loader cannot be seen")
        function = min(call_names(parsed, call) & TARGETS).split(".", 1)[1]
        positional = positional_args(call)
        loader = keyword_arg(call, "Loader") or (positional[1] if len(positional) > 1 else None)
        new_call = call
        if loader is not None:
            loader_names = parsed.qualified_names(loader.value)
            loader_code = parsed.code(loader.value).strip()
            if loader_names & SAFE_LOADERS:
                return Decline(f"the call already uses the safe loader `{loader_code}`")
            if not loader_names & UNSAFE_LOADERS:
                return Decline(
                    f"the call uses the custom loader `{loader_code}`, which may register constructors the code "
                    "relies on; a person must decide whether a SafeLoader subclass keeps them"
                )
            new_call = without_arg(call, loader)
        safe_name = _SAFE_REPLACEMENT[function]
        new_call, imports = rename_callee(new_call, "yaml", safe_name)
        return Rewrite(call, new_call, f"replaced yaml.{function} with yaml.{safe_name}", imports)

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        return bool(view.call_names(call) & TARGETS)

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        if view.has_star(call):
            return False
        positional = view.positional(call)
        loader = view.keyword(call, "Loader") or (positional[1] if len(positional) > 1 else None)
        if loader is None:
            return True
        names = view.qualified_names(loader.value)
        return not names & SAFE_LOADERS and bool(names & UNSAFE_LOADERS)
