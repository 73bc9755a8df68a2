"""What a file is, from its path (and, for generated code, its first lines): one rule for every part of suture.

`path_kind` answers "source", "test", "config", "vendored", "generated" or "example" for any language's path;
`is_test_module` answers the narrower question "would a test runner collect this file as tests?" (pytest's
`test_*.py` / `*_test.py`, Go's `*_test.go`, JS/TS `*.test.*` / `*.spec.*`). Context (related tests), static
evidence (test code), test targeting, patch guards and triage all ask these two functions, so a file is never test
code to one part of suture and production code to another.

Test code is *certain* (`PathInfo.certain`) when the file is a test module or `conftest.py`, or lives under a
`tests/` or `__tests__/` folder: folders that hold nothing else. `test/`, `testing/` and `spec/` folders count as
test code for ranking, but may be helpers a package ships, so they are never proof that code cannot run in
production (a dismissal needs proof; see agent/engines/builtin/evidence.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Literal

PathKind = Literal["source", "test", "config", "vendored", "generated", "example"]

CERTAIN_TEST_DIRS = frozenset({"tests", "__tests__"})
TEST_DIRS = CERTAIN_TEST_DIRS | {"test", "testing", "spec"}
VENDOR_DIRS = frozenset({"vendor", "vendored", "_vendor", "third_party", "thirdparty", "site-packages",
                         "node_modules", "dist", "build"})
GENERATED_DIRS = frozenset({"migrations", "generated"})
EXAMPLE_DIRS = frozenset({"examples", "example", "samples", "sample", "demo", "demos", "docs", "doc"})
CONFIG_NAMES = frozenset({"setup.py", "setup.cfg", "pyproject.toml", "tox.ini", "pytest.ini", "noxfile.py",
                          "Dockerfile", "Makefile", "requirements.txt", "package.json", "manage.py"})
CONFIG_SUFFIXES = (".toml", ".ini", ".cfg", ".yaml", ".yml", ".conf", ".properties", ".env")
_TEST_MODULE = re.compile(r"^(test_.*\.py|.*_test\.py|.*_test\.go|.*\.(test|spec)\.[cm]?[jt]sx?)$")
_GENERATED_NAME = re.compile(r"(_pb2(_grpc)?\.py|\.generated\.\w+|\.min\.js)$")
_GENERATED_HEADER = re.compile(r"#.*(\bgenerated\b|do not edit|@generated)|//.*(@generated|do not edit)",
                               re.IGNORECASE)


@dataclass(frozen=True)
class PathInfo:
    kind: PathKind
    certain: bool = True  # for "test": the path proves it is test code (see the module docstring)


def is_test_module(path: str) -> bool:
    """A file a test runner collects as tests, by its name alone (conftest.py is test code, not a test module)."""
    return bool(_TEST_MODULE.match(PurePosixPath(path.replace("\\", "/")).name))


@lru_cache(maxsize=1 << 16)
def _classify(path: str) -> PathInfo:
    pure = PurePosixPath(path.replace("\\", "/"))
    dirs = {part.lower() for part in pure.parts[:-1]}
    name = pure.name
    if is_test_module(name) or name == "conftest.py" or dirs & CERTAIN_TEST_DIRS:
        return PathInfo("test")
    if dirs & TEST_DIRS:
        return PathInfo("test", certain=False)
    if dirs & VENDOR_DIRS:
        return PathInfo("vendored")
    if dirs & GENERATED_DIRS or _GENERATED_NAME.search(name):
        return PathInfo("generated")
    if dirs & EXAMPLE_DIRS:
        return PathInfo("example")
    if name in CONFIG_NAMES or name.endswith(CONFIG_SUFFIXES) or ".github" in dirs:
        return PathInfo("config")
    return PathInfo("source")


def classify_path(path: str, head: str = "") -> PathInfo:
    """What the file at `path` (relative, POSIX or Windows separators) is. `head`: its first lines, when known,
    so a "generated, do not edit" banner marks generated code wherever it lives. Memoized on the path."""
    info = _classify(path)
    if info.kind == "source" and head and _GENERATED_HEADER.search("\n".join(head.splitlines()[:5])):
        return PathInfo("generated")
    return info


def path_kind(path: str, head: str = "") -> PathKind:
    """`classify_path(path, head).kind`."""
    return classify_path(path, head).kind
