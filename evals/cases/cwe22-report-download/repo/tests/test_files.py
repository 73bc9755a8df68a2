from reports.files import read_report


def test_reads_nested_report(tmp_path):
    (tmp_path / "2024").mkdir()
    (tmp_path / "2024" / "jan.txt").write_text("revenue: 10")
    (tmp_path / "summary.txt").write_text("ok")
    assert read_report(str(tmp_path), "2024/jan.txt") == "revenue: 10"
    assert read_report(str(tmp_path), "summary.txt") == "ok"
