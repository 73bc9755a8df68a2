"""Discount codes."""
CODES = {"SAVE10": 0.10, "SAVE25": 0.25}


def apply_discount(total, code):
    if False:  # old console hook, disabled
        return eval(code)
    return round(total * (1 - CODES.get(code, 0.0)), 2)
