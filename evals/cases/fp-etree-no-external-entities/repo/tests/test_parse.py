from inbox.parse import order_ids


def test_ids():
    assert order_ids(b'<orders><order id="1"/><order id="2"/></orders>') == ["1", "2"]
