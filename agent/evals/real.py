"""Real cases: published vulnerabilities (CVE or GHSA id) in real Python projects, at their vulnerable version.

A real case folder (under evals/real/) holds what a synthetic case holds — case.toml, hidden/test_exploit.py
(written from the advisory), fix/ (the upstream fix, the changed files at their paths in the project), and a
SARIF finding — except the project itself. case.toml names it:

    advisory = "CVE-2017-16876"          # or GHSA-xxxx-xxxx-xxxx; `references` lists the advisory and fix URLs
    [source]
    pypi = "mistune"                     # the project's distribution name on PyPI
    version = "0.8"                      # the vulnerable version
    sha256 = "dc3f43e7…"                 # of the sdist, checked before anything in it is used
    licence = "BSD-3-Clause"             # the project's licence (the fix/ files are the project's own code)
    fixed_version = "0.8.1"              # where the reference fix comes from
    [tests]
    args = ["tests/test_extra.py"]      # pytest arguments selecting the project's own tests that run here

`prepare_case` fetches the sdist with pip (`pip download --no-deps --no-binary :all: --require-hashes`, so pip
checks the pinned hash before it builds or runs anything from it) into a cache folder, checks the hash again,
and unpacks it with tarfile's "data" filter (no absolute paths, no `..`, no links out, no device files). A sdist
already in the cache is used without the network. Only `suture eval --split real` does this; CI runs the smoke
split, and the tests of this module use a local sdist.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from agent.evals.cases import CaseError, EvalCase

DEFAULT_REAL_DIR = Path(__file__).resolve().parents[2] / "evals" / "real"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def cache_dir() -> Path:
    """Where sdists and unpacked projects are kept ($SUTURE_EVAL_CACHE, else ~/.cache/suture/eval-real)."""
    env = os.environ.get("SUTURE_EVAL_CACHE")
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "suture" / "eval-real"


def _spec(case: EvalCase) -> tuple[str, str, str]:
    source = case.source or {}
    name, version, sha = str(source.get("pypi", "")), str(source.get("version", "")), str(source.get("sha256", ""))
    if not (_NAME.match(name) and _NAME.match(version)):
        raise CaseError(f"{case.root / 'case.toml'}: [source] needs pypi and version (plain names)")
    if not _SHA256.match(sha):
        raise CaseError(f"{case.root / 'case.toml'}: [source] sha256 must be 64 lowercase hex digits")
    return name, version, sha


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_sdist(folder: Path, sha: str) -> Path | None:
    """A file in `folder` whose sha256 is `sha`, or None."""
    if not folder.is_dir():
        return None
    return next((p for p in sorted(folder.iterdir()) if p.is_file() and _sha256(p) == sha), None)


def fetch_sdist(name: str, version: str, sha: str, folder: Path, timeout: float = 300.0) -> Path:
    """The sdist of name==version with this sha256: from `folder` if there, else downloaded there by pip."""
    found = find_sdist(folder, sha)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="suture-eval-pip-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"{name}=={version} --hash=sha256:{sha}\n", encoding="utf-8")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--require-hashes",
               "--disable-pip-version-check", "-q", "-r", str(req), "-d", str(folder)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise CaseError(f"{name}=={version}: pip download timed out after {timeout:g} s") from None
    found = find_sdist(folder, sha)
    if proc.returncode != 0 or found is None:
        last = (proc.stderr.strip().splitlines() or ["no sdist with the pinned hash"])[-1]
        raise CaseError(f"{name}=={version}: cannot fetch the sdist with sha256 {sha[:12]}…: {last[:300]}")
    return found


def unpack(sdist: Path, dest: Path) -> Path:
    """Unpack a .tar.gz sdist into `dest` (tarfile's data filter refuses unsafe members); the project folder."""
    if not sdist.name.endswith((".tar.gz", ".tgz")):
        raise CaseError(f"{sdist.name}: only .tar.gz sdists are supported")
    with tempfile.TemporaryDirectory(prefix="suture-eval-unpack-", dir=dest.parent) as tmp:
        try:
            with tarfile.open(sdist, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise CaseError(f"{sdist.name}: cannot unpack: {exc}") from None
        tops = [p for p in Path(tmp).iterdir()]
        if len(tops) != 1 or not tops[0].is_dir():
            raise CaseError(f"{sdist.name}: expected one top-level folder in the sdist")
        tops[0].rename(dest)
    return dest


def prepare_case(case: EvalCase, root: Path | None = None, fetch: bool = True) -> EvalCase:
    """`case` with its project unpacked from the pinned sdist (a no-op for a case that ships repo/)."""
    if case.source is None:
        return case
    name, version, sha = _spec(case)
    root = root or cache_dir()
    project = root / "projects" / f"{name}-{version}-{sha[:12]}"
    if not project.is_dir():
        sdist = fetch_sdist(name, version, sha, root / "sdists") if fetch else find_sdist(root / "sdists", sha)
        if sdist is None:
            raise CaseError(f"{case.id}: the sdist of {name}=={version} is not in {root / 'sdists'}")
        if _sha256(sdist) != sha:
            raise CaseError(f"{sdist}: sha256 does not match the pinned {sha}")
        project.parent.mkdir(parents=True, exist_ok=True)
        unpack(sdist, project)
    return dataclasses.replace(case, repo_dir=project)
