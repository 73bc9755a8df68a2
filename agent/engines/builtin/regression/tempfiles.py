"""Regression template for temp_file: the function no longer picks a temporary file name with `tempfile.mktemp`.

The test replaces `tempfile.mktemp` and `tempfile.mkstemp` (and any name the module imported them under) with
stubs that record which was called and stop the function there (agent.engines.builtin.regression.stopped): no
file is created, and the function's arguments only have to reach the call. It fails when mktemp is called and
passes when the function creates the file with mkstemp instead.
"""

from __future__ import annotations

from agent.engines.builtin.regression.site import RegressionDecline
from agent.engines.builtin.regression.stopped import STOPPED_CLASS, stopped_call
from agent.models import Finding


def mktemp_test(source: str, finding: Finding) -> str | RegressionDecline:
    site = stopped_call(source, finding, {"mktemp"}, '"suture"')
    if isinstance(site, RegressionDecline):
        return site
    return f'''"""Security regression test written by suture (builtin template for temp_file, CWE-377).

The temporary file must be created with mkstemp, not named with mktemp: between mktemp choosing a name and the
code opening it, another local user can put a file or symlink at that path. tempfile.mktemp and mkstemp are
replaced by stubs that record the call and stop {site.function} there.
"""

import tempfile

import pytest

import {site.module} as module_under_test
from {site.module} import {site.function}
{STOPPED_CLASS}

def test_{site.function}_creates_temporary_files_safely(monkeypatch):
    called = []
    for name in ("mktemp", "mkstemp"):
        real = getattr(tempfile, name)

        def stub(*args, _name=name, **kwargs):
            called.append(_name)
            raise _Stopped

        monkeypatch.setattr(tempfile, name, stub)
        for attribute, value in list(vars(module_under_test).items()):
            if value is real:
                monkeypatch.setattr(module_under_test, attribute, stub)
    with pytest.raises(_Stopped):
        {site.function}({site.arguments})
    assert called == ["mkstemp"], "a temporary file name was picked with tempfile.mktemp"
'''
