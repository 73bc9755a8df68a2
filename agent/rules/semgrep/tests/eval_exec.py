# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import ast


def calculate(expression):
    # ruleid: python-eval-nonliteral
    return eval(expression)


def run_plugin(source, namespace):
    # ruleid: python-eval-nonliteral
    exec(source, namespace)


def parse_literal(text):
    # ok: python-eval-nonliteral
    return ast.literal_eval(text)


def constant():
    # ok: python-eval-nonliteral
    return eval("1 + 1")


class Model:
    def eval(self, batch):
        return batch


def evaluate(model, batch):
    # ok: python-eval-nonliteral
    return model.eval(batch)
