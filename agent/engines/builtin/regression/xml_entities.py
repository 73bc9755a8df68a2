"""Regression template for xml_parser: a document that declares entities must be refused.

The builtin fixer moves standard-library parse calls (`ElementTree.fromstring/XML/parse`, `minidom`/`pulldom`
`parse/parseString`, …) to defusedxml, which raises on any entity declaration; the standard library expands them
(billion laughs). The test hands the function a small entity-expansion document — as text for `fromstring`, `XML`
and `parseString`, as a file path for `parse` — and expects it refused with an exception. Needs what the yaml
template needs (agent.engines.builtin.regression: a module-level function, the document reaching the call's
first argument straight from one parameter, every other parameter defaulted). Declined: modules that import lxml
(its fix turns entity resolution off instead of refusing the document), `iterparse` (lazy: nothing is parsed
until iterated) and parser objects (`parser.parse`, `XMLParser`, `make_parser`), whose fix differs.
"""

from __future__ import annotations

import ast

from agent.engines.builtin.regression.site import CallSite, RegressionDecline

TEXT_CALLS = {"fromstring", "XML", "parseString"}
FILE_CALLS = {"parse"}
XML_CALLS = TEXT_CALLS | FILE_CALLS
PARSER_MODULES = {"ET", "ElementTree", "etree", "cElementTree", "minidom", "pulldom", "expatbuilder", "sax"}
DOCUMENT = ('<?xml version="1.0"?>\\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\\n<lolz>&lol2;</lolz>\\n')


def xml_test(site: CallSite, source: str) -> str | RegressionDecline:
    """The test for `site` (a CallSite of the package's find_call_site), or why none fits."""
    if any(line.lstrip().startswith(("import lxml", "from lxml")) for line in source.splitlines()):
        return RegressionDecline("the module uses lxml; its fix turns entity resolution off rather than refusing "
                                 "the document, which this template does not check")
    func = site.call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if isinstance(func, ast.Attribute) and not (isinstance(func.value, ast.Name | ast.Attribute)
                                                and _last_name(func.value) in PARSER_MODULES):
        return RegressionDecline(f"the call {name} is not on a standard-library XML module (a parser object?)")
    arg = site.call.args[0] if site.call.args else None
    if not (isinstance(arg, ast.Name) and arg.id == site.parameter):
        return RegressionDecline(f"the document does not come straight from the parameter {site.parameter}")
    if name in FILE_CALLS:
        setup = (f'    document = tmp_path / "suture-entities.xml"\n    document.write_text(DOCUMENT)\n'
                 f"    with pytest.raises(Exception):  # noqa: B017 - any refusal will do; accepting it is the flaw\n"
                 f"        {site.function}({site.parameter}=str(document))\n")
    else:
        setup = (f"    with pytest.raises(Exception):  # noqa: B017 - any refusal will do; accepting it is the flaw\n"
                 f"        {site.function}({site.parameter}=DOCUMENT)\n")
    return f'''"""Security regression test written by suture (builtin template for xml_parser, CWE-776).

A document that declares entities must be refused: a parser that expands them can be made to build gigabytes
from a few lines (billion laughs) or to read local files into the document (external entities).
"""

import pytest

from {site.module} import {site.function}

DOCUMENT = '{DOCUMENT}'


def test_{site.function}_refuses_entity_declarations(tmp_path):
{setup}'''


def _last_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
