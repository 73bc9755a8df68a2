"""Render blog comments."""
from jinja2 import DictLoader, Environment

TEMPLATES = {"comment.html": "<p class='c'><b>{{ author }}</b>: {{ text }}</p>"}
env = Environment(loader=DictLoader(TEMPLATES), autoescape=False)


def render_comment(author, text):
    return env.get_template("comment.html").render(author=author, text=text)
