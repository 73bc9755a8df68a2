"""One store, several repositories: the store URL setting, the repo key, rows narrowed to their repo, old stores
given the opener's repo on open. On SQLite and on PostgreSQL (tests/store_backends.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agent.errors import SutureError
from agent.models import Finding, Location, Proposal, Verdict
from agent.store import Store, StoreError
from agent.store.url import repo_key, store_url
from tests.conftest import git
from tests.store_backends import new_database, sql
from tests.test_e2e import suture


def finding(fid: str, path: str = "app.py") -> Finding:
    return Finding(id=fid, tool="bandit", rule_id="B602", message="m", location=Location(path=path, start_line=3))


def scan(store: Store, content: bytes, *findings: Finding, full: bool = True) -> dict:
    return store.record_scan(tool="bandit", scope="bandit", source="s", content=content, findings=list(findings),
                             full=full)


# ------------------------------------------------------------------------------------------------ the URL
def test_store_url_order_and_forms(monkeypatch, tmp_path: Path):
    default = tmp_path / ".suture" / "suture.db"
    monkeypatch.delenv("SUTURE_STORE", raising=False)
    assert store_url(None, default) == f"sqlite:///{default}"
    monkeypatch.setenv("SUTURE_STORE", "postgres://ann:s3cret@db.example/suture")
    assert store_url(None, default) == "postgresql+psycopg://ann:s3cret@db.example/suture"
    assert store_url("team.db", default) == f"sqlite:///{Path('team.db').absolute()}"  # --store beats the env
    assert store_url("sqlite:////srv/s.db", default) == "sqlite:////srv/s.db"
    assert store_url("postgresql+psycopg://u@h/d", default) == "postgresql+psycopg://u@h/d"
    for bad in ("mysql://ann:s3cret@h/d", "sqlite://", "sqlite:///:memory:", "  ", "postgresql://ann:s3cret@h:x/d"):
        with pytest.raises(SutureError) as err:
            store_url(bad, default)
        assert "s3cret" not in str(err.value)


def test_repo_key_is_the_origin_without_credentials_else_the_local_root(tmp_path: Path):
    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q")
    assert repo_key(repo) == f"local:{repo.resolve().as_posix()}"
    assert repo_key(repo, "services/api/") == f"local:{repo.resolve().as_posix()}#services/api"
    git(repo, "remote", "add", "origin", "https://ann:ghp_token@GitHub.com/Org/App.git")
    assert repo_key(repo) == "github.com/Org/App"
    git(repo, "remote", "set-url", "origin", "git@github.com:Org/App.git")
    assert repo_key(repo) == "github.com/Org/App"
    git(repo, "remote", "set-url", "origin", "ssh://git@github.com:22/Org/App")
    assert repo_key(repo, "svc") == "github.com/Org/App#svc"


# ------------------------------------------------------------------------------------------ narrowing
def test_two_repos_in_one_store_each_see_and_close_only_their_own(store_url: str):
    a, b, everything = Store(store_url, "repo-a"), Store(store_url, "repo-b"), Store(store_url)
    try:
        scan(a, b"log", finding("a1"))
        counts = scan(b, b"log", finding("b1", "other.py"))  # same bytes: a scan of another repo, not a duplicate
        assert counts["duplicate_scan"] == 0 and counts["new"] == 1
        assert scan(b, b"log2")["fixed"] == 1  # a full scan of b closes b's finding, never a's
        assert a.get_finding("a1").status == "open"
        assert [f.id for f in a.list_findings()] == ["a1"] and b.list_findings() == []
        assert sorted(f.id for f in everything.list_findings(None)) == ["a1", "b1"]
        with pytest.raises(StoreError, match="no finding"):
            b.get_finding("a1")
        with pytest.raises(StoreError, match="no finding"):
            b.set_finding_status("a1", "dismissed", "bob", "not mine")
        a.add_proposal(Proposal(id="pa000001", finding_id="a1", kind="patch", engine="builtin", diff="d"))
        a.save_verdict("a1", Verdict(verdict="uncertain", confidence=0.5, rationale="x"), "builtin")
        assert b.list_proposals() == [] and b.latest_verdicts() == {}
        with pytest.raises(StoreError, match="no proposal"):
            b.get_proposal("pa00")
        assert [p.id for p in a.list_proposals()] == ["pa000001"] and "a1" in a.latest_verdicts()
    finally:
        for s in (a, b, everything):
            s.close()


def test_the_same_finding_in_two_repos_is_refused_not_merged(store_url: str):
    a, b = Store(store_url, "repo-a"), Store(store_url, "repo-b")
    try:
        scan(a, b"1", finding("same"))
        with pytest.raises(StoreError, match="already in this store for repo repo-a"):
            scan(b, b"2", finding("same"))
        assert b.list_findings(None) == [] and a.get_finding("same").status == "open"
        a.add_proposal(Proposal(id="p0000001", finding_id="same", kind="patch", engine="builtin", diff="d"))
        with pytest.raises(StoreError, match="already in this store for repo repo-a"):
            b.add_proposal(Proposal(id="p0000001", finding_id="same", kind="patch", engine="builtin", diff="d"))
    finally:
        a.close()
        b.close()


def test_an_old_store_without_repo_columns_gives_its_rows_to_the_opener(store_url: str):
    old = Store(store_url)
    scan(old, b"1", finding("f1"))
    old.add_proposal(Proposal(id="p0000001", finding_id="f1", kind="patch", engine="builtin", diff="d"))
    old.close()
    for table in ("findings", "scans", "proposals", "verdicts"):  # as written by a suture before the column
        sql(store_url, f"DROP INDEX ix_{table}_repo")
        sql(store_url, f"ALTER TABLE {table} DROP COLUMN repo")
    sql(store_url, "DROP TABLE alembic_version")  # and before Alembic managed the store
    opened = Store(store_url, "github.com/org/app")
    try:
        assert [f.id for f in opened.list_findings()] == ["f1"]
        assert [p.id for p in opened.list_proposals()] == ["p0000001"]
        assert scan(opened, b"1", finding("f1"))["duplicate_scan"] == 1  # the old scan is this repo's
        assert sql(store_url, "SELECT DISTINCT repo FROM findings") == [("github.com/org/app",)]
        assert opened.audit() == []
    finally:
        opened.close()
    other = Store(store_url, "elsewhere")  # a later opener claims nothing
    assert other.list_findings() == []
    other.close()


def test_an_unreachable_store_is_one_error_without_the_password(tmp_path: Path):
    with pytest.raises(StoreError, match=r"cannot open the store .*\*\*\*") as err:
        Store(f"postgresql://ann:s3cret@/nodb?host={tmp_path}")
    assert "s3cret" not in str(err.value)


# ------------------------------------------------------------------------------------------ the CLI
def _sarif(path: str, line: int) -> dict:
    return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "CodeQL", "rules": [
        {"id": "py/command-line-injection", "properties": {"tags": ["security"]}}]}}, "results": [
        {"ruleId": "py/command-line-injection", "message": {"text": "cmd"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": path}, "region": {"startLine": line}}}]}]}]}


@pytest.fixture
def shared_store(request, tmp_path: Path) -> str:
    """One backend only for the slow CLI test: PostgreSQL when it runs here, else a SQLite file."""
    try:
        return new_database(request.getfixturevalue("pg_server"))
    except pytest.skip.Exception:
        return f"sqlite:///{tmp_path / 'team.db'}"


@pytest.mark.slow
def test_cli_two_repos_share_one_store(example_repo: Path, tmp_path: Path, shared_store: str):
    """`--store URL` and SUTURE_STORE route commands to one store; each repo lists its own findings."""
    store_url = shared_store
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(example_repo), str(other)], check=True)  # origin: a path → local key
    logs = {}
    for name, (path, line) in {"a": ("billing/exports.py", 36), "b": ("billing/invoicing.py", 5),
                               "same": ("billing/exports.py", 36)}.items():
        logs[name] = tmp_path / f"{name}.sarif"
        logs[name].write_text(json.dumps(_sarif(path, line)))
    env = {"SUTURE_STORE": store_url}
    assert json.loads(suture(example_repo, "--store", store_url, "ingest", str(logs["a"]), "-f", "json").stdout)[0][
        "new"] == 1
    assert json.loads(suture(other, "ingest", str(logs["b"]), "-f", "json", env=env).stdout)[0]["new"] == 1
    rows = json.loads(suture(other, "triage", "--format", "json", env=env).stdout)
    assert [r["path"] for r in rows] == ["billing/invoicing.py"]
    assert not (other / ".suture" / "suture.db").exists()  # the shared store, not a .suture/ one
    clash = suture(other, "ingest", str(logs["same"]), env=env, expect=2)
    assert "already in this store for repo local:" in clash.stderr and "Traceback" not in clash.stderr
    bad = suture(other, "--store", "mysql://ann:s3cret@h/d", "review", "list", expect=2)
    assert "unsupported store URL" in bad.stderr and "s3cret" not in bad.stderr + bad.stdout


def test_file_facts_cache_on_every_backend(store_url: str):
    """The facts cache's own table is created on first use and a batch rewritten in place, on both backends."""
    from agent.code.facts_store import StoreFactsCache

    store = Store(store_url, "repo-a")
    try:
        cache = StoreFactsCache(store.engine)
        cache.put_file_facts("a.py", "d1", 2, {"sinks": ["eval"]})
        cache.flush()
        again = StoreFactsCache(store.engine)  # a second run: the table is there, the row replaced
        again.put_file_facts("a.py", "d1", 2, {"sinks": []})
        again.flush()
        assert again.get_file_facts("a.py", "d1", 2) == {"sinks": []}
        assert again.get_file_facts("a.py", "d1", 3) is None
    finally:
        store.close()


def test_a_file_that_is_not_a_store_is_one_error(tmp_path: Path):
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"this is not a SQLite database, it is a shopping list" * 100)
    with pytest.raises(StoreError, match="cannot open the store sqlite:///.*notes.db: file is not a database"):
        Store.open(junk)
    assert junk.read_bytes().startswith(b"this is not")  # nothing written over it
