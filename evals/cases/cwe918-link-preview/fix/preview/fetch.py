"""Link previews for chat messages."""
import ipaddress
import urllib.parse
import urllib.request


def _check_target(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"refusing to fetch {url!r}: only http(s) URLs with a host")
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        raise ValueError(f"refusing to fetch {url!r}: local host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if not address.is_global:
        raise ValueError(f"refusing to fetch {url!r}: internal address")


def fetch_preview(url, opener=urllib.request.urlopen):
    """The first kilobyte of the page at `url`."""
    _check_target(url)
    with opener(url, timeout=5) as resp:
        return resp.read(1024)
