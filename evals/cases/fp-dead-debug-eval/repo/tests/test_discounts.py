from shop.discounts import apply_discount


def test_codes():
    assert apply_discount(100, "SAVE10") == 90
    assert apply_discount(100, "NOPE") == 100
