"""The prompts' worked examples must not mirror an eval case: a model shown the answer to a case in its prompt
would score on recall, not skill."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agent.evals.cases import load_cases

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


def _example_code() -> list[str]:
    """Code lines of every worked example (<code> blocks and SEARCH/REPLACE sections) in the prompt files."""
    lines = []
    for template in PROMPTS.rglob("*.j2"):
        text = template.read_text(encoding="utf-8")
        for block in re.findall(r"<code[^>]*>\n(.*?)</code>", text, re.DOTALL):
            lines += block.splitlines()
        for block in re.findall(r"<<<<<<< SEARCH\n(.*?)>>>>>>> REPLACE", text, re.DOTALL):
            lines += [line for line in block.splitlines() if line not in ("=======",)]
    return [line.strip() for line in lines if len(line.strip()) > 12 and "the exact existing" not in line
            and "the new lines" not in line]


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def test_worked_examples_do_not_mirror_a_case():
    example = _example_code()
    assert example  # the draft prompt has a worked example
    example_defs = {m for line in example for m in re.findall(r"^def (\w+)", line)}
    for case in load_cases():
        for path in [*case.repo.rglob("*.py"), *case.fix_dir.rglob("*.py")]:
            source = path.read_text(encoding="utf-8")
            shared = example_defs & _defined_names(source)
            assert not shared, f"the worked example defines {shared} like {case.id}"
            case_lines = {line.strip() for line in source.splitlines()}
            copied = [line for line in example if line in case_lines]
            assert not copied, f"the worked example copies {copied[:2]} from {case.id}"
