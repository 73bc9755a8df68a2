"""Password storage for local accounts."""
import hashlib
import hmac
import os

_ROUNDS = 100_000


def hash_password(password):
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ROUNDS)
    return f"{salt.hex()}${digest.hex()}"


def check_password(password, stored):
    salt, _, digest = stored.partition("$")
    again = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), _ROUNDS)
    return hmac.compare_digest(again.hex(), digest)
