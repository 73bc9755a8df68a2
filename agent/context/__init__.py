"""Code context for a finding: gathered per language, deduplicated, redacted and fitted to a token budget.

- gather.py: `build_context(finding, project_root, ...)` and `render_context_text(context)`
- languages.py: the `LanguageSupport` seam and the line-window fallback; python_code.py / python_refs.py: Python;
  language_registry.py: `language_for(path)`, the one list of plugins
- budget.py: offline tiktoken counting (`count_tokens`) and `fill_budget`
- redact.py: `Redactor`, `redact`, `unredact`, `contains_placeholder`
"""

from agent.context.budget import count_tokens, default_budget, fill_budget
from agent.context.gather import build_context, render_context_text
from agent.context.redact import Redactor, contains_placeholder, redact, unredact

__all__ = [
    "Redactor",
    "build_context",
    "contains_placeholder",
    "count_tokens",
    "default_budget",
    "fill_budget",
    "redact",
    "render_context_text",
    "unredact",
]
