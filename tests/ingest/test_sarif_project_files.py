"""Placing results on project files (sarif_paths.PathResolver): folders resolved once and plain files accepted with
one lstat must accept and refuse exactly what the full check does (symlinks out of the root, missing files), and
flagged lines read as bytes must be what Path.read_text gives (CRLF, lone CR, bad UTF-8)."""

from __future__ import annotations

import os
from pathlib import Path

from agent.ingest.sarif import parse_sarif


def log_for(uris: list[str]) -> dict:
    results = [{"ruleId": "R1", "message": {"text": "m"}, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": uri}, "region": {"startLine": 2, "endLine": 3}}}]} for uri in uris]
    return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scanner"}}, "results": results}]}


def test_symlinks_out_of_the_root_are_refused_and_inside_ones_placed(tmp_path: Path):
    root, outside = tmp_path / "project", tmp_path / "elsewhere"
    (root / "pkg" / "deep").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.py").write_text("a\nb\nc\n")
    for name in ("pkg/a.py", "pkg/deep/b.py", "top.py"):
        (root / name).write_text("one\ntwo\nthree\n")
    os.symlink(outside / "secret.py", root / "pkg" / "link_out.py")
    os.symlink(outside, root / "linked_folder")
    os.symlink(root / "pkg" / "a.py", root / "pkg" / "link_in.py")
    os.symlink(root / "pkg", root / "pkg_alias")
    uris = ["pkg/a.py", "pkg/deep/b.py", "top.py", "pkg/link_out.py", "linked_folder/secret.py", "pkg/link_in.py",
            "pkg_alias/a.py", "pkg/missing.py", "pkg/a.py/x.py", "pkg/deep"]
    run = parse_sarif(log_for(uris), root).runs[0]
    placed = sorted(f.location.path for f in run.findings)
    assert placed == ["pkg/a.py", "pkg/deep/b.py", "pkg/link_in.py", "pkg_alias/a.py", "top.py"]
    reasons = {uris[s.result_index]: s.reason for s in run.skipped}
    assert "resolves outside the project root" in reasons["pkg/link_out.py"]
    assert "resolves outside the project root" in reasons["linked_folder/secret.py"]
    assert "does not exist" in reasons["pkg/missing.py"]
    assert "does not exist" in reasons["pkg/a.py/x.py"]
    assert "does not exist" in reasons["pkg/deep"]


def test_flagged_lines_are_read_as_path_read_text_reads_them(tmp_path: Path):
    contents = {
        "crlf.py": b"first\r\nsecond\r\nthird\r\n",
        "cr.py": b"first\rsecond\rthird\r",
        "mixed.py": b"first\r\n\rsecond\nthird \xff\xfe bad\r\n",
        "utf8.py": "\ufefffirst\nsé\u2028cond\nthird\n".encode(),
    }
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    run = parse_sarif(log_for(list(contents)), tmp_path).runs[0]
    by_path = {f.location.path: f.location.snippet for f in run.findings}
    for name in contents:
        lines = (tmp_path / name).read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        assert by_path[name] == "".join(lines[1:3]), name


def test_folders_below_resolved_folders_are_still_checked_for_symlinks(tmp_path: Path):
    """Folders are resolved from their resolved parent: a symlinked folder deep below plain ones (out of the root, or
    back into it), met after its plain siblings, is judged as a full resolution judges it."""
    root, outside = tmp_path / "project", tmp_path / "elsewhere"
    (root / "a" / "b" / "plain").mkdir(parents=True)
    (outside / "c").mkdir(parents=True)
    (outside / "c" / "x.py").write_text("one\ntwo\nthree\n")
    for name in ("a/b/plain/x.py", "a/b/y.py", "a/z.py"):
        (root / name).write_text("one\ntwo\nthree\n")
    os.symlink(outside, root / "a" / "b" / "out")
    os.symlink(root / "a" / "b" / "plain", root / "a" / "b" / "back")
    uris = ["a/b/plain/x.py", "a/b/y.py", "a/b/out/c/x.py", "a/b/back/x.py", "a/b/plain/../../z.py",
            "a/b/out/c/missing.py", "a/b/nope/x.py"]
    run = parse_sarif(log_for(uris), root).runs[0]
    assert sorted(f.location.path for f in run.findings) == ["a/b/back/x.py", "a/b/plain/x.py", "a/b/y.py", "a/z.py"]
    reasons = {uris[s.result_index]: s.reason for s in run.skipped}
    assert "resolves outside the project root" in reasons["a/b/out/c/x.py"]
    assert "outside the project root" in reasons["a/b/out/c/missing.py"]
    assert "does not exist" in reasons["a/b/nope/x.py"]


def test_a_symlink_loop_or_an_overlong_path_skips_its_result_not_the_log(tmp_path: Path):
    from agent.ingest.sarif import parse_sarif

    root = tmp_path / "project"
    root.mkdir()
    (root / "ok.py").write_text("import os\nos.system(x)\n", encoding="utf-8")
    (root / "loop1").symlink_to(root / "loop2")
    (root / "loop2").symlink_to(root / "loop1")

    def result(uri: str) -> dict:
        return {"ruleId": "B605", "message": {"text": "shell"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": uri}, "region": {"startLine": 2}}}]}

    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "bandit"}}, "results": [
        result("loop1/x.py"), result("a/" * 3000 + "x.py"), result("ok.py")]}]}
    [run] = parse_sarif(log, root).runs
    assert [f.location.path for f in run.findings] == ["ok.py"]
    assert len(run.skipped) == 2
    assert all("cannot" in str(reason) for reason in run.skipped), run.skipped


def test_the_runs_and_logs_of_one_ingest_check_and_read_each_file_once(tmp_path: Path, monkeypatch):
    """One log's runs share what they learn about the project's files, and so do the logs of one ingest (one PathMap):
    each file is checked and read once, and every log's findings are what it gives parsed on its own."""
    from agent.ingest import project_files
    from agent.ingest.path_map import PathMap

    for name in ("a.py", "b.py", "link.py"):
        if name != "link.py":
            (tmp_path / name).write_text("one\ntwo\nthree\n")
    os.symlink(tmp_path / "a.py", tmp_path / "link.py")
    reads: list[str] = []
    real_read = project_files._file_lines
    monkeypatch.setattr(project_files, "_file_lines", lambda path: reads.append(path) or real_read(path))
    two_runs = log_for(["a.py", "b.py", "link.py", "gone.py"])
    two_runs["runs"].append(two_runs["runs"][0])
    alone = [parse_sarif(log, tmp_path) for log in (two_runs, log_for(["b.py", "a.py"]))]
    assert sorted(reads) == sorted(str(tmp_path / name) for name in ("a.py", "b.py", "link.py", "b.py", "a.py"))
    reads.clear()
    path_map = PathMap.from_options()
    shared = [parse_sarif(log, tmp_path, path_map=path_map) for log in (two_runs, log_for(["b.py", "a.py"]))]
    assert sorted(reads) == sorted(str(tmp_path / name) for name in ("a.py", "b.py", "link.py"))
    for one, other in zip(alone, shared, strict=True):
        for run, same in zip(one.runs, other.runs, strict=True):
            assert [f.model_dump(exclude={"first_seen", "last_seen"}) for f in run.findings] == [
                f.model_dump(exclude={"first_seen", "last_seen"}) for f in same.findings]
            assert run.skipped == same.skipped and run.warnings == same.warnings
