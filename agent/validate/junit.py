"""Read JUnit XML test reports into counts and failing test ids.

Handles the JUnit XML that pytest writes (both `junit_family` variants) and the common shape other runners
emit (`<testsuites>`/`<testsuite>` with `<testcase>` children carrying `<failure>`, `<error>` or `<skipped>`).
Each `<testcase>` is counted once: failure beats error beats skipped beats passed.

Test ids follow pytest's node-id form ("tests/test_x.py::TestK::test_y[1]") when the report carries a `file`
attribute (pytest with `-o junit_family=xunit1`); otherwise they are "<classname>::<name>".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import SutureError

MAX_REPORT_BYTES = 50 * 1024 * 1024


class JUnitError(SutureError):
    """A JUnit report that is missing, too large or not XML."""


@dataclass(frozen=True)
class JUnitSummary:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failing: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)  # every test id in the report, once, in report order
    skipped_ids: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped


def parse_junit(path: Path) -> JUnitSummary:
    """Count outcomes in a JUnit XML report; `failing` lists failed and errored test ids, `ids` every test id,
    both in report order."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise JUnitError(f"JUnit report {path} cannot be read: {exc.strerror or exc}") from exc
    if size == 0:
        raise JUnitError(f"JUnit report {path} is empty (the test run ended before writing it)")
    if size > MAX_REPORT_BYTES:
        raise JUnitError(f"JUnit report {path} is too large ({size} bytes > {MAX_REPORT_BYTES})")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise JUnitError(f"JUnit report {path} is not valid XML: {exc}") from exc
    return summarize_junit(root)


def summarize_junit(root: ET.Element) -> JUnitSummary:
    """Count outcomes under an already parsed JUnit root element."""
    passed = failed = errors = skipped = 0
    failing: list[str] = []
    ids: dict[str, None] = {}
    skipped_ids: dict[str, None] = {}
    for case in root.iter("testcase"):
        outcome = _outcome(case)
        test_id = junit_test_id(case)
        ids[test_id] = None
        if outcome == "skipped":
            skipped_ids[test_id] = None
        if outcome == "failed":
            failed += 1
        elif outcome == "error":
            errors += 1
        elif outcome == "skipped":
            skipped += 1
        else:
            passed += 1
        if outcome in ("failed", "error") and test_id not in failing:
            failing.append(test_id)
    return JUnitSummary(passed=passed, failed=failed, errors=errors, skipped=skipped, failing=failing,
                        ids=list(ids), skipped_ids=list(skipped_ids))


def junit_test_id(case: ET.Element) -> str:
    """A pytest-style node id for one `<testcase>`, as close as the report allows."""
    classname = (case.get("classname") or "").strip()
    name = (case.get("name") or "").strip()
    file = (case.get("file") or "").strip().replace("\\", "/")
    if file:
        module = file.removesuffix(".py")
        dotted_module = module.replace("/", ".")
        if not classname:
            # pytest reports a collection error as classname="" name="<dotted module>" file="<path>"
            return file if name in ("", dotted_module) else f"{file}::{name}"
        if classname == dotted_module:
            return f"{file}::{name}"
        if classname.startswith(dotted_module + "."):
            classes = classname[len(dotted_module) + 1 :].split(".")
            return "::".join([file, *classes, name])
        return f"{file}::{name}"
    if classname and name:
        return f"{classname}::{name}"
    return classname or name or "<unnamed test>"


def _outcome(case: ET.Element) -> str:
    if case.find("failure") is not None:
        return "failed"
    if case.find("error") is not None:
        return "error"
    if case.find("skipped") is not None:
        return "skipped"
    return "passed"
