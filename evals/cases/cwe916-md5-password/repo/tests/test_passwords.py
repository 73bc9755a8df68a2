from auth.passwords import check_password, hash_password


def test_check():
    stored = hash_password("correct horse")
    assert check_password("correct horse", stored)
    assert not check_password("wrong", stored)
