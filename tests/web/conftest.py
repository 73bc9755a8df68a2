"""Fixtures for the review web UI: a real repository with real proposals, a real uvicorn server on a free
loopback port, and Debian's headless chromium driven by Selenium.

Without chromium + chromedriver the browser tests skip with the reason, unless SUTURE_REQUIRE_BROWSER=1 (CI's
.ci/run sets it), where they fail instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, git

REVIEWER = "Rita Reviewer <rita@example.com>"
HOSTILE = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\"> shell=True with untrusted input"


def _browser_paths() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def need_selenium() -> None:
    """At the top of a module that imports selenium: skip it (fail when SUTURE_REQUIRE_BROWSER=1) without it."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        why = "selenium is not installed (pip install -e '.[dev]')"
        if os.environ.get("SUTURE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SUTURE_REQUIRE_BROWSER=1 but {why}", pytrace=False)
        pytest.skip(why, allow_module_level=True)


def need_browser() -> tuple[str, str]:
    paths = _browser_paths()
    try:
        import selenium  # noqa: F401
    except ImportError:
        paths = None
    if paths is None:
        why = "no chromium + chromedriver + selenium (apt-get install chromium chromium-driver; pip install -e '.[dev]')"
        if os.environ.get("SUTURE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SUTURE_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    return paths


def sarif(results: list[tuple[str, str, str, int]]) -> dict:
    """A minimal bandit-like SARIF log: (rule, message, path, line) per result."""
    rules = {"B602": "78", "B608": "89"}
    return {"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "Bandit", "rules": [
            {"id": r, "properties": {"tags": ["security", f"external/cwe/cwe-{cwe}"]}} for r, cwe in rules.items()]}},
        "results": [{"ruleId": rule, "level": "error", "message": {"text": message},
                     "locations": [{"physicalLocation": {"artifactLocation": {"uri": path},
                                                         "region": {"startLine": line}}}]}
                    for rule, message, path, line in results]}]}


@dataclass
class Proposals:
    repo: Path
    shell: str  # proposal id fixing B602 in billing/exports.py (its finding message is HOSTILE)
    sql: str  # proposal id fixing B608 in billing/db.py


@pytest.fixture(scope="session")
def proposals(tmp_path_factory) -> Proposals:
    """examples/billing in a fresh git repo, two findings ingested from SARIF and fixed by the builtin engine
    (real validation: tests before/after, coverage, re-scan) — two validated proposals awaiting review."""
    from agent import app

    repo = tmp_path_factory.mktemp("web") / "billing"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".suture", "__pycache__", ".pytest_cache"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Rita Reviewer")
    git(repo, "config", "user.email", "rita@example.com")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    log = repo.parent / "findings.sarif"
    log.write_text(json.dumps(sarif([
        ("B602", HOSTILE, "billing/exports.py", 36),
        ("B608", "Possible SQL injection vector through string-based query construction.", "billing/db.py", 72),
    ])))
    session = app.open_session(repo)
    try:
        app.ingest_files(session, [log])
        findings, _ = app.select_findings(session, 5, None)
        fix = app.fix if callable(app.fix) else app.fix.fix  # agent.app.fix: a function, or its area module
        made = fix(session, findings)
    finally:
        session.close()
    by_rule = {}
    for p in made:
        assert p.state == "validated", (p.short_id, p.state, p.error, p.validation and p.validation.reasons)
        by_rule[p.engine] = p.id
    shell = next(pid for engine, pid in by_rule.items() if "shell" in engine)
    sql = next(pid for engine, pid in by_rule.items() if "sql" in engine)
    return Proposals(repo, shell, sql)


def stored(repo: Path, proposal_id: str):
    """(proposal, its history) as the store holds them now."""
    from agent import app

    session = app.open_session(repo, create=False)
    try:
        return session.store.get_proposal(proposal_id), session.store.transitions(proposal_id)
    finally:
        session.close()


def record_copy(repo: Path, like: str, tag: str, passed: bool, reason: str) -> str:
    """A new proposal with the diff, finding and commit of proposal `like`, stored the way agent/attempt.py stores
    a drafted patch and its validation outcome (`passed=False`: failed, with `reason`). For flows that need one
    more proposal in a given state (an override needs a failed patch) without drafting and validating again."""
    from agent import app

    session = app.open_session(repo, create=False)
    try:
        base = session.store.get_proposal(like)
        pid = hashlib.sha256(f"{base.id}\0{tag}".encode()).hexdigest()[:16]
        validation = base.validation.model_copy(update={"passed": passed, "reasons": [] if passed else [reason]})
        draft = base.model_copy(update={"id": pid, "engine": f"builtin:{tag}", "state": "drafted", "validation": None})
        session.store.add_proposal(draft)
        session.store.update_proposal(draft.model_copy(update={"validation": validation}))
        session.store.transition(pid, validation.state, "suture", reason)
        return pid
    finally:
        session.close()


def record_dismissal(repo: Path, finding_of: str, rationale: str) -> str:
    """A dismissal proposal (a false-positive verdict awaiting a person) for the finding of proposal `finding_of`,
    stored as agent/attempt.py's `_dismissal` stores one."""
    from agent import app
    from agent.models import Proposal, Verdict

    session = app.open_session(repo, create=False)
    try:
        finding_id = session.store.get_proposal(finding_of).finding_id
        pid = hashlib.sha256(f"{finding_id}\0dismiss\0{rationale}".encode()).hexdigest()[:16]
        verdict = Verdict(verdict="false_positive", confidence=0.9, rationale=rationale)
        session.store.add_proposal(Proposal(id=pid, finding_id=finding_id, kind="dismissal", engine="builtin:classify",
                                            verdict=verdict, rationale=rationale))
        return pid
    finally:
        session.close()


class Server:
    """A uvicorn server running create_app(config) in a thread, on a loopback socket bound to a free port."""

    def __init__(self, config) -> None:
        import uvicorn

        from agent.web.app import create_app

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Server:  # noqa: PYI034
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def serve_config(repo: Path, token: str | None = None, host: str = "127.0.0.1"):
    from agent.web.cli import build_config

    config, _ = build_config([repo], host, token, None)
    return config


@pytest.fixture(scope="module")
def server(proposals):
    with Server(serve_config(proposals.repo)) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--disable-background-networking", "--no-first-run"):
        options.add_argument(arg)
    options.binary_location = chromium
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


class Http:
    """Plain HTTP requests (no browser) with their own cookie jar: what a script or another site could send."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, path: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str, dict]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.read().decode(), dict(resp.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), dict(error.headers)

    def copy_cookies(self, driver) -> None:
        """Take the browser's session cookie (a signed-in reviewer, with a CSRF token in it)."""
        from http.cookiejar import Cookie

        for c in driver.get_cookies():
            self.jar.set_cookie(Cookie(0, c["name"], c["value"], None, False, "127.0.0.1", False, False,
                                       "/", True, False, None, False, None, None, {}))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


CAMPAIGN = "shell <script>window.pwned=3</script> cleanup"  # a campaign name a page must show as text


def new_repo(parent: Path) -> Path:
    """examples/billing in a fresh git repository under `parent` (Rita Reviewer's identity), one commit."""
    repo = parent / "billing"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".suture", "__pycache__", ".pytest_cache"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Rita Reviewer")
    git(repo, "config", "user.email", "rita@example.com")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def ingest(repo: Path, results: list[tuple[str, str, str, int]]) -> dict[str, str]:
    """Ingest a SARIF log of `results` into the repo's store; {rule id: finding id}."""
    from agent import app

    log = repo.parent / "findings.sarif"
    log.write_text(json.dumps(sarif(results)))
    session = app.open_session(repo)
    try:
        app.ingest_files(session, [log])
        return {f.rule_id: f.id for f in session.store.list_findings(None)}
    finally:
        session.close()


def create_campaign(repo: Path, name: str, rules: list[str], **limits):
    """`suture campaign create NAME --repo REPO --rule R…` in the repo's own store (agent.app.campaign.create)."""
    from agent.app import campaign
    from agent.campaign.select import Selectors

    return campaign.create(name, [repo], Selectors(rules=rules), **limits)


def record_dismissal_of(repo: Path, finding_id: str, rationale: str) -> str:
    """A dismissal proposal awaiting a person for finding `finding_id` (as agent/attempt.py's `_dismissal`)."""
    from agent import app
    from agent.models import Proposal, Verdict

    session = app.open_session(repo, create=False)
    try:
        pid = hashlib.sha256(f"{finding_id}\0dismiss\0{rationale}".encode()).hexdigest()[:16]
        verdict = Verdict(verdict="false_positive", confidence=0.9, rationale=rationale)
        session.store.add_proposal(Proposal(id=pid, finding_id=finding_id, kind="dismissal", engine="builtin:classify",
                                            verdict=verdict, rationale=rationale))
        return pid
    finally:
        session.close()
