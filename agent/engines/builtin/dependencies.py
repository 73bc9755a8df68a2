"""Is a distribution already declared by the project under repair? For drafts whose rewrite imports a new one.

Looks at the usual declaration files at the project root — requirements*.txt (and requirements/*.txt),
pyproject.toml, setup.py, setup.cfg, Pipfile — for the distribution's name as a whole word (case-insensitive,
`-`/`_` alike). A mention there counts as declared; the answer is a hint for the reviewer, not a guarantee that
every environment installs it.
"""

from __future__ import annotations

import re
from pathlib import Path

DECLARATION_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "Pipfile")


def _declaration_files(root: Path) -> list[Path]:
    files = [root / name for name in DECLARATION_FILES]
    files += sorted(root.glob("requirements*.txt")) + sorted(root.glob("requirements/*.txt"))
    return [f for f in files if f.is_file()]


def declared_in(project_root: Path, distribution: str) -> str | None:
    """The project-relative path of the first declaration file naming `distribution`, or None."""
    pattern = re.compile(r"(?<![\w.-])" + re.escape(distribution).replace(r"\-", "[-_]").replace("_", "[-_]")
                         + r"(?![\w-])", re.IGNORECASE)
    for path in _declaration_files(project_root):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if pattern.search(text):
            return path.relative_to(project_root).as_posix()
    return None


def dependency_note(project_root: Path, distributions: tuple[str, ...]) -> str:
    """The draft's paragraph about distributions the patch starts importing ('' when there are none)."""
    notes = []
    for name in distributions:
        where = declared_in(project_root, name)
        if where is not None:
            notes.append(f"the patched code imports {name}, which {where} already declares")
        else:
            notes.append(f"the patched code imports {name} (PyPI: {name}), a NEW runtime dependency of this "
                         "project that none of its requirements files, pyproject.toml, setup.py, setup.cfg or "
                         "Pipfile declares: add it before merging (suture does not edit dependency files)")
    return ("\n\nDependencies: " + "; ".join(notes) + ".") if notes else ""
