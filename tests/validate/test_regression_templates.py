"""The builtin regression templates that stub the library call and stop the function there (requests_timeout,
tls_verify, temp_file): on varied real-world shapes, the generated test really fails under pytest on the unpatched
code and passes on the code the builtin fixer itself produced; call sites a test cannot reach are declined with a
reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.engines.builtin.fixers.jinja2_autoescape import Jinja2AutoescapeFixer
from agent.engines.builtin.fixers.requests_timeout import RequestsTimeoutFixer
from agent.engines.builtin.fixers.sql_parameterize import SqlParameterizeFixer
from agent.engines.builtin.fixers.temp_file import TempFileFixer
from agent.engines.builtin.fixers.tls_verify import TlsVerifyFixer
from agent.engines.builtin.fixers.weak_hash import WeakHashFixer
from agent.engines.builtin.fixers.xml_parser import XmlParserFixer
from agent.engines.builtin.regression import RegressionDecline, regression_test_source
from tests.validate.test_regression import finding_at
from tests.validate.test_regression import run_generated as run_in

FIXERS = {"requests_timeout": RequestsTimeoutFixer(), "tls_verify": TlsVerifyFixer(), "temp_file": TempFileFixer(),
          "xml_parser": XmlParserFixer(), "sql_parameterize": SqlParameterizeFixer(), "weak_hash": WeakHashFixer(),
          "jinja2_autoescape": Jinja2AutoescapeFixer()}

SHAPES = [
    ("requests_timeout", "requests.get(", """
        import requests


        def fetch(url):
            return requests.get(url).json()
    """),
    ("requests_timeout", "post(", """
        from requests import post

        HOOK = "https://hooks.example.com"


        def notify(channel, payload, retries=3):
            try:
                return post(f"{HOOK}/{channel}", json=payload, headers={"X-Retries": str(retries)})
            except Exception:  # a handler of the code's own: it must not hide the stopped call
                return None
    """),
    ("requests_timeout", "r.request(", """
        import requests as r

        HEALTH = "https://status.example.com/health"


        def healthy():
            response = r.request("GET", HEALTH)
            response.raise_for_status()
            return response.ok
    """),
    ("requests_timeout", "requests.get(", """
        import requests


        def sync_user(user_id, db):
            data = requests.get("https://api.example.com/users/" + user_id).json()
            db.save(user_id, data)
    """),
    ("tls_verify", "verify=False", """
        import requests


        def download(url, dest="out.bin"):
            with open(dest, "wb") as fh:
                fh.write(requests.get(url, verify=False).content)
    """),
    ("tls_verify", "verify=False", """
        import requests

        session = requests.Session()


        def report(token, body):
            return session.post("https://ci.internal/api/report", json=body,
                                headers={"Authorization": "Bearer " + token}, verify=False)
    """),
    ("tls_verify", "verify=False", """
        import requests


        def ping():
            try:
                requests.head("https://10.0.0.5/ping", verify=False, timeout=5)
                return True
            except requests.RequestException:
                return False
    """),
    ("temp_file", "mktemp(", """
        import os
        import tempfile


        def scratch_path():
            path = tempfile.mktemp(suffix=".json")
            return os.path.basename(path)
    """),
    ("temp_file", "mktemp(", """
        import subprocess
        from tempfile import mktemp


        def render(markdown, fmt="pdf"):
            out = mktemp(suffix="." + fmt)
            subprocess.run(["pandoc", "-o", out], input=markdown, text=True, check=True)
            return out
    """),
    ("temp_file", "mktemp(", """
        import tempfile


        def export(rows, prefix):
            target = tempfile.mktemp(prefix=prefix, dir="/tmp")
            with open(target, "w") as fh:
                fh.writelines(rows)
            return target
    """),
    ("xml_parser", "ET.fromstring(", """
        import xml.etree.ElementTree as ET


        def parse_config(text):
            root = ET.fromstring(text)
            return {child.tag: child.text for child in root}
    """),
    ("xml_parser", "parseString(", """
        from xml.dom.minidom import parseString


        def feed_titles(body, strict=False):
            document = parseString(body)
            return [node.firstChild.data for node in document.getElementsByTagName("title")]
    """),
    ("xml_parser", "ElementTree.parse(", """
        from xml.etree import ElementTree


        def sitemap_urls(path):
            tree = ElementTree.parse(path)
            return [loc.text for loc in tree.iter("loc")]
    """),
    ("xml_parser", "minidom.parseString(", """
        import xml.dom.minidom


        def pretty(xml_text, indent="  "):
            return xml.dom.minidom.parseString(xml_text).toprettyxml(indent=indent)
    """),
    ("sql_parameterize", "cur.execute(", """
        import sqlite3


        def find_user(conn, name):
            cur = conn.cursor()
            cur.execute(f"SELECT id FROM users WHERE name = '{name}'")
            return cur.fetchone()
    """),
    ("sql_parameterize", "query = ", """
        import sqlite3

        DB = sqlite3.connect(":memory:")


        def items_of(owner, limit=10):
            query = "SELECT * FROM items WHERE owner = '%s'" % owner
            rows = DB.execute(query).fetchall()
            return rows[:limit]
    """),
    ("sql_parameterize", "conn.execute(", """
        import sqlite3


        def get_db():
            return sqlite3.connect("app.db")


        def delete_user(user_id):
            with get_db() as conn:
                conn.execute("DELETE FROM users WHERE id = '" + user_id + "'")
    """),
    ("sql_parameterize", "conn.execute(", """
        import sqlite3


        def count_orders(customer, db_path="shop.db"):
            conn = sqlite3.connect(db_path)
            try:
                return conn.execute(f"SELECT COUNT(*) FROM orders WHERE customer = '{customer}'").fetchone()[0]
            finally:
                conn.close()
    """),
    ("weak_hash", "hashlib.md5(", """
        import hashlib


        def sign_token(token, secret="k"):
            return hashlib.md5(token).hexdigest()
    """),
    ("weak_hash", "sha1(", """
        from hashlib import sha1


        def etag_for(content):
            digest = sha1(content)
            return digest.hexdigest()
    """),
    ("weak_hash", "h.new(", """
        import hashlib as h


        def session_signature(session_id):
            return h.new("md5", session_id).hexdigest()
    """),
    ("jinja2_autoescape", "Environment(", """
        from jinja2 import Environment, FileSystemLoader

        TEMPLATES = "templates"


        def renderer():
            return Environment(loader=FileSystemLoader(TEMPLATES))
    """),
    ("jinja2_autoescape", "jinja2.Template(", """
        import jinja2


        def page(body, title="Home"):
            template = jinja2.Template("<h1>{{ title }}</h1>{{ body }}")
            return template.render(title=title, body=body)
    """),
]


def run_generated(where: Path, module_text: str, test_text: str):
    where.mkdir()
    return run_in(where, module_text, test_text)


@pytest.mark.parametrize(("fixer", "needle", "source"), SHAPES,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(SHAPES)])
def test_template_fails_on_the_unpatched_code_and_passes_on_the_fixers_output(tmp_path: Path, fixer, needle,
                                                                             source) -> None:
    source = textwrap.dedent(source).lstrip()
    line = next(n for n, text in enumerate(source.splitlines(), 1) if needle in text)
    finding = finding_at("app/mod.py", line)
    fixed = FIXERS[fixer].fix(source, finding).new_source
    assert fixed is not None and fixed != source, "the fixer handles this shape"
    test = regression_test_source(fixer, finding, source)
    assert isinstance(test, str), test
    before = run_generated(tmp_path / "before", source, test)
    assert before.returncode == 1 and "1 failed" in before.stdout, before.stdout
    after = run_generated(tmp_path / "after", fixed, test)
    assert after.returncode == 0 and "1 passed" in after.stdout, after.stdout + test


@pytest.mark.parametrize(("fixer", "source", "why"), [
    ("requests_timeout", ("import requests\n\n\ndef fetch(url, session_id):\n    if not session_id:\n"
     "        return None\n    return requests.get(url)\n"), "reads its parameter session_id before the flagged call"),
    ("requests_timeout", "import requests\n\n\ndef fetch(cfg):\n    return requests.get(cfg['url'])\n",
     "reaches the flagged call as something other than text"),
    ("requests_timeout", "import requests\n\n\nasync def fetch(url):\n    return requests.get(url)\n",
     "is a coroutine function"),
    ("requests_timeout", "import requests\n\n\n@app.route('/x')\ndef fetch(url):\n    return requests.get(url)\n",
     "is decorated"),
    ("requests_timeout", "import requests\n\n\ndef fetch(urls):\n    for u in urls:\n        yield requests.get(u)\n",
     "is a generator"),
    ("requests_timeout", "import requests\n\n\nclass C:\n    def fetch(self, url):\n        return requests.get(url)\n",
     "not inside a module-level function"),
    ("requests_timeout", "import requests\n\n\ndef fetch(*args):\n    return requests.get(*args)\n",
     "*args reaches the flagged call"),
    ("tls_verify", "import httpx\n\n\ndef fetch(url):\n    return httpx.get(url, verify=False)\n",
     "uses httpx"),
    ("xml_parser", ("from lxml import etree\n\n\ndef read(text):\n    return etree.fromstring(text)\n"),
     "uses lxml"),
    ("xml_parser", ("import xml.sax\n\n\ndef read(text, handler=None):\n    parser = xml.sax.make_parser()\n"
                    "    return parser.parse(text)\n"), "not on a standard-library XML module"),
    ("xml_parser", ("import xml.etree.ElementTree as ET\n\n\ndef read(text):\n"
                    "    return ET.fromstring(text.strip())\n"), "does not come straight from the parameter text"),
    ("sql_parameterize", ("import sqlite3\n\n\ndef find(name):\n"
                          "    return request.db.execute(f\"SELECT 1 FROM t WHERE n = '{name}'\")\n"),
     "cannot tell where request"),
    ("sql_parameterize", ("import sqlite3\n\n\ndef find(cur, name):\n    if name:\n"
                          "        cur.execute(f\"SELECT 1 FROM t WHERE n = '{name}'\")\n"),
     "reads its parameter name before the flagged call"),
    ("weak_hash", "import hashlib\n\n\nclass C:\n    def sign(self, token):\n        return hashlib.md5(token)\n",
     "not inside a module-level function"),
    ("jinja2_autoescape", "from jinja2 import Environment\n\nENV = Environment()\n",
     "not inside a module-level function"),
    ("temp_file", ("import tempfile\n\n\ndef save(items):\n    if not items:\n        return None\n"
     "    path = tempfile.mktemp()\n    return path\n"), "reads its parameter items before the flagged call"),
])
def test_call_sites_a_test_cannot_reach_are_declined(fixer: str, source: str, why: str) -> None:
    line = next(n for n, text in enumerate(source.splitlines(), 1) if "requests.get" in text or "httpx.get" in text
                or "mktemp(" in text or "parse(" in text or "fromstring(" in text
                or "execute(" in text or "md5(" in text or "Environment(" in text)
    made = regression_test_source(fixer, finding_at("app/mod.py", line), source)
    assert isinstance(made, RegressionDecline) and why in made.reason, made


@pytest.mark.slow
@pytest.mark.parametrize(("fixer", "index"), [("requests_timeout", 1), ("temp_file", 8), ("xml_parser", 12),
                                               ("sql_parameterize", 15), ("weak_hash", 18), ("jinja2_autoescape", 21)])
def test_the_judge_keeps_the_template_test_as_evidence_in_the_sandbox(tmp_path: Path, fixer: str, index: int) -> None:
    """Through agent.validate.regression on a real git worktree, with the sandboxed pytest run and coverage: the
    template's test fails before, passes after and executes the fixer's changed line."""
    from agent.models import Edit
    from agent.validate.regression import judge_regression_test
    from agent.validate.worktree import Worktree
    from tests.validate.helpers import make_env, make_repo

    named, needle, source = SHAPES[index]
    assert named == fixer
    source = textwrap.dedent(source).lstrip()
    line = next(n for n, text in enumerate(source.splitlines(), 1) if needle in text)
    finding = finding_at("app/mod.py", line)
    fixed = FIXERS[fixer].fix(source, finding).new_source
    changed = [n for n, (a, b) in enumerate(zip(source.splitlines(), fixed.splitlines()), 1) if a != b]
    test = regression_test_source(fixer, finding, source)
    project = make_repo(tmp_path / "repo", {"app/__init__.py": "", "app/mod.py": source,
                                            "tests/test_other.py": "def test_ok():\n    assert True\n"})
    env = make_env(tmp_path, project)
    path = "tests/test_suture_regression_x.py"
    with Worktree(project) as wt:
        record = judge_regression_test(env, wt.project_path, [Edit(path="app/mod.py", search=source, replace=fixed)],
                                       {"app/mod.py": changed}, path, test, f"builtin:{fixer}", wt.reset,
                                       untrusted=False)
    assert (record.before, record.after, record.kept) == ("failed", "passed", True), record
    assert record.is_evidence, record.note
