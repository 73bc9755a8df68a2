"""The pytest plugin suture puts into a patched test run to record which test executes which line.

Not imported by suture: agent.validate.covered copies this file, as `suture_coverage_plugin.py`, into a folder
of its own that the test run sees read-only, and loads it with `-p suture_coverage_plugin`. It runs inside the
project's test interpreter, so it imports nothing from suture. It starts coverage.py with suture's own
configuration file (SUTURE_COVERAGE_RC: only the changed files are measured, nothing the repository configures
applies), names the dynamic context after each test's node id for the whole of its setup, call and teardown,
and saves one data file per process (pytest-xdist workers included) into SUTURE_COVERAGE_DIR. Where coverage.py
cannot be imported it writes why into that folder and stays out of the way: the run goes on unmeasured.
"""

import os
import sys

import pytest

try:
    import coverage
except ImportError as exc:  # the project's interpreter lacks coverage.py
    coverage = None  # type: ignore[assignment]  # checked before use: the plugin then reports why it cannot measure
    _IMPORT_ERROR = str(exc)

_cov = None


def _note(folder, text):
    try:
        with open(os.path.join(folder, "unavailable.txt"), "w", encoding="utf-8") as out:
            out.write(text)
    except OSError:
        pass


def pytest_configure(config):
    global _cov
    folder, rc = os.environ.get("SUTURE_COVERAGE_DIR"), os.environ.get("SUTURE_COVERAGE_RC")
    if not folder or not rc or _cov is not None:
        return
    if coverage is None:
        _note(folder, f"coverage.py cannot be imported by {sys.executable}: {_IMPORT_ERROR}")
        return
    _cov = coverage.Coverage(data_file=os.path.join(folder, "data"), data_suffix=True, config_file=rc)
    _cov.start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if _cov is not None:
        _cov.switch_context(item.nodeid)
    yield
    if _cov is not None:
        _cov.switch_context("")


def pytest_unconfigure(config):
    global _cov
    if _cov is not None:
        _cov.stop()
        _cov.save()
        _cov = None
