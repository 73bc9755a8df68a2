"""Password reset links."""
import secrets
import string

ALPHABET = string.ascii_letters + string.digits


def make_reset_token(length=32):
    return "".join(secrets.choice(ALPHABET) for _ in range(length))
