from files.copy import copy_file


def test_copies_names_with_spaces(tmp_path):
    src = tmp_path / "my notes.txt"
    src.write_text("hello")
    copy_file(str(src), str(tmp_path / "copy of notes.txt"))
    assert (tmp_path / "copy of notes.txt").read_text() == "hello"
