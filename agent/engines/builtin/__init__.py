"""The builtin engine: deterministic libcst fixers and static false-positive evidence, no model."""

from agent.engines.builtin.engine import BuiltinEngine

__all__ = ["BuiltinEngine"]
