"""Ground truth of the bundled example app (examples/billing): its planted-issue table and reference fixes.

`planted_issues()` reads the table in examples/billing/README.md, so the README stays the one place a person
checks, and the scanner tests hold it to what the scanners really report. `REFERENCE_FIXES` is the README's
"expected fix" column as exact search/replace edits; the example's own suite must pass before and after them.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "billing"


@dataclass(frozen=True)
class PlantedIssue:
    number: int
    name: str
    path: str
    first_line: int
    last_line: int
    cwe: int
    bandit_rule: str | None
    semgrep_rule: str | None


def planted_issues(readme: Path = EXAMPLE / "README.md") -> list[PlantedIssue]:
    """Rows of the README's planted-issue table (| # | Issue | File:line[-line] | CWE | Bandit | Semgrep | Fix |)."""
    issues = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 7 or not cells[0].isdigit():
            continue
        path, _, lines = cells[2].partition(":")
        first, _, last = lines.partition("-")
        issues.append(
            PlantedIssue(
                number=int(cells[0]),
                name=cells[1],
                path=path,
                first_line=int(first),
                last_line=int(last or first),
                cwe=int(cells[3].removeprefix("CWE-")),
                bandit_rule=None if cells[4] == "—" else cells[4],
                semgrep_rule=None if cells[5] == "—" else cells[5],
            )
        )
    return issues


def copy_example(dest: Path) -> Path:
    """A pristine copy of the example (no caches), as suture would copy it."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc"))
    return dest

# planted issue -> (file, search, replace)
REFERENCE_FIXES: dict[str, tuple[str, str, str]] = {
    "command-injection": (
        "billing/exports.py",
        'subprocess.run(f"tar -czf {archive} -C {export_dir} .", shell=True, check=True)',
        'subprocess.run(["tar", "-czf", str(archive), "-C", str(export_dir), "."], check=True)',
    ),
    "yaml-load": (
        "billing/settings.py",
        "yaml.load(text, Loader=yaml.Loader)",
        "yaml.safe_load(text)",
    ),
    "tar-extractall": (
        "billing/statements.py",
        "bundle.extractall(dest)",
        'bundle.extractall(dest, filter="data")',
    ),
    "insecure-random-token": (
        "billing/accounts.py",
        "random.choice(TOKEN_ALPHABET)",
        "secrets.choice(TOKEN_ALPHABET)",
    ),
    "md5-signature": (
        "billing/links.py",
        'hashlib.md5(f"{secret}:{invoice_number}:{expires}".encode()).hexdigest()',
        'hmac.new(secret.encode(), f"{invoice_number}:{expires}".encode(), hashlib.sha256).hexdigest()',
    ),
    "md5-etag": (
        "billing/render.py",
        'hashlib.md5(body.encode("utf-8"))',
        'hashlib.md5(body.encode("utf-8"), usedforsecurity=False)',
    ),
    "tls-verify-disabled": (
        "billing/payments.py",
        "            verify=False,\n",
        "",
    ),
    "sql-injection": (
        "billing/db.py",
        "f\"WHERE name LIKE '%{term}%' OR email LIKE '%{term}%' ORDER BY name\"\n    ).fetchall()",
        (
            "\"WHERE name LIKE '%' || ? || '%' OR email LIKE '%' || ? || '%' ORDER BY name\",\n"
            "        (term, term),\n    ).fetchall()"
        ),
    ),
}

# imports a fix needs: file -> (search, replace)
EXTRA_IMPORTS: dict[str, tuple[str, str]] = {
    "billing/accounts.py": ("import random\n", "import secrets\n"),
}


def apply_reference_fixes(project: Path) -> None:
    """Apply every reference fix to a copy of the example; each search text must occur exactly once."""
    edits = list(REFERENCE_FIXES.values()) + [(path, s, r) for path, (s, r) in EXTRA_IMPORTS.items()]
    for relative, search, replace in edits:
        path = project / relative
        text = path.read_text(encoding="utf-8")
        if text.count(search) != 1:
            raise AssertionError(f"{relative}: expected exactly one {search!r}, found {text.count(search)}")
        path.write_text(text.replace(search, replace), encoding="utf-8")
