"""The review server's small rules, without a browser: who may bind where, which hosts and redirect targets are
accepted, how hostile diff text is rendered, how repositories are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.web.app import safe_next
from agent.web.cli import project_keys
from agent.web.diffview import render_diff
from agent.web.security import ServeError, check_binding, host_allowed, is_loopback

LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.0.1", "localhost", "::1", "[::1]"])
def test_loopback_needs_no_token(host):
    assert is_loopback(host) and check_binding(host, None) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "example.com", "127.0.0.1.nip.io"])
def test_anything_else_needs_a_token(host):
    with pytest.raises(ServeError, match="--token"):
        check_binding(host, None)
    assert check_binding(host, "t" * 16) == "t" * 16


def test_a_short_token_is_refused_even_on_loopback():
    with pytest.raises(ServeError, match="at least 16"):
        check_binding("127.0.0.1", "abc")


@pytest.mark.parametrize(("header", "ok"), [
    ("127.0.0.1:8700", True), ("localhost:8700", True), ("LOCALHOST", True), ("[::1]:8700", True),
    ("evil.example:8700", False), ("127.0.0.1.evil.example", False), ("", False), ("[::2]:8700", False),
])
def test_host_header_check(header, ok):
    assert host_allowed(header, LOOPBACK) is ok


@pytest.mark.parametrize(("target", "expected"), [
    ("/p/billing/abc", "/p/billing/abc"), ("/queue?state=all", "/queue?state=all"),
    ("//evil.example/x", "/queue"), ("https://evil.example", "/queue"), ("/\\evil.example", "/queue"),
    ("", "/queue"), (None, "/queue"),
])
def test_redirects_stay_on_this_server(target, expected):
    assert safe_next(target) == expected


def test_hostile_diff_text_is_escaped_and_bidi_controls_shown():
    diff = ("--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n x = 1\n"
            "-y = '</td></table><script>alert(1)</script>'\n+y = '\u202e<img src=x onerror=alert(1)>'\n")
    files, whole = render_diff(diff)
    assert whole is None and len(files) == 1 and (files[0].added, files[0].removed) == (1, 1)
    html = "".join(str(row.html) for row in files[0].rows)
    assert "<script" not in html and "<img" not in html and "</table>" not in html
    assert "&lt;script&gt;" in html and "\\u202e" in html and "\u202e" not in html
    assert [r.kind for r in files[0].rows] == ["hunk", "ctx", "del", "add"]


def test_unparseable_diff_is_shown_whole_and_escaped():
    files, whole = render_diff("not a diff <b>at all</b>\n")
    assert files == [] and "<b>" not in whole and "&lt;b&gt;" in whole


def test_project_keys_are_url_safe_and_unique(tmp_path):
    a, b, c = tmp_path / "x" / "billing", tmp_path / "y" / "billing", tmp_path / "my repo?"
    assert project_keys([a, b, c]) == ["billing", "billing-2", "my-repo"]
    assert project_keys([Path("/")]) == ["repo"]


def test_no_web_module_imports_the_store():
    """The web UI reaches records only through agent.app's use cases (agent.web.usecases), never the store."""
    from tests.test_architecture import MODULES, imports_of

    web = [m for m in MODULES if m == "agent.web" or m.startswith("agent.web.")]
    assert "agent.web.campaigns" in web and "agent.app.campaign" in imports_of("agent.web.usecases")
    assert {m: sorted(t for t in imports_of(m) if t == "agent.store" or t.startswith("agent.store."))
            for m in web if any(t == "agent.store" or t.startswith("agent.store.") for t in imports_of(m))} == {}
