"""Moved to agent/scanners/ (a registry of `Scanner` modules). This re-export lasts until the last importer
(agent/app, tests/test_attempt.py) is switched over; do not add to it."""

from agent.scanners import *  # noqa: F403
from agent.scanners import __all__  # noqa: F401
