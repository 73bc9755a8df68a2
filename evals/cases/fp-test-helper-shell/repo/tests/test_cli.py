from tests.support import run_cli


def test_greets():
    assert run_cli("--name Ann") == "hello Ann"
    assert run_cli("") == "hello world"
