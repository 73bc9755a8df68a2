"""Client-side sessions stored in a cookie."""
import base64
import json


def dump_session(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def load_session(cookie):
    return json.loads(base64.urlsafe_b64decode(cookie.encode()))
