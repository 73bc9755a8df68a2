import io
import tarfile

from importer.unpack import unpack


def test_extracts_nested_files(tmp_path):
    archive = tmp_path / "theme.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"body { color: red }"
        info = tarfile.TarInfo("css/site.css")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    dest = tmp_path / "out"
    assert unpack(archive, dest) == ["css/site.css"]
    assert (dest / "css" / "site.css").read_bytes() == b"body { color: red }"
