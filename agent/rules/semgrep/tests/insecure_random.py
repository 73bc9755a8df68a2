# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import random
import secrets
import string

ALPHABET = string.ascii_letters + string.digits


def reset_token():
    # ruleid: python-insecure-random-secret
    token = "".join(random.choice(ALPHABET) for _ in range(32))
    return token


def new_password(length=12):
    # ruleid: python-insecure-random-secret
    password = "".join(random.choices(ALPHABET, k=length))
    return password


class Session:
    def __init__(self):
        # ruleid: python-insecure-random-secret
        self.session_id = random.getrandbits(128)


def make_api_key():
    # ruleid: python-insecure-random-secret
    return "%032x" % random.getrandbits(128)


def otp(store):
    # ruleid: python-insecure-random-secret
    store["otp_code"] = random.randint(100000, 999999)


def secure_token():
    # ok: python-insecure-random-secret
    token = secrets.token_urlsafe(32)
    return token


def shuffle_deck(cards):
    # ok: python-insecure-random-secret
    delay = random.uniform(0.1, 0.5)
    random.shuffle(cards)
    return delay


def sample_keys(rows):
    # ok: python-insecure-random-secret
    monkey = random.choice(rows)
    return monkey
