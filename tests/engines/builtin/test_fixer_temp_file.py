"""temp_file: `path = tempfile.mktemp()` becomes mkstemp with its descriptor closed; other shapes are declined."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from agent.engines.builtin.fixers.temp_file import TempFileFixer
from tests.engines.builtin.helpers import line_of, load_function, make_finding

FIXER = TempFileFixer()


def fix_at(source: str, needle: str):
    source = textwrap.dedent(source)
    result = FIXER.fix(source, make_finding(line_of(source, needle), "B306", (377,)))
    if result.new_source is not None:
        compile(result.new_source, "fixed.py", "exec")
    return source, result


HELPER = '''\
    import tempfile


    def write_report(text, directory):
        path = tempfile.mktemp(suffix=".txt", dir=directory)  # scratch file
        with open(path, "w") as handle:
            handle.write(text)
        return path
    '''


def test_helper_creates_the_file_securely_and_still_works(tmp_path) -> None:
    source, result = fix_at(HELPER, "mktemp")
    assert result.new_source == source.replace(
        "import tempfile\n", "import tempfile\nimport os\n").replace(
        '    path = tempfile.mktemp(suffix=".txt", dir=directory)  # scratch file\n',
        '    path_fd, path = tempfile.mkstemp(suffix=".txt", dir=directory)  # scratch file\n'
        "    os.close(path_fd)\n")
    path = load_function(result.new_source, "write_report")("hello", str(tmp_path))
    assert Path(path).read_text() == "hello" and path.endswith(".txt")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # created by mkstemp: owner only


def test_from_import_in_a_method() -> None:
    _, result = fix_at('''\
        import os
        from tempfile import mktemp


        class Exporter:
            def export(self):
                target = mktemp()
                self.dump(target)
        ''', "target =")
    assert "target_fd, target = mkstemp()\n        os.close(target_fd)\n" in result.new_source
    assert "from tempfile import mkstemp, mktemp\n" in result.new_source
    assert result.new_source.count("import os") == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("handle = open(tempfile.mktemp(), 'w')", "not assigned to a variable on a line of its own"),
        ("self.path = tempfile.mktemp()", "not assigned to a variable"),
        ("sock = tempfile.mktemp()\n    server.bind(sock)", "`sock` is passed to server.bind on line 7"),
        ("d = tempfile.mktemp()\n    os.mkdir(d)", "`d` is passed to os.mkdir on line 7, which creates the path itself"),
        ("p_fd = 1\n    p = tempfile.mktemp()", "`p_fd` is already used"),
    ],
)
def test_declines(body: str, reason: str) -> None:
    _, result = fix_at(f"import os\nimport tempfile\n\n\ndef go(self, server):\n    {body}\n", "tempfile.mktemp")
    assert result.new_source is None and reason in result.reason
