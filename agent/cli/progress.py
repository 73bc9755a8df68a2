"""The one progress helper of the command line: bars on the terminal's stderr, nothing for machines.

`DelayedProgress` is for work that is usually quick (a bar only once it has run a moment); `task_bar` is a bar
for a loop over items whose per-item status line changes (fix, classify, eval)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic
from typing import Any

from agent.cli import render

PROGRESS_DELAY = 1.0  # seconds of work before a progress bar appears


def _columns() -> tuple[Any, ...]:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    return TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()


class DelayedProgress:
    """A progress bar on the terminal's stderr that appears only once the work has run `delay` seconds (default
    PROGRESS_DELAY), counted from the first report; nothing on a non-terminal. Call it with (done, total);
    `close()` when the work ends."""

    def __init__(self, label: str, delay: float | None = None) -> None:
        self.label, self.delay = label, PROGRESS_DELAY if delay is None else delay
        self.start: float | None = None
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if self.start is None:
                self.start = monotonic()
            if not render.err.is_terminal or monotonic() - self.start < self.delay:
                return
            from rich.progress import Progress

            self.bar = Progress(*_columns(), console=render.err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done, total=total)
        if done >= total:  # the work is over: let the next phase's bar have the terminal
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        self.start = float("inf")  # a closed bar never comes back


class TaskBar:
    """One task's bar: `status(text)` changes its line, `advance()` counts an item done."""

    def __init__(self, progress: Any, task: Any) -> None:
        self._progress, self._task = progress, task

    def status(self, text: str) -> None:
        self._progress.update(self._task, description=text)

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)


@contextmanager
def task_bar(label: str, total: int, quiet: bool = False) -> Iterator[TaskBar]:
    """A transient bar on stderr for `total` items (hidden when `quiet`, e.g. for --format json)."""
    from rich.progress import Progress

    with Progress(*_columns(), console=render.err, transient=True, disable=quiet) as progress:
        yield TaskBar(progress, progress.add_task(label, total=total))
