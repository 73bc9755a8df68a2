"""Errors from talking to a model: one line each, saying what failed and what to check."""

from __future__ import annotations

from agent.errors import SutureError
from agent.models import Usage


class ModelError(SutureError):
    """The model could not give a usable answer (endpoint down, HTTP errors, timeouts, unparseable reply).

    `usage` carries whatever tokens and cost were spent before the failure, so callers can still account for them.
    """

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage or Usage()


class ModelUnavailableError(ModelError):
    """The model cannot be reached or used at all (endpoint down, no credentials, unknown model): retrying the
    next finding would fail the same way, so a run stops here with a one-line reason."""


class ModelTruncatedError(ModelError):
    """The reply stopped at max_tokens even after one retry with a doubled limit."""

    def __init__(self, message: str, partial_text: str, usage: Usage | None = None) -> None:
        super().__init__(message, usage)
        self.partial_text = partial_text


class PromptError(SutureError):
    """A prompt template is missing, broken, or was rendered without a variable it needs."""
