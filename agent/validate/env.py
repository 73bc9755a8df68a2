"""What validation shares across the proposals of one run: settings, where logs go, and per-commit caches.

Thread-safe: several workers validate in parallel and share one ValidationEnv. A cached value (the baseline
test run of a commit, the re-scan of unpatched files) is computed once even when two workers ask for it at
the same moment: the second waits for the first instead of running the same tests again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from agent.config import Settings
from agent.models import Finding, TestRun
from agent.patch.guards import GuardConfig
from agent.validate.bwrap import writable_root
from agent.validate.project_env import ProjectEnv, detect_project_env

T = TypeVar("T")


@dataclass
class ValidationEnv:
    """Settings, logs folder and caches for validating proposals against one commit."""

    settings: Settings
    logs_dir: Path
    commit: str
    baseline_cache: dict[str, TestRun] = field(default_factory=dict)
    rescan_cache: dict[tuple, list[Finding]] = field(default_factory=dict)
    user_repo: Path | None = None  # the user's working tree, watched for writes during test runs
    watch_home: Path | None = None  # the home folder watched for writes; None = the real one (~)
    baseline_escapes: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _key_locks: dict[Hashable, threading.Lock] = field(default_factory=dict, repr=False)

    def guard_config(self) -> GuardConfig:
        return GuardConfig(
            max_files=self.settings.max_files,
            max_changed_lines=self.settings.max_changed_lines,
            allow_test_edits=self.settings.allow_test_edits,
            allow_harness_edits=self.settings.allow_harness_edits,
        )

    def project_env(self, project_dir: Path) -> ProjectEnv:
        """The environment the tests of `project_dir` (a checkout of `user_repo`'s project) run in: the
        configured test_command, else the project's virtualenv found in the user's checkout (untracked, so
        not in the worktree), else suture's interpreter; see agent.validate.project_env."""
        source, root = Path(project_dir), None
        if self.user_repo is not None:
            checkout = writable_root(Path(project_dir))[0]
            root = Path(self.user_repo).resolve()
            try:
                source = root / Path(project_dir).resolve().relative_to(checkout)
            except ValueError:
                source = root
        return detect_project_env(Path(project_dir), source, root, configured=self.settings.test_command,
                                  test_python=self.settings.test_python)

    def test_command(self, project_dir: Path) -> list[str] | None:
        return self.project_env(project_dir).command

    def cached(self, cache: dict[Any, T], key: Hashable, compute: Callable[[], T]) -> T:
        """`cache[key]`, computing it once across threads; a failed computation is not cached."""
        with self._lock:
            if key in cache:
                return cache[key]
            key_lock = self._key_locks.setdefault((id(cache), key), threading.Lock())
        with key_lock:
            with self._lock:
                if key in cache:
                    return cache[key]
            value = compute()
            with self._lock:
                cache[key] = value
            return value
