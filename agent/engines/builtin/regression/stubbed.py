"""Regression templates for weak_hash and jinja2_autoescape: the test replaces the constructors the flagged call
reaches with stubs that record how they were called and stop the function there (the call site rules are
agent.engines.builtin.regression.stopped's: the function's arguments only have to reach the call).

- weak_hash (CWE-327/328): every hashlib constructor (`md5`, `sha1`, `new`, the SHA-2/SHA-3/BLAKE2 ones), also
  under the names the module imported them as, is stubbed; the test fails when the digest is MD5 or SHA-1 without
  `usedforsecurity=False`, and passes on SHA-256 or on a weak digest declared as not for security.
- jinja2_autoescape (CWE-79): `jinja2.Environment`, `jinja2.Template` and `jinja2.sandbox.SandboxedEnvironment`
  (and the module's own names for them) are stubbed; the test fails unless the call turns autoescaping on
  (`autoescape=True` or a function such as `select_autoescape()`).
Modules that do not import hashlib / jinja2 are declined: the stub would not be the object the call reaches.
"""

from __future__ import annotations

from agent.engines.builtin.regression.site import RegressionDecline
from agent.engines.builtin.regression.stopped import STOPPED_CLASS, stopped_call
from agent.models import Finding

HASH_CALLS = {"md5", "sha1", "new"}
HASH_CONSTRUCTORS = ("md5", "sha1", "new", "sha224", "sha256", "sha384", "sha512", "blake2b", "blake2s",
                     "sha3_224", "sha3_256", "sha3_384", "sha3_512")
JINJA_CALLS = {"Environment", "Template", "SandboxedEnvironment"}


def _imports(source: str, module: str) -> bool:
    return any(line.lstrip().startswith((f"import {module}", f"from {module}")) for line in source.splitlines())


def _stubbing(targets: str, record: str) -> str:
    """Test code that replaces each `(module, name)` of `targets` (and the module under test's aliases of it) with
    a stub appending `record` (an expression over `name`, `args`, `kwargs`) to `calls` and stopping."""
    return f'''    calls = []

    def stub_for(name):
        def stub(*args, **kwargs):
            calls.append({record})
            raise _Stopped
        return stub

    for owner, name in {targets}:
        real = getattr(owner, name, None)
        if real is None:
            continue
        stub = stub_for(name)
        monkeypatch.setattr(owner, name, stub)
        for attribute, value in list(vars(module_under_test).items()):
            if value is real:
                monkeypatch.setattr(module_under_test, attribute, stub)'''


def weak_hash_test(source: str, finding: Finding) -> str | RegressionDecline:
    if not _imports(source, "hashlib"):
        return RegressionDecline("the module does not import hashlib; the template stubs hashlib's constructors")
    site = stopped_call(source, finding, HASH_CALLS, '"suture"')
    if isinstance(site, RegressionDecline):
        return site
    targets = f"[(hashlib, name) for name in {HASH_CONSTRUCTORS!r}]"
    record = ('(str(args[0] if args else kwargs.get("name", "")).lower() if name == "new" else name, '
              'kwargs.get("usedforsecurity", True))')
    return f'''"""Security regression test written by suture (builtin template for weak_hash, CWE-327).

MD5 and SHA-1 must not be used where the digest protects something: the digest is SHA-256, or a weak one declared
not for security (usedforsecurity=False). hashlib's constructors are replaced by stubs that record the call and
stop {site.function} there.
"""

import hashlib

import pytest

import {site.module} as module_under_test
from {site.module} import {site.function}
{STOPPED_CLASS}

def test_{site.function}_uses_no_weak_hash_for_security(monkeypatch):
{_stubbing(targets, record)}
    with pytest.raises(_Stopped):
        {site.function}({site.arguments})
    weak = [call for call in calls if call[0] in ("md5", "sha1") and call[1] is not False]
    assert calls and not weak, f"a weak digest is used for security: {{weak}}"
'''


def autoescape_test(source: str, finding: Finding) -> str | RegressionDecline:
    if not _imports(source, "jinja2"):
        return RegressionDecline("the module does not import jinja2; the template stubs Jinja2's constructors")
    site = stopped_call(source, finding, JINJA_CALLS, '"suture"')
    if isinstance(site, RegressionDecline):
        return site
    targets = ('[(jinja2, "Environment"), (jinja2, "Template"), '
               '(jinja2.sandbox, "SandboxedEnvironment")]')
    return f'''"""Security regression test written by suture (builtin template for jinja2_autoescape, CWE-79).

A Jinja2 environment or template must escape HTML: autoescape=True, or a function choosing it by template name
(select_autoescape). Jinja2's constructors are replaced by stubs that record the call and stop {site.function}
there.
"""

import jinja2
import jinja2.sandbox
import pytest

import {site.module} as module_under_test
from {site.module} import {site.function}
{STOPPED_CLASS}

def test_{site.function}_escapes_html(monkeypatch):
{_stubbing(targets, 'kwargs.get("autoescape", False)')}
    with pytest.raises(_Stopped):
        {site.function}({site.arguments})
    assert calls and all(value is True or callable(value) for value in calls), f"autoescape is off: {{calls}}"
'''
