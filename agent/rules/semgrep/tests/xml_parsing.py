# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import xml.etree.ElementTree as ET
from xml.dom import minidom

import defusedxml.ElementTree as SafeET
from lxml import etree


def parse_invoice(upload):
    # ruleid: python-xml-unsafe-parser
    return ET.fromstring(upload.read())


def parse_feed(path):
    # ruleid: python-xml-unsafe-parser
    return ET.parse(path).getroot()


def parse_doc(text):
    # ruleid: python-xml-unsafe-parser
    return minidom.parseString(text)


def parse_lxml(data):
    # ruleid: python-xml-unsafe-parser
    return etree.fromstring(data)


def parse_safely(data):
    # ok: python-xml-unsafe-parser
    return SafeET.fromstring(data)


def constant_doc():
    # ok: python-xml-unsafe-parser
    return ET.fromstring("<config><debug>false</debug></config>")


def build(tag):
    # ok: python-xml-unsafe-parser
    return ET.Element(tag)


import xml.sax
from xml.sax.handler import feature_external_ges


def read_feed(data, handler):
    parser = xml.sax.make_parser()
    # ruleid: python-xml-external-entities-enabled
    parser.setFeature(feature_external_ges, True)
    # ok: python-xml-external-entities-enabled
    parser.setFeature(feature_external_ges, False)
    parser.setContentHandler(handler)
    parser.parse(data)


def lxml_parser():
    # ruleid: python-xml-external-entities-enabled
    unsafe = etree.XMLParser(resolve_entities=True)
    # ok: python-xml-external-entities-enabled
    safe = etree.XMLParser(resolve_entities=False)
    return unsafe, safe
