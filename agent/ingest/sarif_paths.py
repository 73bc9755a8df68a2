"""Turn SARIF artifact locations into POSIX paths relative to a project root, and read flagged lines.

Handles any producer's way of naming a file: relative URIs, `uriBaseId` resolved through the run's
`originalUriBaseIds` (chains of them, or ids the log never defines such as `%SRCROOT%`), `artifacts[index]`
references, `file://` URIs (also `file:///C:/...`), percent-encoding, `./` prefixes, Windows backslashes,
and absolute paths (made relative to the project root, or to the scanner's recorded working directory).
Paths recorded on another machine (CI build folders, `https://` source roots) go through path_map.PathMap:
explicit `--map`s, blob URLs, a unique suffix match; paths relative to the repository root lose the project's
folder. Anything else that is not a file of this project (package or image references, paths escaping the
root, files that do not exist) is rejected with a reason a person can act on.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from agent.ingest.path_map import PathMap
from agent.ingest.project_files import PathRejected, ProjectFiles

_DRIVE = re.compile(r"^/?([A-Za-z]):/")
_MAX_BASE_DEPTH = 10
# A relative URI made only of these characters, not starting with "/": urlsplit, unquote and the drive check leave it as it is
_PLAIN_RELATIVE = re.compile(r"[A-Za-z0-9_.\-][A-Za-z0-9_./\-]*")


@dataclass
class _Resolved:
    path: str  # POSIX; absolute ("/x" or "C:/x") or relative
    absolute: bool
    relative_to_base: str | None = None  # the part below the outermost absolute uriBaseId, if any
    base_root: str | None = None  # that uriBaseId's absolute path or URL


def _obj(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _uri_to_path(uri: str) -> tuple[str, bool]:
    """Return (POSIX path, is_absolute) for a URI reference; raise PathRejected for non-file schemes."""
    if _PLAIN_RELATIVE.fullmatch(uri):
        return uri, False  # no scheme, escape, backslash or leading slash: what the steps below give it unchanged
    text = uri.strip().replace("\\", "/")
    if _DRIVE.match(text):
        return _DRIVE.sub(lambda m: f"{m.group(1).upper()}:/", text), True
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = unquote(parts.path)
        if parts.netloc and parts.netloc.lower() != "localhost":
            return f"//{parts.netloc}{path}", True  # UNC share: never inside a POSIX project
        if _DRIVE.match(path):
            return _DRIVE.sub(lambda m: f"{m.group(1).upper()}:/", path), True
        return path, path.startswith("/")
    if scheme in ("http", "https"):
        return text, True  # a source root on a hosting site: placed only below a base id or by a PathMap
    if scheme:
        raise PathRejected(f"not a file URI (scheme '{scheme}'): {uri}")
    path = unquote(parts.path)
    return path, path.startswith("/")


def _clean_relative(path: str) -> str:
    normalized = posixpath.normpath(path.lstrip("/")) if path else ""
    if normalized in ("", "."):
        raise PathRejected("artifact location names a directory, not a file")
    if normalized == ".." or normalized.startswith("../"):
        raise PathRejected(f"relative path escapes the project root: {path}")
    return normalized


@dataclass
class PathResolver:
    """Resolves the artifact locations of one SARIF run against `project_root` (None: keep paths as given)."""

    project_root: Path | None
    base_ids: dict = field(default_factory=dict)
    artifacts: list = field(default_factory=list)
    working_dirs: list[str] = field(default_factory=list)
    undefined_base_ids: set[str] = field(default_factory=set)
    path_map: PathMap | None = None
    files: ProjectFiles | None = None  # the project's files (checked, read), shared beyond the run; made if None
    _relative: dict[tuple[str, str | None], str | PathRejected] = field(default_factory=dict)
    _bases: dict[tuple[str, int], _Resolved | None] = field(default_factory=dict)  # _base's answers

    def __post_init__(self) -> None:
        if self.project_root is not None and self.files is None:
            self.files = ProjectFiles.of(self.project_root)
        self._files = self.files if self.project_root is not None else None
        self._root = self._files.root if self._files is not None else None
        # the root as resolved and as given (a symlinked checkout): absolute paths may name files below either
        self._roots = ({self._root.as_posix(), self.project_root.absolute().as_posix()}  # type: ignore[union-attr]
                       if self._root is not None else set())

    @classmethod
    def for_run(cls, run: dict, project_root: Path | None, path_map: PathMap | None = None,
                files: ProjectFiles | None = None) -> PathResolver:
        working_dirs: list[str] = []
        invocations = run.get("invocations")
        for invocation in invocations if isinstance(invocations, list) else []:
            uri = _obj(_obj(invocation).get("workingDirectory")).get("uri")
            if isinstance(uri, str):
                try:
                    path, absolute = _uri_to_path(uri)
                except PathRejected:
                    continue
                if absolute:
                    working_dirs.append(path.rstrip("/"))
        artifacts = run.get("artifacts")
        return cls(
            project_root=project_root,
            base_ids=_obj(run.get("originalUriBaseIds")),
            artifacts=artifacts if isinstance(artifacts, list) else [],
            working_dirs=working_dirs,
            path_map=path_map,
            files=files,
        )

    def _resolve_uri(self, uri: str, base_id: object, depth: int = 0) -> _Resolved:
        path, absolute = _uri_to_path(uri)
        if absolute or not isinstance(base_id, str) or not base_id:
            return _Resolved(path, absolute)
        base = self._base(base_id, depth)
        if base is None:
            return _Resolved(path, False)  # an undefined base is the analysis root: the project root
        joined = posixpath.join(base.path.rstrip("/") + "/" if base.path else "", path)
        if base.absolute:
            below = posixpath.join(base.relative_to_base, path) if base.relative_to_base else path
            return _Resolved(joined, True, below, base.base_root or base.path)
        return _Resolved(joined, False)

    def _base(self, base_id: str, depth: int) -> _Resolved | None:
        """uriBaseId `base_id` resolved (through the bases it names), or None when the run does not define it (or
        the chain is too long): once per run, not once per file below it. A base that cannot be resolved raises
        PathRejected each time it is asked for."""
        key = (base_id, depth)
        if key in self._bases:
            return self._bases[key]
        entry = _obj(self.base_ids.get(base_id))
        base_uri = entry.get("uri")
        resolved = None
        if not isinstance(base_uri, str) or depth >= _MAX_BASE_DEPTH:
            if not isinstance(base_uri, str) and base_id not in self.base_ids:
                self.undefined_base_ids.add(base_id)
        else:
            resolved = self._resolve_uri(base_uri, entry.get("uriBaseId"), depth + 1)
        self._bases[key] = resolved
        return resolved

    def _artifact_uri(self, location: dict) -> tuple[str, object]:
        uri, base_id = location.get("uri"), location.get("uriBaseId")
        index = location.get("index")
        if not isinstance(uri, str) and isinstance(index, int) and 0 <= index < len(self.artifacts):
            artifact_location = _obj(_obj(self.artifacts[index]).get("location"))
            uri, base_id = artifact_location.get("uri"), artifact_location.get("uriBaseId", base_id)
        if not isinstance(uri, str) or not uri.strip():
            raise PathRejected("artifact location has no uri")
        return uri, base_id

    def _inside(self, absolute: str, root: str) -> str | None:
        root = root.rstrip("/")
        if absolute == root or not absolute.startswith(root + "/"):
            return None
        return absolute[len(root) + 1 :]

    def relative_path(self, artifact_location: object) -> str:
        """Return the project-relative POSIX path of an artifactLocation, or raise PathRejected."""
        if type(artifact_location) is dict:  # a file seen before, named by its own uri: the answer kept below
            uri, base_id = artifact_location.get("uri"), artifact_location.get("uriBaseId")
            if type(uri) is str and (base_id is None or type(base_id) is str):
                known = self._relative.get((uri, base_id))
                if type(known) is str:
                    return known
        uri, base_id = self._artifact_uri(_obj(artifact_location))
        if not isinstance(base_id, (str, type(None))):
            return self._relative_path(uri, base_id)
        # many results name the same file: resolve each (uri, base) once per run, rejections included
        known = self._relative.get((uri, base_id))
        if known is None:
            try:
                known = self._relative_path(uri, base_id)
            except PathRejected as rejected:
                known = rejected
            self._relative[(uri, base_id)] = known
        if isinstance(known, PathRejected):
            raise PathRejected(str(known))
        return known

    def _relative_path(self, uri: str, base_id: object) -> str:
        resolved = self._resolve_uri(uri, base_id)
        mapped = self.path_map.map_explicit(resolved.path) if self.path_map is not None else None
        if mapped is not None:
            relative = _clean_relative(mapped)
        elif not resolved.absolute:
            relative = _clean_relative(resolved.path)
        else:
            relative = self._relativize(resolved)
        if self._root is not None:
            relative = self._from_repo_root(relative)
            self._check_in_project(relative)
        return relative

    def _from_repo_root(self, relative: str) -> str:
        """`relative` itself when it is a project file; else, if it starts with the project's folder in the
        repository (the scan ran at the repository root), the path below that folder."""
        if self.path_map is None or not self.path_map.repo_prefix or self._is_file(relative):
            return relative
        below = self.path_map.from_repo_root(relative)
        if below != relative and self._is_file(below):
            self.path_map.note_repo_root(relative)
            return below
        return relative

    def _is_file(self, relative: str) -> bool:
        try:
            self._check_in_project(relative)
        except PathRejected:
            return False
        return True

    def _relativize(self, resolved: _Resolved) -> str:
        if self._root is not None:
            for root in self._roots:
                inside = self._inside(resolved.path, root)
                if inside is not None:
                    return _clean_relative(inside)
        if resolved.relative_to_base is not None:
            # The scan ran elsewhere (CI, a container, a hosting URL): the path below its source-root base counts.
            if self.path_map is not None and resolved.base_root:
                self.path_map.note_base(resolved.base_root, resolved.path)
            return _clean_relative(resolved.relative_to_base)
        for working_dir in self.working_dirs:
            inside = self._inside(resolved.path, working_dir)
            if inside is not None:
                return _clean_relative(inside)
        foreign = self.path_map.map_foreign(resolved.path, self._root) if self.path_map is not None else None
        if foreign is not None:
            return _clean_relative(foreign)
        if "://" in resolved.path:
            raise PathRejected(f"not a file of this project (a URL; map its root with --map URL=): {resolved.path}")
        if self._root is None:
            raise PathRejected(f"absolute path and no project root to relate it to: {resolved.path}")
        raise PathRejected(f"absolute path outside the project root (map it with --path-prefix or --map): "
                           f"{resolved.path}")

    def _check_in_project(self, relative: str) -> None:
        assert self._files is not None
        self._files.check(relative)

    def read_lines(self, relative: str, start_line: int, end_line: int) -> str | None:
        """The text of lines start..end (1-based, inclusive) of a project file, or None when the project
        root is unknown, the file is unreadable, or start_line is past the end of the file."""
        if self._files is None:
            return None
        lines = self._files.lines(relative)
        if lines is None or start_line > len(lines):
            return None
        if 1 <= start_line >= end_line:
            return lines[start_line - 1]  # one line: what the join below gives
        return "".join(lines[start_line - 1 : max(start_line, end_line)])

    def line_of_offset(self, relative: str, char_offset: int) -> int | None:
        """1-based line containing a character offset, for regions given only as charOffset."""
        if self.read_lines(relative, 1, 1) is None:
            return None
        lines = self._files.lines(relative) or []  # type: ignore[union-attr]
        consumed = 0
        for number, line in enumerate(lines, start=1):
            consumed += len(line)
            if char_offset < consumed:
                return number
        return None
