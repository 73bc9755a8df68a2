"""Security regression tests for the builtin fixers: one template per fixer class, filled in from the call site.

A template exercises the enclosing function through its public name with an attack input and checks the safe
outcome, so it fails on the unpatched code and passes on the patched one (agent.validate.regression runs it on
both and keeps it only then). What every template needs from the call site, and declines without:
- the flagged call sits in a module-level function (not a method, not a nested function, not at import time)
  of a module that can be imported by its dotted path (`app/config.py` -> `app.config`, `src/` stripped);
- the attack input reaches the call directly: the call's argument is one of that function's parameters (for
  the shell template: a parameter interpolated into the command text);
- every other parameter of the function has a default, so the test can call it with that one argument.
Classes with a template here: yaml_load (a YAML document with a Python tag must be refused with a YAMLError) and
shell_command (an argument with `; touch <file>` must not run a shell: the file is never created). Templates that
stub the library call and stop the function there (their own rules for reaching the call: stopped.py):
requests_timeout and tls_verify (http.py: the request carries a timeout / verifies certificates) and temp_file
(tempfiles.py: mkstemp, not mktemp) and sql_parameterize (sql.py: the input is bound, not pasted into the SQL
text), weak_hash (stubbed.py: no MD5/SHA-1 digest for security) and jinja2_autoescape (stubbed.py: autoescaping
on). xml_parser (xml_entities.py): an entity-expansion document must be refused.
Other fixer classes return a reason instead (`RegressionDecline`); that reason
is recorded on the proposal.
"""

from __future__ import annotations

import ast

from agent.engines.builtin.regression.http import timeout_test, verify_test
from agent.engines.builtin.regression.site import (
    CallSite,
    RegressionDecline,
    callee,
    module_name,
    parsed_module,
)
from agent.engines.builtin.regression.sql import sql_test
from agent.engines.builtin.regression.stubbed import autoescape_test, weak_hash_test
from agent.engines.builtin.regression.tempfiles import mktemp_test
from agent.engines.builtin.regression.xml_entities import XML_CALLS, xml_test
from agent.models import Finding

__all__ = ["RegressionDecline", "module_name", "regression_test_source"]


YAML_CALLS = {"load", "load_all", "full_load", "full_load_all", "unsafe_load", "unsafe_load_all"}
SHELL_CALLS = {"run", "call", "check_call", "check_output", "Popen", "system", "popen"}


def find_call_site(source: str, finding: Finding, names: set[str]) -> CallSite | RegressionDecline:
    """The call named one of `names` on the finding's lines, in a module-level function (see module doc)."""
    parsed = parsed_module(source, finding)
    if isinstance(parsed, RegressionDecline):
        return parsed
    module, tree = parsed
    first, last = finding.location.start_line, finding.location.last_line
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and callee(node) in names and first <= node.lineno <= last:
                return _with_parameter(module, function, node)
    return RegressionDecline("the flagged call is not inside a module-level function a test could call "
                             "(a method, a nested function, or code run at import time)")


def _with_parameter(module: str, function: ast.FunctionDef | ast.AsyncFunctionDef,
                    call: ast.Call) -> CallSite | RegressionDecline:
    if isinstance(function, ast.AsyncFunctionDef):
        return RegressionDecline(f"{function.name} is a coroutine function")
    args = function.args
    params = [a.arg for a in [*args.posonlyargs, *args.args]]
    required = params[: len(params) - len(args.defaults)]
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    carried = [n.id for n in ast.walk(call.args[0]) if isinstance(n, ast.Name)] if call.args else []
    candidates = [p for p in params + [a.arg for a in args.kwonlyargs] if p in carried]
    if not candidates:
        return RegressionDecline(f"no parameter of {function.name} reaches the flagged call directly, so a test "
                                 "cannot choose its input")
    parameter = candidates[0]
    others = [p for p in required if p != parameter]
    if others:
        return RegressionDecline(f"{function.name} needs other arguments ({', '.join(others)}) that a generic "
                                 "test cannot choose")
    return CallSite(module, function.name, parameter, call)


def yaml_test(site: CallSite) -> str | RegressionDecline:
    arg = site.call.args[0] if site.call.args else None
    if not (isinstance(arg, ast.Name) and arg.id == site.parameter):
        return RegressionDecline(f"the YAML text does not come straight from the parameter {site.parameter}")
    return f'''"""Security regression test written by suture (builtin template for yaml_load, CWE-502).

A YAML document with a Python tag must be refused: a loader that builds Python objects from tags lets the
document run code.
"""

import pytest
import yaml

from {site.module} import {site.function}


def test_{site.function}_refuses_python_tags():
    with pytest.raises(yaml.YAMLError):
        {site.function}({site.parameter}="!!python/tuple [1, 2]\\n")
'''


def shell_test(site: CallSite) -> str | RegressionDecline:
    arg = site.call.args[0] if site.call.args else None
    if isinstance(arg, ast.Name):
        return RegressionDecline("the command is a plain variable, so the shell text around the input is unknown")
    return f'''"""Security regression test written by suture (builtin template for shell_command, CWE-78).

An argument holding `; touch <file>` must not run a shell: the command is run as an argument list, so the file
is never created, whatever the command itself does with the odd argument.
"""

from {site.module} import {site.function}


def test_{site.function}_runs_no_shell(tmp_path):
    marker = tmp_path / "suture-shell-ran"
    try:
        {site.function}({site.parameter}="x; touch " + str(marker))
    except Exception:  # noqa: BLE001 - the command may fail on the odd argument; only the marker matters
        pass
    assert not marker.exists(), "the argument was run by a shell"
'''


TEMPLATES = {"yaml_load": (YAML_CALLS, lambda site, _: yaml_test(site)),
             "shell_command": (SHELL_CALLS, lambda site, _: shell_test(site)),
             "xml_parser": (XML_CALLS, xml_test)}
STOPPING_TEMPLATES = {"requests_timeout": timeout_test, "tls_verify": verify_test, "temp_file": mktemp_test,
                      "sql_parameterize": sql_test, "weak_hash": weak_hash_test,
                      "jinja2_autoescape": autoescape_test}


def regression_test_source(fixer: str | None, finding: Finding, unpatched_source: str) -> str | RegressionDecline:
    """The text of a regression test for `fixer`'s fix of `finding`, or why none can be written."""
    if fixer in STOPPING_TEMPLATES:
        return STOPPING_TEMPLATES[fixer](unpatched_source, finding)
    if fixer not in TEMPLATES:
        return RegressionDecline(f"no regression test template for the builtin fixer {fixer or '(none)'}")
    names, template = TEMPLATES[fixer]
    site = find_call_site(unpatched_source, finding, names)
    if isinstance(site, RegressionDecline):
        return site
    return template(site, unpatched_source)
