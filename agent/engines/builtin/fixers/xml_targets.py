"""What the XML parser fixer knows about parsing APIs: the defusedxml equivalent of each standard-library parse
function, the functions that have none (and why), and how each one takes a parser of its own.

Kept apart from the fixer so the tables can be read (and reviewed) on their own. The equivalents are defusedxml
0.7's modules: `defusedxml.ElementTree`, `.minidom`, `.pulldom`, `.sax`, `.expatbuilder` and `.expatreader`; each
function there takes the standard function's arguments and builds a parser that refuses entity declarations
(`forbid_entities=True`) and external references (`forbid_external=True`) — except when the caller passes a parser
of its own, which defusedxml then uses as is.
"""

from __future__ import annotations

# standard-library function -> defusedxml module holding the function of the same name
_STDLIB_MODULES = {
    "xml.etree.ElementTree": "defusedxml.ElementTree",
    "xml.etree.cElementTree": "defusedxml.ElementTree",  # cElementTree was removed in Python 3.9: same API
    "xml.dom.minidom": "defusedxml.minidom",
    "xml.dom.pulldom": "defusedxml.pulldom",
    "xml.sax": "defusedxml.sax",
    "xml.dom.expatbuilder": "defusedxml.expatbuilder",
    "xml.sax.expatreader": "defusedxml.expatreader",
}
_FUNCTIONS = {
    "xml.etree.ElementTree": ("parse", "iterparse", "fromstring", "XML", "XMLParser"),
    "xml.etree.cElementTree": ("parse", "iterparse", "fromstring", "XML", "XMLParser"),
    "xml.dom.minidom": ("parse", "parseString"),
    "xml.dom.pulldom": ("parse", "parseString"),
    "xml.sax": ("parse", "parseString", "make_parser"),
    "xml.dom.expatbuilder": ("parse", "parseString"),
    "xml.sax.expatreader": ("create_parser",),
}
DEFUSED: dict[str, tuple[str, str]] = {
    f"{module}.{function}": (_STDLIB_MODULES[module], function)
    for module, functions in _FUNCTIONS.items() for function in functions
}

# Where each function takes a parser of its own: (positional index, keyword). A parser the caller brings is used
# by defusedxml as is (and defusedxml.ElementTree.fromstring takes none), so swapping the function would not help.
PARSER_ARGUMENT: dict[str, tuple[int, str]] = {
    **{f"xml.etree.{m}.{f}": (i, "parser") for m in ("ElementTree", "cElementTree")
       for f, i in (("parse", 1), ("iterparse", 2), ("fromstring", 1), ("XML", 1))},
    **{f"xml.dom.{m}.{f}": (1, "parser") for m in ("minidom", "pulldom") for f in ("parse", "parseString")},
}
# sax.make_parser(parser_list): the list names SAX drivers to try; defusedxml's make_parser ignores it.
DRIVER_LIST_FUNCTIONS = frozenset({"xml.sax.make_parser"})

NO_EQUIVALENT: dict[str, str] = {
    **{f"xml.etree.{m}.fromstringlist": "defusedxml.ElementTree has no fromstringlist: join the pieces and call "
       "defusedxml.ElementTree.fromstring" for m in ("ElementTree", "cElementTree")},
    **{f"xml.etree.{m}.XMLPullParser": "defusedxml has no XMLPullParser: feed the document to "
       "defusedxml.ElementTree.XMLParser or parse it whole" for m in ("ElementTree", "cElementTree")},
    **{f"xmlrpc.{m}": "defusedxml guards xmlrpc only process-wide (defusedxml.xmlrpc.monkey_patch(), called once "
       "at the program's entry point); a person must decide where that belongs"
       for m in ("client.ServerProxy", "client.loads", "client.getparser", "server.SimpleXMLRPCServer",
                 "server.SimpleXMLRPCDispatcher", "server.CGIXMLRPCRequestHandler", "server.DocXMLRPCServer")},
}

# Parser objects made by these calls; a flagged method call on a variable holding one is about that parser.
SAX_PARSER_FACTORIES = frozenset({"xml.sax.make_parser", "xml.sax.expatreader.create_parser"})
PARSER_FACTORIES = SAX_PARSER_FACTORIES | {f"xml.etree.{m}.XMLParser" for m in ("ElementTree", "cElementTree")}
SAX_EXTERNAL_FEATURES = frozenset({
    "xml.sax.handler.feature_external_ges", "xml.sax.handler.feature_external_pes",
})
SAX_EXTERNAL_FEATURE_URIS = frozenset({
    "http://xml.org/sax/features/external-general-entities",
    "http://xml.org/sax/features/external-parameter-entities",
})

# lxml: no defusedxml equivalent (defusedxml.lxml is deprecated); safe flags on lxml's own parser instead.
LXML_PARSER = "lxml.etree.XMLParser"
LXML_PARSE_WITH_PARSER = frozenset({"lxml.etree.parse", "lxml.etree.fromstring", "lxml.etree.XML"})
LXML_ITERPARSE = "lxml.etree.iterparse"
LXML_SAFE_FLAGS = (("resolve_entities", "False"), ("no_network", "True"))

IMPORT_MODULES = frozenset(_STDLIB_MODULES) | {"xmlrpc", "xmlrpc.client", "xmlrpc.server", "xmlrpclib"}
