import io

from feeds.fetch import fetch_feed


def test_parses_feed():
    def opener(url, context=None, timeout=None):
        assert url == "https://news.example/feed.json"
        return io.BytesIO(b'{"items": [1, 2]}')

    assert fetch_feed("https://news.example/feed.json", opener=opener) == {"items": [1, 2]}
