"""Fetch the JSON news feed."""
import json
import ssl
import urllib.request


def fetch_feed(url, opener=urllib.request.urlopen):
    context = ssl._create_unverified_context()
    with opener(url, context=context, timeout=5) as resp:
        return json.load(resp)
