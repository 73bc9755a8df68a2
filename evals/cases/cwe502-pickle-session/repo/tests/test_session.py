from webapp.session import dump_session, load_session


def test_round_trip():
    data = {"user": "ann", "cart": [1, 2], "admin": False}
    assert load_session(dump_session(data)) == data
