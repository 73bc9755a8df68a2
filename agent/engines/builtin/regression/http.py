"""Regression templates for the `requests` fixers: requests_timeout (every request carries a timeout) and
tls_verify (no request goes out with certificate verification off).

The test replaces `requests.Session.request` — the one method every `requests.get/post/…/request` call and every
`Session` method ends in — with a stub that records the effective setting and stops the function there
(agent.engines.builtin.regression.stopped: no request leaves the machine, and the function's arguments only have
to reach the call). For tls_verify the effective setting is the call's `verify=` or else the session's own
`verify` attribute (so `session.verify = False` counts too). httpx calls get no test: modules that import httpx
are declined, as are call sites a test cannot reach (see stopped.py).
"""

from __future__ import annotations

from agent.engines.builtin.regression.site import RegressionDecline
from agent.engines.builtin.regression.stopped import STOPPED_CLASS, StoppedCall, stopped_call
from agent.models import Finding

REQUESTS_CALLS = {"get", "post", "put", "patch", "delete", "head", "options", "request"}
SESSION_CALLS = REQUESTS_CALLS | {"send", "stream"}
URL = '"http://suture.invalid/"'


def _requests_site(source: str, finding: Finding, names: set[str]) -> StoppedCall | RegressionDecline:
    if "httpx" in source and any(line.lstrip().startswith(("import httpx", "from httpx"))
                                 for line in source.splitlines()):
        return RegressionDecline("the module uses httpx; the regression template stubs requests only")
    return stopped_call(source, finding, names, URL)


def _test(site: StoppedCall, fixer: str, cwe: str, doc: str, record: str, name: str, check: str) -> str:
    return f'''"""Security regression test written by suture (builtin template for {fixer}, {cwe}).

{doc} No request leaves the machine: requests' Session.request is replaced by a stub that records the call and
stops {site.function} there.
"""

import pytest
import requests

from {site.module} import {site.function}
{STOPPED_CLASS}

def test_{site.function}_{name}(monkeypatch):
    sent = []

    def stub(self, method, url, *args, **kwargs):
        sent.append({record})
        raise _Stopped

    monkeypatch.setattr(requests.Session, "request", stub)
    with pytest.raises(_Stopped):
        {site.function}({site.arguments})
    {check}
'''


def timeout_test(source: str, finding: Finding) -> str | RegressionDecline:
    site = _requests_site(source, finding, REQUESTS_CALLS)
    if isinstance(site, RegressionDecline):
        return site
    return _test(site, "requests_timeout", "CWE-400",
                 "The request must carry a timeout: without one, a server that accepts the connection and never "
                 "answers\nblocks the caller forever.",
                 'kwargs.get("timeout")', "sends_requests_with_a_timeout",
                 'assert sent[0] is not None, "the request was sent without a timeout"')


def verify_test(source: str, finding: Finding) -> str | RegressionDecline:
    site = _requests_site(source, finding, SESSION_CALLS)
    if isinstance(site, RegressionDecline):
        return site
    return _test(site, "tls_verify", "CWE-295",
                 "The request must verify the server's TLS certificate: with verify=False anyone on the path can "
                 "pose as\nthe server.",
                 'self.verify if kwargs.get("verify") is None else kwargs["verify"]', "verifies_certificates",
                 'assert sent[0] is True or isinstance(sent[0], str), f"the request was sent with verify={sent[0]!r}"')
