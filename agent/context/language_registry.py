"""Which language plugin gathers context for a file: the one place plugins are listed (a new language is one
plugin module and one entry in `PLUGINS`). It sits above the seam (languages.py) and every plugin, so plugins
never import it.
"""

from __future__ import annotations

from agent.context.languages import LanguageSupport, LineWindowSupport
from agent.context.python_code import PythonSupport

PLUGINS: tuple[type[LanguageSupport], ...] = (PythonSupport,)


def language_for(path: str) -> LanguageSupport:
    """The plugin for a file by its name; `LineWindowSupport` when no language plugin handles it."""
    for plugin in (make() for make in PLUGINS):
        if plugin.handles(path):
            return plugin
    return LineWindowSupport()
