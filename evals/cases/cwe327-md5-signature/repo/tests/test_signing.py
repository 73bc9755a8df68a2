from hooks.signing import sign, verify


def test_sign_and_verify():
    sig = sign(b'{"event": "paid"}', b"k3y")
    assert verify(b'{"event": "paid"}', b"k3y", sig)
    assert not verify(b'{"event": "refund"}', b"k3y", sig)
    assert not verify(b'{"event": "paid"}', b"other", sig)
