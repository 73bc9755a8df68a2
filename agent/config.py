"""Settings, layered: built-in defaults < suture.toml or [tool.suture] in pyproject.toml < SUTURE_* env < flags.

Every setting is documented in the README ("Configuration"). Unknown keys in a config file are an error that
names the file and the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import SutureError


class ConfigError(SutureError):
    """A config file or environment variable that cannot be used."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # fix / run
    top: int = Field(10, ge=1, description="how many top-ranked findings `fix` and `run` work on")
    model: str | None = Field(None, description="litellm model string; none = builtin engine")
    api_base: str | None = Field(None, description="OpenAI-compatible endpoint for the model")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(2048, ge=64)
    request_timeout: float = Field(60.0, gt=0)
    max_attempts: int = Field(3, ge=1, le=10, description="drafts per finding, counting repair rounds")
    token_budget: int | None = Field(None, ge=256, description="prompt token budget; none = per-model default")
    k: int = Field(1, ge=1, le=10, description="candidate drafts per finding; the best validated one is kept")
    budget_usd: float | None = Field(None, ge=0, description="stop before the next model call would cross this")
    cache: bool = Field(True, description="reuse cached model answers (same model, prompt and parameters)")
    llm_concurrency: int = Field(4, ge=1, description="model calls in flight at once")
    # validation
    test_command: list[str] | str | None = Field(None, description="none = auto-detect pytest, run by the "
                                                 "project's own environment (see test_python)")
    test_python: str | None = Field(None, description="virtualenv folder or interpreter that runs the tests; none "
                                    "= the project's .venv/venv/env or .tox env, else suture's own interpreter")
    test_timeout: float = Field(300.0, gt=0)
    workers: int | None = Field(None, ge=1, description="proposals validated in parallel; none = CPU count")
    full_suite: bool = Field(True, description="after the tests importing the changed modules pass, run the full suite")
    rescan: bool = True
    regression_tests: bool = Field(True, description="propose a security regression test per patch that passes "
                                   "its checks (a new file under the tests folder, run on both trees)")
    fail_on_new_severity: Literal["critical", "high", "medium", "low", "info"] = Field(
        "medium", description="a re-scan finding this severe or worse, new in the patch, fails validation")
    allow_test_edits: bool = False
    test_env: list[str] = Field(default_factory=list, description="environment variables (names or globs like "
                                "DJANGO_*) test runs see beyond the built-in allow-list (PATH, locale, Python)")
    allow_harness_edits: bool = Field(False, description="let patches change test-runner config, conftest, site "
                                      "hooks, build scripts and CI files (always flagged for the reviewer)")
    max_files: int = Field(10, ge=1)
    max_changed_lines: int = Field(200, ge=1)
    # scanning
    scanners: list[str] = Field(default_factory=lambda: ["bandit", "semgrep"])
    scan_timeout: float = Field(900.0, gt=0)
    # business context for triage (assets, owners, capacity, SLAs): validated by agent/triage
    triage: dict[str, Any] = Field(default_factory=dict)
    # metrics: an exported suture/<id> branch whose fix commit reaches this branch counts as merged
    default_branch: str | None = Field(None, description="the branch fixes are merged into; none = origin/HEAD, "
                                       "else main, else master")


ENV_PREFIX = "SUTURE_"
_LIST_KEYS = {"scanners", "test_env"}


def _file_settings(project_dir: Path) -> tuple[dict[str, Any], Path | None]:
    suture_toml = project_dir / "suture.toml"
    pyproject = project_dir / "pyproject.toml"
    for path, section in ((suture_toml, None), (pyproject, ("tool", "suture"))):
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        if section:
            data = data.get(section[0], {}).get(section[1])
            if data is None:
                continue
        return data, path
    return {}, None


def _env_settings(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None or raw == "":
            continue
        values[name] = [s.strip() for s in raw.split(",") if s.strip()] if name in _LIST_KEYS else raw
    return values


def load_settings(
    project_dir: Path, overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Settings for a project: defaults, then its config file, then SUTURE_* variables, then `overrides`."""
    data, source = _file_settings(project_dir)
    merged: dict[str, Any] = dict(data)
    merged.update(_env_settings(dict(os.environ if environ is None else environ)))
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings(**merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "?"
        where = f"{source}" if source and key in data else "settings"
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"{where}: unknown setting {key!r}") from None
        raise ConfigError(f"{where}: setting {key!r}: {err['msg']}") from None
