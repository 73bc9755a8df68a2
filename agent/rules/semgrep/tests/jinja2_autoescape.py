# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import jinja2
from jinja2 import Environment, FileSystemLoader, select_autoescape


def text_env():
    # ruleid: python-jinja2-autoescape-disabled
    return jinja2.Environment(loader=jinja2.FileSystemLoader("templates"))


def explicit_off():
    # ruleid: python-jinja2-autoescape-disabled
    return Environment(loader=FileSystemLoader("templates"), autoescape=False)


def html_env():
    # ok: python-jinja2-autoescape-disabled
    return Environment(loader=FileSystemLoader("templates"), autoescape=select_autoescape())


def configured(options):
    # ok: python-jinja2-autoescape-disabled
    return jinja2.Environment(**options)
