from logscan.search import count_matches


def test_counts(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("error a\nok\nerror b\n")
    assert count_matches("error", str(log)) == 2
    assert count_matches("missing", str(log)) == 0
