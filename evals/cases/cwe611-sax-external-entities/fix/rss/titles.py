"""Read item titles from uploaded RSS feeds."""
import io
import xml.sax
from xml.sax.handler import feature_external_ges


class _Titles(xml.sax.ContentHandler):
    def __init__(self):
        super().__init__()
        self.titles, self._buf, self._in = [], [], False

    def startElement(self, name, attrs):
        self._in, self._buf = name == "title", []

    def characters(self, content):
        if self._in:
            self._buf.append(content)

    def endElement(self, name):
        if name == "title":
            self.titles.append("".join(self._buf))
        self._in = False


def read_titles(data):
    handler = _Titles()
    parser = xml.sax.make_parser()
    parser.setFeature(feature_external_ges, False)
    parser.setContentHandler(handler)
    parser.parse(io.BytesIO(data))
    return handler.titles
