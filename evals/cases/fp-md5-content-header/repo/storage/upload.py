"""Upload objects to the storage API."""
import base64
import hashlib


def content_md5(body):
    """The Content-MD5 header value the storage API requires with every upload."""
    return base64.b64encode(hashlib.md5(body).digest()).decode()
