"""Who owns a path, and which asset it belongs to.

Handles any repository layout. Ownership follows GitHub's CODEOWNERS semantics (the file is looked up in
`.github/`, the root, then `docs/`, the first one found wins; inside it the LAST matching pattern wins; the
first owner of that line is the team), parsed by the `codeowners` package. Config `[[triage.owners]]` rules
override CODEOWNERS (again, the last matching rule wins), then an asset's own `team`, then CODEOWNERS, then
`default_team`. Asset lookup: the last `[[triage.assets]]` entry whose globs match, so specific entries go last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codeowners import CodeOwners

from agent.triage.config import Asset, TriageConfig

CODEOWNERS_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


@dataclass(frozen=True)
class Ownership:
    team: str
    source: str  # "config owners[2]", "CODEOWNERS:14", "asset payments", "default"


def find_codeowners(root: Path | None, configured: str | None) -> Path | None:
    if root is None:
        return None
    if configured:
        return root / configured
    return next((root / p for p in CODEOWNERS_LOCATIONS if (root / p).is_file()), None)


class OwnerIndex:
    def __init__(self, config: TriageConfig, root: Path | None) -> None:
        self.config = config
        self.codeowners_path = find_codeowners(root, config.codeowners)
        self._codeowners: CodeOwners | None = None
        self._lines: dict[str, int] = {}
        if self.codeowners_path is not None and self.codeowners_path.is_file():
            text = self.codeowners_path.read_text(encoding="utf-8", errors="replace")
            self._codeowners = CodeOwners(text)
        self._cache: dict[str, tuple[Asset | None, Ownership]] = {}

    def asset_of(self, path: str) -> Asset | None:
        return next((a for a in reversed(self.config.assets) if a.matches(path)), None)

    def _from_codeowners(self, path: str) -> Ownership | None:
        if self._codeowners is None:
            return None
        owners, line = self._codeowners.matching_line(path)[:2]
        if not owners:
            return None
        return Ownership(owners[0][1], f"CODEOWNERS line {line}")

    def resolve(self, path: str) -> tuple[Asset | None, Ownership]:
        if path in self._cache:
            return self._cache[path]
        asset = self.asset_of(path)
        owner: Ownership | None = None
        for index in range(len(self.config.owners) - 1, -1, -1):
            rule = self.config.owners[index]
            if any(r.search(path) for r in rule.regexes):
                owner = Ownership(rule.team, f"config owners[{index}] ({', '.join(rule.patterns)})")
                break
        if owner is None and asset is not None and asset.team:
            owner = Ownership(asset.team, f"asset {asset.name}")
        if owner is None:
            owner = self._from_codeowners(path)
        if owner is None:
            owner = Ownership(self.config.default_team, "no owner found")
        self._cache[path] = (asset, owner)
        return asset, owner
