"""Client for the partner status API."""
import requests


def fetch_status(url, timeout=5):
    resp = requests.get(url, timeout=timeout, verify=False)
    resp.raise_for_status()
    return resp.json()["status"]
