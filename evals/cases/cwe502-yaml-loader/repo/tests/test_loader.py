from tenantcfg.loader import load_settings


def test_parses_mapping():
    assert load_settings("debug: true\nport: 8080\nhosts: [a, b]\n") == {
        "debug": True, "port": 8080, "hosts": ["a", "b"]}


def test_empty_document():
    assert load_settings("") == {}
