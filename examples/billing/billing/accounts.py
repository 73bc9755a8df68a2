"""Billing portal accounts: one-time password-reset tokens that expire after an hour."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import string
from datetime import UTC, datetime, timedelta

TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_LENGTH = 32
RESET_TTL = timedelta(hours=1)


class InvalidResetToken(ValueError):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_reset_token(conn: sqlite3.Connection, email: str, now: datetime | None = None) -> str:
    """Create a reset token for `email`; only its hash is stored, the token itself goes into the email."""
    token = "".join(random.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))
    expires_at = (now or _now()) + RESET_TTL
    with conn:
        conn.execute(
            "INSERT INTO password_resets (token_hash, email, expires_at) VALUES (?, ?, ?)",
            (_token_hash(token), email, expires_at.isoformat()),
        )
    return token


def redeem_reset_token(conn: sqlite3.Connection, token: str, now: datetime | None = None) -> str:
    """Mark a token used and return the email it was issued for; raise InvalidResetToken otherwise."""
    row = conn.execute(
        "SELECT email, expires_at, used FROM password_resets WHERE token_hash = ?", (_token_hash(token),)
    ).fetchone()
    if row is None or row["used"]:
        raise InvalidResetToken("unknown or already used reset token")
    if (now or _now()) >= datetime.fromisoformat(row["expires_at"]):
        raise InvalidResetToken("reset token has expired")
    with conn:
        conn.execute("UPDATE password_resets SET used = 1 WHERE token_hash = ?", (_token_hash(token),))
    return row["email"]
