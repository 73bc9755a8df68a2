"""tar_extract: add filter="data" to tarfile extraction; decline existing filters/members and non-tar receivers."""

from __future__ import annotations

import io
import tarfile
import textwrap

import pytest

from agent.engines.builtin.fixers.tar_extract import TarExtractFixer
from tests.engines.builtin.helpers import line_of, load_function, make_finding

FIXER = TarExtractFixer()


def fix_at(source: str, needle: str):
    return FIXER.fix(source, make_finding(line_of(source, needle), "B202", (22,)))


@pytest.mark.parametrize(
    ("source", "before", "after"),
    [
        ("import tarfile\nwith tarfile.open(p) as tar:\n    tar.extractall(dest)\n",
         "tar.extractall(dest)", 'tar.extractall(dest, filter="data")'),
        ("import tarfile\ntarfile.open(p).extractall()\n", ".extractall()", '.extractall(filter="data")'),
        ("import tarfile\narc = tarfile.TarFile(p)\narc.extract(member, path=dest)\n",
         "arc.extract(member, path=dest)", 'arc.extract(member, path=dest, filter="data")'),
        ("import tarfile\n\n\ndef unpack(t: tarfile.TarFile, d):\n    t.extractall(d)\n",
         "t.extractall(d)", 't.extractall(d, filter="data")'),
        ("from tarfile import open as topen\nwith topen(p) as t:\n    t.extractall(d)\n",
         "t.extractall(d)", 't.extractall(d, filter="data")'),
        ("import tarfile\n\n\ndef unpack(archive, d):\n    archive.extractall(d)\n",  # tarfile-only module
         "archive.extractall(d)", 'archive.extractall(d, filter="data")'),
    ],
)
def test_adds_data_filter(source: str, before: str, after: str) -> None:
    result = fix_at(source, before.split("(")[0].rsplit(".", 1)[-1] + "(")
    assert result.new_source == source.replace(before, after)
    assert 'filter="data"' in result.reason


def test_one_argument_per_line_layout_is_followed() -> None:
    source = "import tarfile\nwith tarfile.open(p) as tar:\n    tar.extractall(\n        dest,\n        numeric_owner=True,\n    )\n"
    assert fix_at(source, "extractall").new_source == source.replace(
        "numeric_owner=True,\n", 'numeric_owner=True,\n        filter="data",\n')


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import tarfile\nwith tarfile.open(p) as t:\n    t.extractall(d, filter='tar')\n", "already passes filter='tar'"),
        ("import tarfile\nwith tarfile.open(p) as t:\n    t.extractall(d, members=safe(t))\n", "members=safe(t)"),
        ("import tarfile\nwith tarfile.open(p) as t:\n    t.extractall(d, t.getmembers())\n", "members=t.getmembers()"),
        ("import tarfile, zipfile\n\n\ndef f(z, d):\n    z.extractall(d)\n", "cannot tell that `z` is a tarfile.TarFile"),
        ("import zipfile\nwith zipfile.ZipFile(p) as z:\n    z.extractall(d)\n", "cannot tell that `z`"),
        ("import tarfile\nwith tarfile.open(p) as t:\n    t.extractall(**opts)\n", "**kwargs"),
        ("import tarfile\nwith tarfile.open(p) as t:\n    t.getmembers()\n", "no tarfile extractall/extract call"),
    ],
)
def test_declines(source: str, reason: str) -> None:
    result = FIXER.fix(source, make_finding(source.count("\n"), "B202"))
    assert result.new_source is None
    assert reason in result.reason


def _tar_with(name: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    return buffer.getvalue()


def test_fixed_code_extracts_normal_archives_and_refuses_escapes(tmp_path) -> None:
    source = textwrap.dedent('''\
        import tarfile


        def unpack(path, dest):
            with tarfile.open(path) as tar:
                tar.extractall(dest)
        ''')
    fixed = fix_at(source, "extractall").new_source
    unpack = load_function(fixed, "unpack")
    good, evil = tmp_path / "good.tar", tmp_path / "evil.tar"
    good.write_bytes(_tar_with("inner/file.txt"))
    evil.write_bytes(_tar_with("../escaped.txt"))
    unpack(good, tmp_path / "out")
    assert (tmp_path / "out" / "inner" / "file.txt").read_bytes() == b"hi"
    with pytest.raises(tarfile.FilterError):
        unpack(evil, tmp_path / "out2")
    assert not (tmp_path / "escaped.txt").exists()
