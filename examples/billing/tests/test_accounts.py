from datetime import UTC, datetime, timedelta

import pytest

from billing.accounts import (
    RESET_TTL,
    TOKEN_ALPHABET,
    TOKEN_LENGTH,
    InvalidResetToken,
    issue_reset_token,
    redeem_reset_token,
)

NOON = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_tokens_are_long_and_url_safe(conn):
    tokens = {issue_reset_token(conn, "ap@acme.example", now=NOON) for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert len(token) == TOKEN_LENGTH
        assert set(token) <= set(TOKEN_ALPHABET)


def test_token_redeems_once_for_its_email(conn):
    token = issue_reset_token(conn, "ap@acme.example", now=NOON)
    assert redeem_reset_token(conn, token, now=NOON + timedelta(minutes=5)) == "ap@acme.example"
    with pytest.raises(InvalidResetToken, match="already used"):
        redeem_reset_token(conn, token, now=NOON + timedelta(minutes=6))


def test_expired_and_unknown_tokens_are_rejected(conn):
    token = issue_reset_token(conn, "ap@acme.example", now=NOON)
    with pytest.raises(InvalidResetToken, match="expired"):
        redeem_reset_token(conn, token, now=NOON + RESET_TTL)
    password_reset_token = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    with pytest.raises(InvalidResetToken, match="unknown"):
        redeem_reset_token(conn, password_reset_token, now=NOON)
