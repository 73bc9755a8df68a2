"""Eval cases: small repositories with a labelled scanner finding, tests, a hidden exploit test and a reference fix.

A case is a folder holding:

    case.toml               id, cwe, label (true_positive | false_positive), reason, [finding] how it is produced
    repo/                   the project the agent sees (code + functional tests)
    hidden/test_exploit.py  the security property: fails on vulnerable code, passes once the vulnerability is gone
                            (for a false positive it passes on the original code, showing why it is not exploitable)
    fix/                    the reference fix: the changed files, at their paths inside repo/ (may be empty for a
                            false positive)
    finding.sarif           optional: the finding as SARIF, when no scanner here can produce it

A real case (agent.evals.real) has no repo/ but a `[source]` pinned sdist, an `advisory` id, and `[tests]`:
`args` (pytest arguments selecting the project's own tests) and `pythonpath` (project folders such as "src" put
first on sys.path for every run). evals/real/README.md documents the format.

`[finding]` is either `scanner = "bandit"` + `rule = "B602"` + `path = "pkg/mod.py"` (+ `line` when the rule fires
more than once in that file), or `sarif = "finding.sarif"` (+ `rule`/`path` to pick one result). Any folder under
the cases root with a case.toml is a case; a malformed one is a `CaseError` naming the file.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import SutureError

LABELS = ("true_positive", "false_positive")
DEFAULT_CASES_DIR = Path(__file__).resolve().parents[2] / "evals" / "cases"
_RELATIVE = re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/-]+$")
SPLITS = {"smoke": DEFAULT_CASES_DIR, "real": DEFAULT_CASES_DIR.parent / "real"}


class CaseError(SutureError):
    """A case folder that cannot be used (missing files, bad case.toml)."""


@dataclass(frozen=True)
class FindingSpec:
    """How a case's finding is produced: a scanner run, or a SARIF file shipped with the case."""

    scanner: str | None
    rule: str | None
    path: str | None
    line: int | None = None
    sarif: Path | None = None


@dataclass(frozen=True)
class EvalCase:
    id: str
    root: Path
    cwe: int
    label: str
    reason: str
    title: str
    finding: FindingSpec
    tags: tuple[str, ...] = field(default_factory=tuple)
    advisory: str | None = None  # CVE or GHSA id of a real case
    source: dict | None = None  # [source] of a real case: the project's pinned sdist (see agent.evals.real)
    test_args: tuple[str, ...] = ()  # pytest arguments that select the functional tests (default: pytest's own)
    pythonpath: tuple[str, ...] = ()  # project folders put first on sys.path for every run (e.g. "src")
    repo_dir: Path | None = None  # the unpacked project of a real case, once prepared

    @property
    def repo(self) -> Path:
        return self.repo_dir or self.root / "repo"

    @property
    def pytest_options(self) -> tuple[str, ...]:
        """pytest options every run of this case's code needs (its tests, the exploit test): `pythonpath`."""
        return ("-o", "pythonpath=" + " ".join(self.pythonpath)) if self.pythonpath else ()

    @property
    def exploit_test(self) -> Path:
        return self.root / "hidden" / "test_exploit.py"

    @property
    def fix_dir(self) -> Path:
        return self.root / "fix"

    @property
    def is_vulnerable(self) -> bool:
        return self.label == "true_positive"

    def reference_files(self) -> dict[str, str]:
        """Fixed file contents by repo-relative POSIX path."""
        if not self.fix_dir.is_dir():
            return {}
        return {p.relative_to(self.fix_dir).as_posix(): p.read_text(encoding="utf-8")
                for p in sorted(self.fix_dir.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}

    def digest(self) -> str:
        """A hash of every file in the case, so results can be tied to the exact case version."""
        h = hashlib.sha256()
        for p in sorted(self.root.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts:
                h.update(p.relative_to(self.root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
        return h.hexdigest()[:16]


def load_case(folder: Path) -> EvalCase:
    toml_path = folder / "case.toml"
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CaseError(f"{toml_path}: cannot read: {exc}") from None
    spec = data.get("finding")
    if not isinstance(spec, dict):
        raise CaseError(f"{toml_path}: missing [finding] table")
    label = data.get("label")
    if label not in LABELS:
        raise CaseError(f"{toml_path}: label must be one of {', '.join(LABELS)}, got {label!r}")
    try:
        cwe = int(data["cwe"])
    except (KeyError, TypeError, ValueError):
        raise CaseError(f"{toml_path}: cwe must be an integer") from None
    sarif = spec.get("sarif")
    if sarif is None and not (spec.get("scanner") and spec.get("rule") and spec.get("path")):
        raise CaseError(f"{toml_path}: [finding] needs scanner + rule + path, or sarif")
    if sarif is not None and not (folder / sarif).is_file():
        raise CaseError(f"{toml_path}: SARIF file {sarif} not found")
    source = data.get("source")
    if source is not None and not isinstance(source, dict):
        raise CaseError(f"{toml_path}: [source] must be a table")
    if source is None and not (folder / "repo").is_dir():
        raise CaseError(f"{folder}: no repo/ folder (and no [source] to fetch the project from)")
    advisory = data.get("advisory")
    if source is not None and not re.match(r"^(CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3})$",
                                           str(advisory or "")):
        raise CaseError(f"{toml_path}: a real case needs advisory = a CVE or GHSA id")
    tests = data.get("tests", {})
    args = tests.get("args", []) if isinstance(tests, dict) else None
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise CaseError(f"{toml_path}: [tests] args must be a list of strings")
    paths = tests.get("pythonpath", []) if isinstance(tests, dict) else None
    if not isinstance(paths, list) or not all(isinstance(p, str) and _RELATIVE.match(p) for p in paths):
        raise CaseError(f"{toml_path}: [tests] pythonpath must be a list of folders inside the project "
                        "(relative, no '..', no spaces)")
    if not str(data.get("reason", "")).strip():
        raise CaseError(f"{toml_path}: a label needs a reason")
    return EvalCase(
        id=str(data.get("id") or folder.name), root=folder, cwe=cwe, label=label, reason=str(data["reason"]).strip(),
        title=str(data.get("title", folder.name)), tags=tuple(data.get("tags", [])),
        advisory=str(advisory) if advisory else None, source=source, test_args=tuple(args),
        pythonpath=tuple(paths),
        finding=FindingSpec(scanner=spec.get("scanner"), rule=spec.get("rule"), path=spec.get("path"),
                            line=spec.get("line"), sarif=folder / sarif if sarif else None),
    )


def load_cases(root: Path | None = None, only: list[str] | None = None) -> list[EvalCase]:
    """Every case under `root` (default: evals/cases of this checkout), sorted by id; `only` filters by id/prefix."""
    root = (root or DEFAULT_CASES_DIR).expanduser()
    if not root.is_dir():
        raise CaseError(f"{root}: no such cases folder")
    cases = [load_case(p.parent) for p in sorted(root.glob("*/case.toml"))]
    if not cases:
        raise CaseError(f"{root}: no cases (folders with a case.toml)")
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        raise CaseError(f"{root}: duplicate case ids")
    if only:
        cases = [c for c in cases if any(c.id == o or c.id.startswith(o) for o in only)]
        if not cases:
            raise CaseError(f"no case matches {', '.join(only)}")
    return cases
