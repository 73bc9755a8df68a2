"""Client-side sessions stored in a cookie."""
import base64
import pickle


def dump_session(data):
    return base64.urlsafe_b64encode(pickle.dumps(data)).decode()


def load_session(cookie):
    return pickle.loads(base64.urlsafe_b64decode(cookie.encode()))
