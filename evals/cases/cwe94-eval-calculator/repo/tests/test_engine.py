from calc.engine import evaluate


def test_arithmetic():
    assert evaluate("2 + 3 * 4") == 14
    assert evaluate("(1 + 2) / 4") == 0.75
    assert evaluate("-3 ** 2") == -9
    assert evaluate("7 % 4 + 2 ** 3") == 11
