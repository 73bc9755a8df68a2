"""Options, formats and the session opener every command group shares (one place: no module imports back into
`agent.cli`). Importing this module stays light: agent.app (git, SQLAlchemy, the pipeline) loads on first use."""

from __future__ import annotations

import os
import shlex
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli import render
from agent.errors import SutureError

if TYPE_CHECKING:
    from agent.app import Session


class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class ListFmt(str, Enum):
    table = "table"
    json = "json"


RepoOpt = Annotated[Path, typer.Option("--repo", "-C", help="The repository (or a project folder inside one); "
                                       "with a shared store, also a repo key or name (`suture repo list`).")]
DbOpt = Annotated[Path | None, typer.Option("--db", help="Store file; default .suture/suture.db in the repo.")]
FormatOpt = Annotated[ListFmt, typer.Option("--format", "-f", help="table for people, json for machines.")]
ReviewerOpt = Annotated[str | None, typer.Option("--reviewer", help="Who decides; default: git user.name "
                                                    "<user.email>.")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="litellm model string, e.g. "
                                                 "openai/gpt-4.1 or ollama/qwen2.5-coder; default: builtin engine.")]
ApiBaseOpt = Annotated[str | None, typer.Option("--api-base", envvar="SUTURE_API_BASE",
                                                   help="OpenAI-compatible endpoint URL for --model.")]
KOpt = Annotated[int | None, typer.Option("-k", min=1, max=10, help="Candidate drafts per finding (model "
                                             "engine); the best validated one is kept.")]
BudgetOpt = Annotated[float | None, typer.Option("--budget-usd", min=0, help="Stop cleanly before the next "
                                                    "model call would cross this spend.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Ask the model again even if the store has a "
                                          "cached answer.")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", min=1, help="Proposals validated in parallel "
                                                   "(default: CPU count).")]
TopOpt = Annotated[int | None, typer.Option("--top", "-n", min=1, help="Fix the N top-ranked findings "
                                               "(default 10).")]


_store: dict[str, str | None] = {"url": None}  # the global --store of this invocation


def set_store(url: str | None) -> None:
    """Remember the global --store option for every session this invocation opens."""
    _store["url"] = url


def store_option() -> str | None:
    """The global --store of this invocation (None: $SUTURE_STORE or the project's own store)."""
    return _store["url"]


def open_session(repo: Path, db: Path | None, _create: bool = True, **overrides: Any) -> Session:
    """agent.app.open_session with this invocation's --store, its warnings printed on stderr."""
    from agent import app

    if not repo.exists() and db is None and (_store["url"] or os.environ.get("SUTURE_STORE")):
        from agent.app.repos import checkout_path

        repo = checkout_path(_store["url"], str(repo))  # --repo KEY or NAME of a shared store's repo
    session = app.open_session(repo, db, overrides, create=_create, store=_store["url"])
    for w in session.warnings:
        render.warn(w)
    return session


def where(repo: Path, db: Path | None) -> str:
    """The --repo/--db options to repeat in a hint, so running it acts on the same store."""
    args = "" if repo == Path(".") else f" --repo {shlex.quote(str(repo))}"
    return args + ("" if db is None else f" --db {shlex.quote(str(db))}")


def repo_or_positional(positional: Path | None, option: Path | None) -> Path:
    """The repository given as `--repo` or as the (older) positional argument; both at once must agree."""
    if positional is not None and option is not None and positional != option:
        raise SutureError(f"the repository was given twice ({positional} and --repo {option}); give one")
    return option or positional or Path(".")
