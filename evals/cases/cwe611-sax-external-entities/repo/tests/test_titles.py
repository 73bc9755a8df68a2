from rss.titles import read_titles


def test_titles():
    feed = b"<rss><item><title>One</title></item><item><title>Two &amp; three</title></item></rss>"
    assert read_titles(feed) == ["One", "Two & three"]
