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
