"""Prompt templates as files: find them, render a task's messages, and hash exactly the bytes that were used.

Each task is a folder of Jinja2 templates (`system.j2`, `user.j2`) under the prompts directory; templates may
include shared partials (e.g. `_shared/edit_format.j2`). Rendering is strict: a variable the template needs but
was not given is an error, never an empty string. The prompt hash is the sha256 of the task's templates and every
template they include, so editing any of them changes the hash recorded with each proposal.

Repository text goes into prompts only through the `data_block` filter, which wraps it in a tag that the text
itself cannot close, so code and comments stay visibly data however they are worded.
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

import agent
from agent.llm.errors import PromptError

ROLE_FILES = (("system", "system.j2"), ("user", "user.j2"))


def prompts_dir() -> Path:
    """The bundled prompts: `agent/_prompts` in an installed wheel, else `<repo>/prompts` in a source checkout."""
    package = Path(agent.__file__).resolve().parent
    for candidate in (package / "_prompts", package.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise PromptError(
        f"prompt templates not found: looked in {package / '_prompts'} and {package.parent / 'prompts'}"
    )


def data_block(text: str, tag: str = "code", **attrs: Any) -> str:
    """Wrap untrusted text in <tag attr="..."> ... </tag>; if the text contains the closing tag, a suffix derived
    from its hash makes the tag unique, so the text can never end the block early."""
    body = text if text.endswith("\n") or not text else text + "\n"
    name = tag
    if f"</{tag}".lower() in body.lower():
        name = f"{tag}-{hashlib.sha256(body.encode()).hexdigest()[:8]}"
    rendered_attrs = "".join(
        f' {key}="{html.escape(str(value), quote=True)}"' for key, value in attrs.items() if value is not None
    )
    return f"<{name}{rendered_attrs}>\n{body}</{name}>"


def _environment(root: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain-text prompts; untrusted text is fenced by data_block instead
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["data_block"] = data_block
    return env


def _task_templates(root: Path, task: str) -> list[str]:
    folder = root / task
    if not folder.is_dir() or not (folder / "user.j2").is_file():
        tasks = sorted(p.name for p in root.iterdir() if (p / "user.j2").is_file()) if root.is_dir() else []
        raise PromptError(f"no prompt task {task!r} in {root} (tasks: {', '.join(tasks) or 'none'})")
    return [f"{task}/{filename}" for _role, filename in ROLE_FILES if (folder / filename).is_file()]


def _referenced(env: jinja2.Environment, root: Path, names: list[str]) -> list[str]:
    """The given templates plus everything they include/import/extend, transitively, sorted."""
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = root / name
        if not path.is_file():
            raise PromptError(f"prompt template {name} is referenced but missing from {root}")
        try:
            ast = env.parse(path.read_text(encoding="utf-8"), name=name, filename=str(path))
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"prompt template {name} line {exc.lineno}: {exc.message}") from exc
        for child in jinja2.meta.find_referenced_templates(ast):
            if child is None:
                raise PromptError(
                    f"prompt template {name} includes a computed template name; use a literal one"
                )
            pending.append(child)
    return sorted(seen)


def prompt_hash(task: str, root: Path | None = None) -> str:
    """sha256 over the names and bytes of the task's templates and all templates they reference."""
    root = root or prompts_dir()
    env = _environment(root)
    digest = hashlib.sha256()
    for name in _referenced(env, root, _task_templates(root, task)):
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()


def render(task: str, prompts_root: Path | None = None, **variables: Any) -> tuple[list[dict[str, str]], str]:
    """Render `task` into chat messages ([system], user) and return them with the task's prompt hash."""
    root = prompts_root or prompts_dir()
    digest = prompt_hash(task, root)  # also checks that the task exists and every template parses
    env = _environment(root)
    messages: list[dict[str, str]] = []
    for role, filename in ROLE_FILES:
        name = f"{task}/{filename}"
        if not (root / name).is_file():
            continue
        try:
            text = env.get_template(name).render(**variables)
        except jinja2.UndefinedError as exc:
            raise PromptError(f"prompt {name} needs a variable that was not given: {exc.message}") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"prompt template {exc.name} line {exc.lineno}: {exc.message}") from exc
        except jinja2.TemplateNotFound as exc:
            raise PromptError(f"prompt {name} includes {exc.name}, which is missing from {root}") from exc
        messages.append({"role": role, "content": text.strip() + "\n"})
    return messages, digest
