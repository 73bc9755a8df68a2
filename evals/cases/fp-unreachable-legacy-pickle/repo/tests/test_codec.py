from cache.codec import load_entry


def test_json_entries():
    assert load_entry(b'{"a": 1}') == {"a": 1}
