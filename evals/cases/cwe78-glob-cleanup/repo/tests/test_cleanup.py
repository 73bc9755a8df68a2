from janitor.cleanup import purge_temp_files


def test_only_tmp_files_are_removed(tmp_path):
    for name in ("a.tmp", "b.tmp", "keep.txt"):
        (tmp_path / name).write_text("x")
    purge_temp_files(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_nothing_to_remove(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    purge_temp_files(str(tmp_path))
    assert (tmp_path / "keep.txt").exists()
