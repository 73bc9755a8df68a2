"""Map the paths a scan recorded elsewhere (a CI agent, a container, a source-hosting URL) to this project's files.

For SARIF logs made on another machine: `C:/a2/_work/6/s/src/app.ts`, `/home/runner/work/repo/repo/src/app.ts`,
`https://github.com/org/repo/blob/<sha>/src/app.ts`. Three ways, tried in this order:

* explicit mappings the user gives (`--map FROM=TO`; `--path-prefix P` is `--map P=`), longest FROM first;
* a GitHub/GitLab blob URL (`https://host/owner/repo/blob/<ref>/path`, `/-/blob/` too): the path after the ref;
* a prefix learned from a unique suffix match: when exactly one file of the project is a path-suffix (on a `/`
  boundary) of the absolute path, the rest in front of it is a prefix that maps to the project root, and later
  paths with that prefix use it.

Paths relative to the repository root (the log was made at the repository root, the project is a folder inside
it) lose the project's folder. Every mapping used is counted, so the ingest summary can state each one.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import SutureError
from agent.ingest.project_files import ProjectFiles

_BLOB_URL = re.compile(r"^(https?://[^/]+/(?:[^/]+/)+?(?:-/)?blob/[^/]+/)(.+)$", re.IGNORECASE)
_SKIP_DIRS = frozenset({".git", ".suture", "node_modules", "__pycache__", ".venv", ".tox"})
_MAX_FILES = 200_000
PROJECT_ROOT = "(project root)"


def _normal(path: str) -> str:
    text = path.strip().replace("\\", "/")
    if re.match(r"^/?[A-Za-z]:/", text):
        text = text.lstrip("/")
        text = text[0].upper() + text[1:]
    return text


def parse_mapping(text: str) -> tuple[str, str]:
    """`FROM=TO` as given to --map: FROM a path prefix or URL prefix the log uses, TO a folder of the project
    (empty: the project root). Raises SutureError for anything else."""
    if "=" not in text:
        raise SutureError(f"--map {text!r}: expected FROM=TO (e.g. /home/runner/work/app/app/=)")
    source, target = text.rsplit("=", 1)
    source, target = _normal(source), _normal(target).strip("/")
    if not source.strip("/"):
        raise SutureError(f"--map {text!r}: FROM is empty")
    if target and (target.startswith("../") or target == ".." or posixpath.isabs(target) or ":" in target):
        raise SutureError(f"--map {text!r}: TO must be a folder inside the project (relative), or empty")
    return source, target


@dataclass
class PathMap:
    """The mappings for one ingest (shared by its runs, so a prefix learned in one run serves the next), and what
    the ingest found out about the project's files (`files`), which its logs share the same way."""

    explicit: list[tuple[str, str]] = field(default_factory=list)
    repo_prefix: str = ""  # the project's folder inside the repository ("services/billing"), or ""
    auto: bool = True
    used: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)  # (from, to, how) -> paths mapped
    _learned: list[str] = field(default_factory=list)
    _by_name: dict[str, list[str]] | None = None
    _project_files: dict[Path, ProjectFiles] = field(default_factory=dict)

    @classmethod
    def from_options(cls, maps: list[str] | None = None, prefixes: list[str] | None = None,
                     repo_prefix: str = "", auto: bool = True) -> PathMap:
        explicit = [parse_mapping(m) for m in maps or []]
        for prefix in prefixes or []:
            if not _normal(prefix).strip("/"):
                raise SutureError("--path-prefix is empty")
            explicit.append((_normal(prefix), ""))
        explicit.sort(key=lambda pair: -len(pair[0]))
        return cls(explicit=explicit, repo_prefix=repo_prefix.strip("/"), auto=auto)

    def use_files(self, files: ProjectFiles) -> None:
        """Place this ingest's paths in `files` (e.g. a commit's: commit_files.py) wherever its root is asked for."""
        self._project_files[files.root] = files

    def files(self, project_root: Path) -> ProjectFiles:
        """The files of `project_root` as this ingest has checked and read them (project_files.py): every log of one
        ingest shares them, so a file its logs flag is checked and read once."""
        known = self._project_files.get(project_root)
        if known is None:
            known = self._project_files[project_root] = ProjectFiles.of(project_root)
        return known

    def _count(self, source: str, target: str, how: str, path: str) -> None:
        self.used.setdefault((source, target or PROJECT_ROOT, how), set()).add(path)

    def summary(self) -> list[str]:
        """One line per mapping used: `FROM → TO (how, N paths)`."""
        return [f"{key[0]} → {key[1]} ({key[2]}, {len(paths)} path{'s' if len(paths) != 1 else ''})"
                for key, paths in sorted(self.used.items())]

    def map_explicit(self, path: str) -> str | None:
        """The project-relative path an explicit mapping gives `path`, or None."""
        if not self.explicit:
            return None
        text = _normal(path)
        for source, target in self.explicit:
            stem = source.rstrip("/")
            if text == stem or not text.startswith(stem + "/"):
                continue
            self._count(source, target, "--path-prefix/--map", text)
            return posixpath.join(target, text[len(stem) + 1:]) if target else text[len(stem) + 1:]
        return None

    def map_foreign(self, path: str, project_root: Path | None) -> str | None:
        """For an absolute path or URL outside the project: the path a blob URL or a learned/unique suffix gives
        it (project-relative, not yet checked), or None."""
        text = _normal(path)
        blob = _BLOB_URL.match(text)
        if blob:
            self._count(blob.group(1), "", "source-hosting URL: the path after the ref", text)
            return self.from_repo_root(blob.group(2))
        if not self.auto or project_root is None:
            return None
        for prefix in self._learned:
            if text.startswith(prefix):
                self._count(prefix, "", "automatic: a unique suffix matched a project file", text)
                return text[len(prefix):]
        match = self._unique_suffix(text, project_root)
        if match is None:
            return None
        prefix = text[: len(text) - len(match)]
        self._learned.append(prefix)
        self._learned.sort(key=len, reverse=True)
        self._count(prefix, "", "automatic: a unique suffix matched a project file", text)
        return match

    def from_repo_root(self, relative: str) -> str:
        """A repository-root-relative path made project-relative (unchanged when the project is the repo)."""
        if self.repo_prefix and relative.startswith(self.repo_prefix + "/"):
            return relative[len(self.repo_prefix) + 1:]
        return relative

    def note_base(self, base_root: str, path: str) -> None:
        self._count(base_root, "", "the log's source-root uriBaseId", path)

    def note_repo_root(self, path: str) -> None:
        self._count(self.repo_prefix + "/", "", "paths relative to the repository root", path)

    def _unique_suffix(self, text: str, project_root: Path) -> str | None:
        name = text.rsplit("/", 1)[-1]
        candidates = [rel for rel in self._files(project_root).get(name, []) if text.endswith("/" + rel)]
        return candidates[0] if len(candidates) == 1 else None

    def _files(self, project_root: Path) -> dict[str, list[str]]:
        if self._by_name is None:
            self._by_name = self.files(project_root).listing(_SKIP_DIRS, _MAX_FILES)
        return self._by_name
