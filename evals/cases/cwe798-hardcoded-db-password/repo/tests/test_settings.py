from billingdb.settings import dsn


def test_dsn_shape():
    value = dsn("db.test")
    assert value.startswith("postgresql://billing:")
    assert value.endswith("@db.test/billing")
