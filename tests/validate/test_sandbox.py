"""The sandbox around a test run, with real processes: loopback-only network, fresh HOME/TMPDIR, escape watch."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from agent.validate import sandbox
from agent.validate.runner import run_tests
from agent.validate.sandbox import diff_snapshots, network_isolation, sandboxed, snapshot_home, snapshot_repo

PROBE = r"""
import json, os, socket, tempfile, sys
names = [n for _, n in socket.if_nameindex()]
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
socket.create_connection(server.getsockname(), timeout=2).close()
print("PROBE" + json.dumps({"interfaces": names, "home": os.environ["HOME"], "tmp": tempfile.gettempdir(),
                            "key": os.environ.get("OPENAI_API_KEY")}))
"""


def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, list[str]]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    (tmp_path / "probe.py").write_text(PROBE)
    with sandboxed(None, tmp_path / "home-watch") as box:
        run = run_tests([sys.executable, "probe.py"], tmp_path, timeout=30, junit=False, env_extra=box.env,
                        prefix=box.prefix)
        home = box.env["HOME"]
    line = next(x for x in run.log.splitlines() if x.startswith("PROBE"))
    assert not Path(home).exists()  # removed after the run
    return json.loads(line[len("PROBE"):]), box.protections


def test_network_namespace_keeps_only_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = network_isolation()
    if not net.active:
        pytest.skip(f"no network isolation on this host: {net.note}")
    seen, protections = probe(tmp_path, monkeypatch)
    assert seen["interfaces"] == ["lo"]  # no route anywhere but loopback, which works (connected above)
    assert protections[0].startswith("network: denied")


def test_fresh_home_and_tmpdir_without_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen, protections = probe(tmp_path, monkeypatch)
    assert seen["home"] != os.path.expanduser("~") and "suture-sandbox-" in seen["home"]
    assert seen["tmp"].startswith(str(Path(seen["home"]).parent))
    assert seen["key"] is None
    assert any(p.startswith("HOME and TMPDIR") for p in protections)


def test_fallback_when_network_isolation_is_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_detected", None)
    monkeypatch.setenv("SUTURE_SANDBOX_NETWORK", "off")
    net = network_isolation()
    assert not net.active and net.prefix == () and "not isolated" in net.note
    monkeypatch.setattr(sandbox, "_detected", None)  # the next caller detects again


def test_snapshots_see_created_modified_deleted(tmp_path: Path) -> None:
    repo, home = tmp_path / "repo", tmp_path / "home"
    (repo / ".git" / "hooks").mkdir(parents=True)
    (repo / ".git" / "config").write_text("[core]\n")
    (repo / "a.py").parent.mkdir(exist_ok=True)
    (repo / "a.py").write_text("x = 1\n")
    (repo / "gone.py").write_text("")
    (home / ".cache").mkdir(parents=True)
    (home / ".bashrc").write_text("")
    repo_before, home_before = snapshot_repo(repo)[0], snapshot_home(home)
    (repo / "a.py").write_text("x = 22\n")
    (repo / "gone.py").unlink()
    (repo / ".git" / "hooks" / "pre-commit").write_text("evil")
    (repo / ".git" / "config").write_text("[core]\n\thooksPath = /tmp\n")
    (home / ".cache" / "inside-a-folder").write_text("")  # folders at HOME's top level: not watched inside
    (home / ".ssh").mkdir()
    changes = diff_snapshots(repo_before, snapshot_repo(repo)[0]) + diff_snapshots(home_before, snapshot_home(home))
    assert changes == [
        f"created {repo / '.git' / 'hooks' / 'pre-commit'}", f"deleted {repo / 'gone.py'}",
        f"modified {repo / '.git' / 'config'}", f"modified {repo / '.git' / 'hooks'}", f"modified {repo / 'a.py'}",
        f"created {home / '.ssh'}",
    ]
