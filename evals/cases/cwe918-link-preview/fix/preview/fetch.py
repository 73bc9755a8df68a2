"""Link previews for chat messages."""
import ipaddress
import socket
import urllib.parse
import urllib.request


def _check_target(url):
    """Refuse anything but http(s) to hosts whose every address is public (names are resolved first)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"refusing to fetch {url!r}: only http(s) URLs with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise ValueError(f"refusing to fetch {url!r}: cannot resolve {parts.hostname!r}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise ValueError(f"refusing to fetch {url!r}: {parts.hostname!r} is an internal address")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Every redirect target is checked like the first URL."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        _check_target(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_CheckedRedirects)


def fetch_preview(url, opener=_OPENER.open):
    """The first kilobyte of the page at `url`."""
    _check_target(url)
    with opener(url, timeout=5) as resp:
        return resp.read(1024)
