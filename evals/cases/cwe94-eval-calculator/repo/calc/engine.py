"""The calculator widget's evaluator."""


def evaluate(expression):
    """Value of an arithmetic expression such as '2 + 3 * (4 - 1)'."""
    return eval(expression)
