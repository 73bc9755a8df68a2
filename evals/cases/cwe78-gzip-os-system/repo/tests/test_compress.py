import gzip

from archiver.compress import compress


def test_compress_keeps_original(tmp_path):
    f = tmp_path / "report.csv"
    f.write_text("a,b\n1,2\n")
    assert compress(str(f)) == 0
    assert f.exists()
    assert gzip.decompress((tmp_path / "report.csv.gz").read_bytes()) == b"a,b\n1,2\n"
