"""xml_parser: standard-library parse calls -> defusedxml, unsafe SAX/lxml flags -> safe ones; the rewritten code is
run against entity attacks. Declines: own parsers, constant documents, functions defusedxml lacks, xmlrpc."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from defusedxml import DefusedXmlException

from agent.engines.builtin import BuiltinEngine
from agent.engines.builtin.dependencies import declared_in
from agent.engines.builtin.fixers import fixers_for, rewriting_fixer
from agent.engines.builtin.fixers.xml_parser import XmlParserFixer
from agent.models import Context
from tests.engines.builtin.helpers import line_of, load_function, make_finding

FIXER = XmlParserFixer()
ENTITY_BOMB = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
               b"<r>&b;</r>")
PLAIN = b"<orders><order id='7'/><order id='9'/></orders>"


def fix_at(source: str, needle: str, rule: str = "B314"):
    source = textwrap.dedent(source)
    result = FIXER.fix(source, make_finding(line_of(source, needle), rule))
    if result.new_source is not None:
        compile(result.new_source, "fixed.py", "exec")
    return source, result


# (module source, the flagged call, the function to run, how to read a result)
ELEMENTTREE_SHAPES = [
    ("import xml.etree.ElementTree as ET\n\n\ndef read(data):\n    return ET.fromstring(data)\n",
     "ET.fromstring", "defusedxml.ElementTree.fromstring(data)"),
    ("from xml.etree import ElementTree as ET\n\n\ndef read(data):\n    root = ET.XML(data)\n    return root\n",
     "ET.XML", "defusedxml.ElementTree.XML(data)"),
    ("from xml.etree.ElementTree import fromstring\n\n\ndef read(data):\n    return fromstring(data)\n",
     "fromstring(data)", "defusedxml.ElementTree.fromstring(data)"),
    ("import xml.etree.ElementTree\n\n\ndef read(data):\n    return xml.etree.ElementTree.fromstring(data)\n",
     "return", "defusedxml.ElementTree.fromstring(data)"),
    ("import io\nimport xml.etree.cElementTree as etree\n\n\ndef read(data):\n"
     + "    return etree.parse(io.BytesIO(data)).getroot()\n",
     "etree.parse", "defusedxml.ElementTree.parse(io.BytesIO(data))"),
]


@pytest.mark.parametrize(("source", "needle", "call"), ELEMENTTREE_SHAPES)
def test_elementtree_shapes_become_defusedxml_and_refuse_entity_bombs(source: str, needle: str, call: str) -> None:
    if "cElementTree" in source:  # removed in Python 3.9: the same code with the module that exists now
        source = source.replace("cElementTree", "ElementTree")
    original, result = fix_at(source, needle)
    assert result.fixed, result.reason
    assert call in result.new_source
    assert "import defusedxml.ElementTree" in result.new_source
    assert "xml.etree" not in result.new_source  # the old import went with its last use
    assert result.dependencies == ("defusedxml",)
    assert "new runtime dependency" in result.reason
    read = load_function(result.new_source, "read")
    assert [e.get("id") for e in read(PLAIN).iter("order")] == ["7", "9"]
    with pytest.raises(DefusedXmlException):
        read(ENTITY_BOMB)
    assert len(load_function(original, "read")(ENTITY_BOMB).text) == 60  # the original expanded the entities


def test_old_import_stays_when_the_module_still_builds_xml_with_it() -> None:
    _, result = fix_at('''\
        from xml.etree import ElementTree as ET


        def read(data):
            root = ET.fromstring(data)
            return ET.tostring(ET.Element("copy", id=root.get("id")))
        ''', "ET.fromstring")
    assert "from xml.etree import ElementTree as ET" in result.new_source
    assert "root = defusedxml.ElementTree.fromstring(data)" in result.new_source


@pytest.mark.parametrize(("module", "imported", "call", "defused"), [
    ("xml.dom.minidom", "import xml.dom.minidom", "xml.dom.minidom.parseString(data)",
     "defusedxml.minidom.parseString(data)"),
    ("minidom", "from xml.dom import minidom", "minidom.parseString(data)", "defusedxml.minidom.parseString(data)"),
    ("pulldom", "from xml.dom import pulldom", "list(pulldom.parseString(data.decode()))",
     "list(defusedxml.pulldom.parseString(data.decode()))"),
    ("expatbuilder", "from xml.dom import expatbuilder", "expatbuilder.parseString(data)",
     "defusedxml.expatbuilder.parseString(data)"),
])
def test_dom_parsers(module: str, imported: str, call: str, defused: str) -> None:
    source = f"{imported}\n\n\ndef read(data):\n    return {call}\n"
    _, result = fix_at(source, "return", "B318")
    assert result.fixed, result.reason
    assert f"return {defused}" in result.new_source
    assert imported not in result.new_source
    read = load_function(result.new_source, "read")
    read(PLAIN)
    with pytest.raises(DefusedXmlException):
        read(ENTITY_BOMB)


SAX_FEED = '''\
    import io
    import xml.sax
    from xml.sax.handler import feature_external_ges


    class Titles(xml.sax.ContentHandler):
        def __init__(self):
            super().__init__()
            self.text = []

        def characters(self, content):
            self.text.append(content)


    def read(data):
        handler = Titles()
        parser = xml.sax.make_parser()
        parser.setFeature(feature_external_ges, True)
        parser.setContentHandler(handler)
        parser.parse(io.BytesIO(data))
        return "".join(handler.text)
    '''


def _xxe(tmp_path: Path) -> bytes:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    return (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r>&x;</r>').encode()


@pytest.mark.parametrize("needle", ["setFeature", "setContentHandler", "parser.parse("])
def test_sax_parser_with_external_entities_on_gets_the_flag_off(needle: str, tmp_path: Path) -> None:
    original, result = fix_at(SAX_FEED, needle, "B317")
    assert result.fixed, result.reason
    assert result.new_source == textwrap.dedent(SAX_FEED).replace("ges, True)", "ges, False)")
    assert result.dependencies == ()  # a flag, not a new library
    assert "TOPSECRET" in load_function(original, "read")(_xxe(tmp_path))  # the flaw is real ...
    assert "TOPSECRET" not in load_function(result.new_source, "read")(_xxe(tmp_path))  # ... and gone
    assert load_function(result.new_source, "read")(b"<r>hello</r>") == "hello"


def test_sax_parser_variable_without_the_flag_becomes_a_defused_parser() -> None:
    source = textwrap.dedent(SAX_FEED).replace("    parser.setFeature(feature_external_ges, True)\n", "")
    source = source.replace("from xml.sax.handler import feature_external_ges\n", "")
    _, result = fix_at(source, "parser.parse(")
    assert result.fixed, result.reason
    assert "parser = defusedxml.sax.make_parser()" in result.new_source
    assert "import xml.sax\n" in result.new_source  # still needed for ContentHandler
    read = load_function(result.new_source, "read")
    assert read(b"<r>hello</r>") == "hello"
    with pytest.raises(DefusedXmlException):
        read(ENTITY_BOMB)


def test_sax_parse_function() -> None:
    _, result = fix_at('''\
        import xml.sax


        def count(data, handler):
            xml.sax.parseString(data, handler)
        ''', "parseString")
    assert "defusedxml.sax.parseString(data, handler)" in result.new_source


def test_uri_form_of_the_feature_is_recognised() -> None:
    _, result = fix_at('''\
        from xml.sax import make_parser


        def build():
            p = make_parser()
            p.setFeature("http://xml.org/sax/features/external-general-entities", True)
            return p
        ''', "setFeature")
    assert 'external-general-entities", False)' in result.new_source


def test_parser_passed_by_variable_is_the_one_made_safe() -> None:
    _, result = fix_at('''\
        import xml.etree.ElementTree as ET


        def read(path, handler):
            parser = ET.XMLParser(target=handler)
            return ET.parse(path, parser)
        ''', "ET.parse")
    assert "parser = defusedxml.ElementTree.XMLParser(target=handler)" in result.new_source
    assert "return ET.parse(path, parser)" in result.new_source


@pytest.mark.parametrize(("before", "after"), [
    ("etree.fromstring(data)",
     "etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))"),
    ("etree.parse(path, parser=None)",
     "etree.parse(path, parser=etree.XMLParser(resolve_entities=False, no_network=True))"),
    ("etree.fromstring(data, etree.XMLParser(resolve_entities=True, no_network=False))",
     "etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))"),
    ("etree.XMLParser(recover=True)", "etree.XMLParser(recover=True, resolve_entities=False)"),
    ("etree.iterparse(path, events=('end',))", "etree.iterparse(path, events=('end',), resolve_entities=False)"),
])
def test_lxml_gets_safe_flags_not_a_new_dependency(before: str, after: str) -> None:
    source = f"from lxml import etree\n\n\ndef read(data, path):\n    return {before}\n"
    _, result = fix_at(source, "return", "B320")
    assert result.fixed, result.reason
    assert result.new_source == source.replace(before, after)
    assert result.dependencies == ()


def _expanded_text(result) -> str:
    """The text lxml gave the document's root, whatever the call returned (element, tree, parser, events)."""
    from lxml import etree

    if isinstance(result, etree._ElementTree):
        result = result.getroot()
    elif isinstance(result, etree.XMLParser):
        result = etree.fromstring(ENTITY_BOMB, parser=result)
    elif not isinstance(result, etree._Element):
        result = [element for _, element in result][-1]  # iterparse: the root ends last
    return etree.tostring(result).decode()


@pytest.mark.parametrize("before", [
    "etree.fromstring(data)", "etree.parse(path, parser=None)",
    "etree.fromstring(data, etree.XMLParser(resolve_entities=True, no_network=False))",
    "etree.XMLParser(recover=True)", "etree.iterparse(path, events=('end',))",
])
def test_lxml_rewrites_run_and_stop_entity_expansion(before: str, tmp_path: Path) -> None:
    """The rewritten lxml calls run on real lxml (no keyword it lacks), and the entities a document declares are
    no longer expanded (they were before the fix)."""
    pytest.importorskip("lxml", reason="lxml is a dev extra: pip install -e '.[dev]'")
    source = f"from lxml import etree\n\n\ndef read(data, path):\n    return {before}\n"
    _, result = fix_at(source, "return", "B320")
    assert result.fixed, result.reason
    document = tmp_path / "bomb.xml"
    document.write_bytes(ENTITY_BOMB)
    unsafe = _expanded_text(load_function(source, "read")(ENTITY_BOMB, str(document)))
    safe = _expanded_text(load_function(result.new_source, "read")(ENTITY_BOMB, str(document)))
    assert "a" * 60 in unsafe  # lxml's default parser expands the declared entities
    assert "aaaaaaaaaa" not in safe and "&b;" in safe  # the fixed call keeps them as references


def test_lxml_parser_variable_is_fixed_where_it_is_made() -> None:
    _, result = fix_at('''\
        from lxml.etree import XMLParser, fromstring


        def read(data):
            parser = XMLParser(resolve_entities=True)
            return fromstring(data, parser=parser)
        ''', "return fromstring")
    assert "parser = XMLParser(resolve_entities=False)" in result.new_source


def test_import_finding_rewrites_every_parse_call_through_it() -> None:
    _, result = fix_at('''\
        import xml.dom.minidom


        def read(path):
            return xml.dom.minidom.parse(path)


        def read_text(text):
            return xml.dom.minidom.parseString(text)
        ''', "import xml.dom.minidom", "B408")
    assert result.fixed, result.reason
    assert "xml.dom.minidom" not in result.new_source  # calls and import: the finding's line is gone too
    assert result.new_source.count("defusedxml.minidom.parse") == 2


@pytest.mark.parametrize(("source", "needle", "rule", "reason"), [
    ("import xml.etree.ElementTree as ET\n\n\ndef read(path, p):\n    return ET.parse(path, parser=p)\n",
     "ET.parse", "B314", "given its own parser `p`"),
    ("from xml.dom import minidom\n\n\ndef read(s, p):\n    return minidom.parseString(s, p)\n",
     "parseString", "B318", "given its own parser `p`"),
    ("import xml.etree.ElementTree as ET\n\nDEFAULTS = ET.fromstring('<config debug=\"0\"/>')\n",
     "DEFAULTS", "B314", "constant document"),
    ("import xml.etree.ElementTree as ET\n\n\ndef read(*a):\n    return ET.fromstring(*a)\n",
     "return", "B314", "*args or **kwargs"),
    ("import xml.etree.ElementTree as ET\n\n\ndef read(parts):\n    return ET.fromstringlist(parts)\n",
     "return", "B314", "no fromstringlist"),
    ("import xml.etree.ElementTree as ET\n\n\ndef read():\n    return ET.XMLPullParser(['end'])\n",
     "return", "B314", "no XMLPullParser"),
    ("import xml.sax\n\n\ndef make():\n    return xml.sax.make_parser(['my.driver'])\n",
     "return", "B317", "specific SAX drivers"),
    ("from lxml import etree\n\n\ndef make(flag):\n    return etree.XMLParser(resolve_entities=flag)\n",
     "return", "B320", "from `flag`"),
    ("from lxml import etree\n\n\ndef read(data, p):\n    return etree.fromstring(data, p)\n",
     "return", "B320", "made elsewhere"),
    ("import xmlrpc.client\n\nproxy = xmlrpc.client.ServerProxy('https://example.org/RPC2')\n",
     "import", "B411", "process-wide"),
    ("from xml.etree import ElementTree as ET\n\n\ndef f(d):\n    return ET.fromstring(d), ET.Element('a')\n",
     "import", "B405", "also used for more than parsing (line 5: `ET.Element`)"),
])
def test_declines(source: str, needle: str, rule: str, reason: str) -> None:
    _, result = fix_at(source, needle, rule)
    assert not result.fixed
    assert reason in result.reason


def test_nothing_xml_on_the_line() -> None:
    _, result = fix_at("import json\n\n\ndef read(data):\n    return json.loads(data)\n", "return")
    assert result.reason == "no XML parse call, XML parser object or unsafe parser flag on line 5"


def _draft(tmp_path: Path, requirements: str | None):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "feed.py").write_text("import xml.etree.ElementTree as ET\n\n\ndef read(d):\n"
                                              "    return ET.fromstring(d)\n")
    if requirements is not None:
        (tmp_path / "requirements.txt").write_text(requirements)
    finding = make_finding(5, "B314", (20,), path="app/feed.py")
    return BuiltinEngine().draft(finding, Context(finding_id=finding.id), tmp_path)


def test_draft_says_defusedxml_is_a_new_dependency_of_the_project(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "flask==3.0\n")
    assert draft.edits and draft.model_params == {"fixer": "xml_parser"}
    assert "NEW runtime dependency of this project" in draft.rationale
    assert "add it before merging" in draft.rationale


def test_draft_notes_an_already_declared_defusedxml(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "flask==3.0\nDefusedXML>=0.7\n")
    assert "requirements.txt already declares" in draft.rationale
    assert "NEW runtime dependency" not in draft.rationale


def test_selection_by_code_for_other_tools() -> None:
    source = textwrap.dedent(SAX_FEED)
    codeql = make_finding(line_of(source, "setContentHandler"), "py/xxe", (611,), path="rss.py", tool="CodeQL")
    assert [f.name for f in fixers_for(codeql, source)] == ["xml_parser"]
    assert rewriting_fixer(codeql, source) == "xml_parser"
    elsewhere = make_finding(line_of(source, "return"), "py/xxe", (611,), path="rss.py", tool="CodeQL")
    assert fixers_for(elsewhere, source) == [] and rewriting_fixer(elsewhere, source) is None


def test_nested_parse_calls_are_both_rewritten() -> None:
    _, result = fix_at('''\
        import xml.etree.ElementTree as ET
        from xml.dom import minidom


        def pretty(data):
            return minidom.parseString(ET.tostring(ET.fromstring(data))).toprettyxml()
        ''', "return", "B318")
    assert "defusedxml.minidom.parseString(ET.tostring(defusedxml.ElementTree.fromstring(data)))" in \
        result.new_source
    assert result.reason.count("new runtime dependency") == 2
    pretty = load_function(result.new_source, "pretty")
    assert "<order" in pretty(PLAIN)
    with pytest.raises(DefusedXmlException):
        pretty(ENTITY_BOMB)


@pytest.mark.parametrize(("name", "text", "declared"), [
    ("pyproject.toml", '[project]\ndependencies = ["flask>=3", "defusedxml>=0.7"]\n', True),
    ("setup.cfg", "[options]\ninstall_requires =\n    Defused_XML\n", False),  # another name
    ("setup.py", "setup(install_requires=['defusedxml'])\n", True),
    ("requirements-prod.txt", "defusedxml==0.7.1 --hash=sha256:abc\n", True),
    ("requirements.txt", "defusedxml-stubs==0.1\npython-defusedxml\n", False),
])
def test_declared_dependency_is_found_by_whole_name(tmp_path: Path, name: str, text: str, declared: bool) -> None:
    (tmp_path / name).write_text(text)
    assert (declared_in(tmp_path, "defusedxml") == name) is declared


def test_feeding_a_parser_variable_makes_that_parser_safe() -> None:
    _, result = fix_at('''\
        import xml.etree.ElementTree as ET


        def read(chunks):
            parser = ET.XMLParser()
            for chunk in chunks:
                parser.feed(chunk)
            return parser.close()
        ''', "parser.feed")
    assert "parser = defusedxml.ElementTree.XMLParser()" in result.new_source
    read = load_function(result.new_source, "read")
    assert read([PLAIN[:10], PLAIN[10:]]).tag == "orders"
    with pytest.raises(DefusedXmlException):
        read([ENTITY_BOMB])
    _, lxml = fix_at("from lxml import etree\n\n\ndef read(data):\n    p = etree.XMLParser()\n    p.feed(data)\n"
                     "    return p.close()\n", "p.feed", "B320")
    assert "p = etree.XMLParser(resolve_entities=False)" in lxml.new_source
