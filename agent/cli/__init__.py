"""The `suture` command: parse, call a use case in agent.app, render. No logic lives here.

Each command group is one module with `register(app)`; they are listed below, explicitly. Shared options live in
agent.cli.options, the progress helper in agent.cli.progress, the renderers in agent.cli.render: no module
imports back into this one. Importing it stays light (`suture --help` is instant): agent.app loads on first use.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from agent.cli import (
    audit,
    campaign,
    classify,
    context,
    evaluate,
    export,
    fix,
    metrics,
    options,
    render,
    repo,
    review,
    scan,
    triage,
)
from agent.errors import SutureError
from agent.web.cli import register as register_web

cli = typer.Typer(
    help="suture: rank scanner findings, draft and prove fixes, and queue them for human review.\n\n"
         "Typical flow: `suture scan` → `suture triage` → `suture fix` → `suture review` → `suture export`, "
         "or `suture run` for scan + triage + fix in one go. State lives in .suture/ inside the repository.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            shown = version("suture")
        except PackageNotFoundError:
            shown = "unknown (not installed; run `pip install -e .`)"
        render.line(f"suture {shown}")
        raise typer.Exit()


@cli.callback()
def _global_options(
    store: Annotated[str | None, typer.Option(
        "--store", metavar="URL", help="The store: a SQLite path or sqlite:///PATH, or postgresql://USER@HOST/DB "
        "to share one among projects and people. Default: $SUTURE_STORE, else .suture/suture.db in the repo.",
    )] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print suture's version and exit.")] = False,
) -> None:
    options.set_store(store)


for _group in (scan, fix, review, export, triage, context, classify, evaluate, audit, repo, campaign, metrics):
    _group.register(cli)
register_web(cli)  # `suture serve` (agent/web)


def main() -> None:
    try:
        code = cli(standalone_mode=False)  # usage errors come here, to be printed as one line (not a box)
    except typer.Abort:
        render.err.print("aborted")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # click's usage errors: unknown option, missing value, bad choice
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        render.line(f"error: {message} (see --help)", render.err)
        sys.exit(getattr(exc, "exit_code", 2))
    except SutureError as exc:
        render.error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        render.err.print("interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
