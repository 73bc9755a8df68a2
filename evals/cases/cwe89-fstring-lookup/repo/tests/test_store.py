from userdb.store import add_user, connect, find_user


def test_find_existing_and_missing():
    conn = connect()
    add_user(conn, "alice", "alice@example.com")
    add_user(conn, "bob", "bob@example.com")
    assert find_user(conn, "alice")[2] == "alice@example.com"
    assert find_user(conn, "zed") is None
