import io

from preview.fetch import fetch_preview


def test_fetches_public_page():
    calls = []

    def opener(url, timeout=None):
        calls.append(url)
        return io.BytesIO(b"<html>hello</html>")

    assert fetch_preview("https://news.example.com/story", opener=opener) == b"<html>hello</html>"
    assert calls == ["https://news.example.com/story"]
