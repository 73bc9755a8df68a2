"""jinja2_autoescape: Environment gets select_autoescape(), Template gets True; explicit settings are left alone."""

from __future__ import annotations

import textwrap

import pytest

from agent.engines.builtin.fixers.jinja2_autoescape import Jinja2AutoescapeFixer
from tests.engines.builtin.helpers import line_of, load_function, make_finding

FIXER = Jinja2AutoescapeFixer()


def fix_at(source: str, needle: str):
    source = textwrap.dedent(source)
    result = FIXER.fix(source, make_finding(line_of(source, needle), "B701", (94,)))
    if result.new_source is not None:
        compile(result.new_source, "fixed.py", "exec")
    return source, result


def test_module_style_environment_in_a_flask_app_factory() -> None:
    source, result = fix_at('''\
        import jinja2
        from flask import Flask


        def create_app():
            app = Flask(__name__)
            app.jinja_env = jinja2.Environment(
                loader=jinja2.FileSystemLoader("templates"),
                trim_blocks=True,
            )
            return app
        ''', "jinja2.Environment(")
    assert result.new_source == source.replace(
        "trim_blocks=True,\n", "trim_blocks=True,\n        autoescape=jinja2.select_autoescape(),\n")


def test_from_import_autoescape_false_is_replaced_and_select_autoescape_imported() -> None:
    _, result = fix_at('''\
        from jinja2 import Environment, PackageLoader

        ENV = Environment(loader=PackageLoader("shop"), autoescape=False)
        ''', "ENV =")
    assert result.new_source == (
        "from jinja2 import select_autoescape, Environment, PackageLoader\n\n"
        'ENV = Environment(loader=PackageLoader("shop"), autoescape=select_autoescape())\n')
    assert "replaced autoescape=False" in result.reason


def test_template_from_string_escapes_after_the_fix() -> None:
    source, result = fix_at('''\
        from jinja2 import Template


        class Greeter:
            def render(self, name):
                return Template("<p>Hello {{ name }}</p>").render(name=name)


        def greet(name):
            return Greeter().render(name)
        ''', "Template(")
    assert 'Template("<p>Hello {{ name }}</p>", autoescape=True)' in result.new_source
    payload = "<script>alert(1)</script>"
    assert load_function(source, "greet")(payload) == f"<p>Hello {payload}</p>"  # the flaw ...
    assert load_function(result.new_source, "greet")(payload) == (
        "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;</p>")  # ... is gone


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ("jinja2.Environment(autoescape=True)", "autoescape=True already escapes"),
        ("jinja2.Environment(autoescape=jinja2.select_autoescape(['html']))", "already escapes"),
        ("jinja2.Environment(autoescape=settings.ESCAPE)", "set from `settings.ESCAPE`"),
        ("jinja2.Environment(**options)", "*args or **kwargs"),
        ("jinja2.FileSystemLoader('t')", "no jinja2 Environment/Template call on line 2"),
    ],
)
def test_declines(call: str, reason: str) -> None:
    _, result = fix_at(f"import jinja2\nenv = {call}\n", "env =")
    assert result.new_source is None and reason in result.reason
