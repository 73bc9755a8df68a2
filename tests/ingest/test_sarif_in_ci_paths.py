"""SARIF made on another machine, placed in this repository (issue 18): CI build folders (`file:///C:/a2/_work/6/s/…`,
`/home/runner/work/repo/repo/…`) and `https://…/blob/<sha>/` source roots, mapped by --path-prefix / --map or
automatically by a unique path suffix, each mapping stated; mapped results count as placed, so a full scan closes.
The logs are the real corpus files in tests/data/shared/sarif-conformance (MANIFEST.md there) or the shapes they show.
Real git repositories and real SQLite stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent import app
from agent.errors import SutureError
from agent.ingest.path_map import PathMap
from tests.conftest import git

DATA = Path(__file__).resolve().parents[1] / "data" / "shared" / "sarif-conformance"


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def lines(count: int, word: str = "x") -> str:
    return "".join(f"const {word}{n} = {n};\n" for n in range(1, count + 1))


def ingest(repo: Path, log: Path, **options) -> list[app.IngestReport]:
    session = app.open_session(repo)
    try:
        return app.ingest_files(session, [log], path_map=app.path_map_for(session, **options))
    finally:
        session.close()


def findings(repo: Path):
    session = app.open_session(repo)
    try:
        return session.store.list_findings(None)
    finally:
        session.close()


def tslint_files() -> dict[str, str]:
    """Every file the real TSLint log names, below C:/a2/_work/6/s/, long enough for its regions."""
    log = json.loads((DATA / "windows-absolute-paths.sarif").read_text())
    prefix = "file:///C:/a2/_work/6/s/"
    needed: dict[str, int] = {}
    for result in log["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri.startswith(prefix)
        region = physical.get("region", {})
        needed[uri[len(prefix):]] = max(needed.get(uri[len(prefix):], 1), region.get("endLine", 1),
                                        region.get("startLine", 1))
    return {rel: lines(count + 1) for rel, count in needed.items()}


def test_windows_ci_paths_are_mapped_automatically_and_the_mapping_is_stated(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", tslint_files())
    [report] = ingest(repo, DATA / "windows-absolute-paths.sarif")
    assert len(report.skipped) == 0 and report.new == 501  # the old code skipped all 501
    assert report.path_mappings == [
        ("C:/a2/_work/6/s/ → (project root) (automatic: a unique suffix matched a project file, "
        f"{len(tslint_files())} paths)")]
    assert report.closed_nothing is None  # every result placed: a full scan's evidence
    assert {f.location.path.split("/")[0] for f in findings(repo)} == {"SecureApp"}


def test_windows_ci_paths_with_an_explicit_prefix(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", tslint_files())
    [report] = ingest(repo, DATA / "windows-absolute-paths.sarif", prefixes=["C:\\a2\\_work\\6\\s"])
    assert len(report.skipped) == 0
    assert report.path_mappings == [
        f"C:/a2/_work/6/s → (project root) (--path-prefix/--map, {len(tslint_files())} paths)"]


def runner_log(tmp_path: Path, *uris: str) -> Path:
    results = [{"ruleId": "R1", "message": {"text": "eval"}, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": uri}, "region": {"startLine": 2, "startColumn": 3}}}]} for uri in uris]
    path = tmp_path / "runner.sarif"
    path.write_text(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "ESLint"}},
                                                                "results": results}]}))
    return path


def test_github_runner_paths_map_to_a_project_in_a_subfolder(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {"web/src/app.js": lines(5), "web/src/util.js": lines(5),
                                         "web/README.md": "x\n"})
    log = runner_log(tmp_path, "/home/runner/work/repo/repo/web/src/app.js",
                     "file:///home/runner/work/repo/repo/web/src/util.js")
    [report] = ingest(repo / "web", log)
    assert len(report.skipped) == 0
    assert report.path_mappings == [("/home/runner/work/repo/repo/web/ → (project root) (automatic: a unique "
                                    "suffix matched a project file, 2 paths)")]
    assert sorted(f.location.path for f in findings(repo / "web")) == ["src/app.js", "src/util.js"]


def test_an_explicit_map_to_a_folder(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {"pkg/app.js": lines(5), "other/app.js": lines(5)})
    log = runner_log(tmp_path, "/build/out/app.js")
    [report] = ingest(repo, log)  # two files end in app.js: no automatic mapping, the result is skipped
    assert len(report.skipped) == 1 and "--path-prefix or --map" in report.skipped[0].reason
    [report] = ingest(repo, log, maps=["/build/out/=pkg"])
    assert report.new == 1 and report.path_mappings == ["/build/out/ → pkg (--path-prefix/--map, 1 path)"]


def test_a_bad_map_is_one_error():
    with pytest.raises(SutureError, match="expected FROM=TO"):
        PathMap.from_options(maps=["/build/out"])
    with pytest.raises(SutureError, match="inside the project"):
        PathMap.from_options(maps=["/build/out=../elsewhere"])


def test_https_github_blob_root_places_the_grouping_sample(tmp_path: Path):
    """The real log's SRCROOT is https://github.com/example/grouping-sample/blob/<sha>/: the old code skipped
    every result ("not a file URI")."""
    repo = make_repo(tmp_path / "repo", {"src/api/proxy.ts": lines(12)})
    reports = ingest(repo, DATA / "https-srcroot-grouping.sarif")
    assert sum(len(r.skipped) for r in reports) == 0 and sum(r.new for r in reports) == 3
    assert reports[0].path_mappings == [
        ("https://github.com/example/grouping-sample/blob/0000000000000000000000000000000000000000/ → "
        "(project root) (the log's source-root uriBaseId, 1 path)")]


def test_a_direct_blob_url_is_mapped_from_the_repository_root(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {"svc/app/main.py": lines(5)})
    log = runner_log(tmp_path, "https://github.com/org/repo/blob/0123abcd/svc/app/main.py")
    [report] = ingest(repo / "svc", log)
    assert len(report.skipped) == 0 and [f.location.path for f in findings(repo / "svc")] == ["app/main.py"]
    assert report.path_mappings[0].startswith("https://github.com/org/repo/blob/0123abcd/ → (project root)")


def test_an_https_url_nothing_maps_is_skipped_with_a_hint(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {"a.py": lines(3)})
    [report] = ingest(repo, runner_log(tmp_path, "https://example.com/elsewhere/b.py"))
    assert len(report.skipped) == 1 and "--map URL=" in report.skipped[0].reason
