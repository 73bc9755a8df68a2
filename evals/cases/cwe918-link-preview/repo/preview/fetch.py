"""Link previews for chat messages."""
import urllib.request


def fetch_preview(url, opener=urllib.request.urlopen):
    """The first kilobyte of the page at `url`."""
    with opener(url, timeout=5) as resp:
        return resp.read(1024)
