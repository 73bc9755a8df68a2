from textstats.count import count_lines


def test_counts_lines(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("a\nb\nc\n")
    assert count_lines(str(f)) == 3


def test_empty_file(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_text("")
    assert count_lines(str(f)) == 0
