from storage.upload import content_md5


def test_known_value():
    assert content_md5(b"hello") == "XUFAKrxLKna5cZ2REBfFkg=="
