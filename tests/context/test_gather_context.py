"""build_context / render_context_text on a small real project written to a tmp dir."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.context.budget import count_tokens
from agent.context.gather import GatherLimits, build_context, render_context_text, snippet_heading
from agent.context.redact import contains_placeholder, unredact
from agent.models import Finding, FlowStep, Location

GITHUB = "ghp_" + "Q9w8E7r6T5y4U3i2O1p0A9s8D7f6G5h4J3k2"
DB_PASSWORD = "n0t-" + "4-r3al-pa55"
CONFIG_TOKEN = "tok-" + "77aa88bb99cc"

VIEWS = textwrap.dedent(
    """\
    from app.db import run_report


    def report(request):
        name = request.args["name"]
        return run_report(name)
    """
)
DB = textwrap.dedent(
    f"""\
    import sqlite3
    import logging

    API = "{GITHUB}"
    log = logging.getLogger(__name__)


    def connect():
        return sqlite3.connect("app.db", password="{DB_PASSWORD}")


    def run_report(name):
        conn = connect()
        sql = "SELECT * FROM reports WHERE name = '%s'" % name
        log.info("auth with %s", API)
        return conn.execute(sql).fetchall()


    def nightly():
        return run_report("nightly")
    """
)
TESTS = textwrap.dedent(
    """\
    from app.db import run_report


    def test_run_report_escapes_names():
        assert run_report("x") == []
    """
)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for rel, text in {
        "app/__init__.py": "",
        "app/views.py": VIEWS,
        "app/db.py": DB,
        "tests/test_db.py": TESTS,
        "config/settings.yaml": f"service:\n  token: {CONFIG_TOKEN}\n",
        "web/app.js": "\n".join(f"const v{i} = {i};" for i in range(1, 61)) + "\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    return tmp_path


def sql_finding(**extra) -> Finding:
    sink = line_of(DB, "conn.execute(sql)")
    flow = [
        FlowStep(
            location=Location(path="app/views.py", start_line=line_of(VIEWS, "request.args")),
            message="source",
        ),
        FlowStep(location=Location(path="app/db.py", start_line=line_of(DB, "% name")), message="formatted"),
        FlowStep(location=Location(path="app/db.py", start_line=sink), message="sink"),
    ]
    return Finding(
        id="f" * 40,
        tool="semgrep",
        rule_id="sqli",
        message="SQL built from user input",
        location=Location(path="app/db.py", start_line=sink),
        flow=flow,
        **extra,
    )


def test_context_has_function_flow_imports_test_and_callers_in_priority_order(project: Path):
    context, _ = build_context(sql_finding(), project)
    labels = [s.label for s in context.snippets]
    assert labels[0] == "enclosing function `run_report`"
    kinds = [label.split(" ")[0].rstrip(":") for label in labels]
    assert kinds == ["enclosing", "flow", "imports", "related", "caller"]
    flow = context.snippets[1]
    assert flow.path == "app/views.py" and 'request.args["name"]' in flow.text
    assert 'run_report("nightly")' in context.snippets[-1].text and "`nightly`" in labels[-1]
    assert "import logging" in context.snippets[2].text and "import sqlite3" not in context.snippets[2].text
    assert context.related_tests == ["tests/test_db.py"]
    assert "test_run_report_escapes_names" in context.snippets[3].text
    assert 0 < context.tokens_used <= context.token_budget == 6000


def test_flow_steps_inside_the_function_are_not_repeated(project: Path):
    context, _ = build_context(sql_finding(), project)
    every_line = [line for s in context.snippets for line in s.text.splitlines()]
    assert sum("% name" in line for line in every_line) == 1
    assert sum("conn.execute(sql)" in line for line in every_line) == 1


def test_planted_secrets_never_reach_the_rendered_text(project: Path):
    finding = sql_finding()
    connect_line = line_of(DB, "sqlite3.connect")
    finding.flow.insert(
        1, FlowStep(location=Location(path="app/db.py", start_line=connect_line), message="db")
    )
    context, redactor = build_context(finding, project, hints=[f"the old key {GITHUB} was rotated"])
    rendered = render_context_text(context)
    for secret in (GITHUB, DB_PASSWORD):
        assert secret not in rendered and secret in redactor.mapping.values()
    assert "ghp_" not in rendered and "the old key «SECRET_" in context.hints[0]
    assert context.redactions >= 3 and contains_placeholder(rendered)
    restored = unredact(rendered, redactor.mapping)
    assert GITHUB in restored and DB_PASSWORD in restored


def test_finding_in_config_file_is_redacted(project: Path):
    finding = Finding(
        id="c" * 40,
        tool="gitleaks",
        rule_id="token",
        message="token",
        location=Location(path="config/settings.yaml", start_line=2),
    )
    context, redactor = build_context(finding, project)
    text = render_context_text(context)
    assert CONFIG_TOKEN not in text and "token: «SECRET_1:token»" in text
    assert redactor.mapping == {"«SECRET_1:token»": CONFIG_TOKEN}


def snippet_cost(snippet) -> int:
    heading = snippet_heading(snippet.label, snippet.path, snippet.start_line, snippet.end_line)
    return count_tokens(heading) + 1 + count_tokens(snippet.text)


def test_budget_drops_lowest_priority_first_and_backfills_with_smaller_pieces(project: Path):
    full, _ = build_context(sql_finding(), project)
    labels = [s.label for s in full.snippets]
    caller, test = full.snippets[-1], full.snippets[-2]
    assert caller.label.startswith("caller") and test.label.startswith("related test") and not full.dropped
    one_short, _ = build_context(sql_finding(), project, token_budget=full.tokens_used - 1)
    assert [s.label for s in one_short.snippets] == labels[:-1]
    assert [d.split(" (~")[0] for d in one_short.dropped] == [caller.label]
    # one token too few for the (two-line, so uncuttable) test: it is dropped and the smaller caller fills in
    budget = full.tokens_used - snippet_cost(caller) - 1
    assert snippet_cost(caller) < snippet_cost(test)
    context, _ = build_context(sql_finding(), project, token_budget=budget)
    assert [s.label for s in context.snippets] == labels[:-2] + [caller.label]
    assert [d.split(" (~")[0] for d in context.dropped] == [test.label]
    assert context.tokens_used <= budget


def test_budget_truncates_a_long_snippet_with_a_marker(project: Path):
    long_test = "\n".join(f"    assert run_report('n{i}') == []" for i in range(60))
    (project / "tests/test_db.py").write_text(
        f"from app.db import run_report\n\n\ndef test_run_report_many():\n{long_test}\n"
    )
    full, _ = build_context(sql_finding(), project)
    test = next(s for s in full.snippets if s.label.startswith("related test"))
    before = sum(snippet_cost(s) for s in full.snippets[: full.snippets.index(test)])
    budget = count_tokens("\n".join(full.hints)) + before + snippet_cost(test) // 2
    context, _ = build_context(sql_finding(), project, token_budget=budget)
    cut = context.snippets[-1]
    assert cut.label == test.label and cut.truncated
    shown, marker = cut.text.splitlines()[:-1], cut.text.splitlines()[-1]
    assert marker == f"… [truncated: {61 - len(shown)} more lines]" and 2 <= len(shown) < 61
    assert cut.end_line == cut.start_line + len(shown) - 1
    assert any(d.startswith("caller") for d in context.dropped)
    assert context.tokens_used <= budget


def test_tiny_budget_keeps_the_flagged_line(project: Path):
    body = "\n".join(f"    step{i} = {i}" for i in range(400))
    (project / "app/big.py").write_text(f"def big(request):\n{body}\n    return eval(request)\n")
    finding = Finding(
        id="b" * 40,
        tool="bandit",
        rule_id="B307",
        message="eval",
        location=Location(path="app/big.py", start_line=402),
    )
    context, _ = build_context(finding, project, token_budget=300)
    assert "return eval(request)" in context.snippets[0].text
    assert context.snippets[0].text.startswith("def big(request):")
    assert context.tokens_used <= 300


def test_missing_file_gives_a_hint_not_a_crash(project: Path):
    finding = Finding(
        id="m" * 40, tool="t", rule_id="r", message="m", location=Location(path="gone.py", start_line=3)
    )
    context, _ = build_context(finding, project, hints=["user hint"])
    assert context.snippets == [] and context.hints[0] == "user hint"
    assert "gone.py was not found" in context.hints[1]
    assert context.tokens_used == count_tokens("\n".join(context.hints))


def test_path_outside_the_project_is_treated_as_missing(project: Path, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "x.py"
    outside.write_text("SECRET = 1\n")
    rel = Path("..") / outside.parent.name / "x.py"
    finding = Finding(
        id="o" * 40, tool="t", rule_id="r", message="m", location=Location(path=rel.as_posix(), start_line=1)
    )
    context, _ = build_context(finding, project)
    assert context.snippets == [] and "not found" in context.hints[-1]


def test_flow_step_in_missing_file_and_line_past_end_are_noted(project: Path):
    finding = sql_finding()
    finding.flow.append(FlowStep(location=Location(path="nope/x.py", start_line=1)))
    finding.location.start_line = 500
    context, _ = build_context(finding, project)
    assert any("flow step 4 points at nope/x.py" in h for h in context.hints)
    assert any("line 500" in h and "may have changed" in h for h in context.hints)


def test_non_python_file_gets_a_window(project: Path):
    finding = Finding(
        id="j" * 40,
        tool="eslint",
        rule_id="r",
        message="m",
        location=Location(path="web/app.js", start_line=30),
    )
    context, _ = build_context(finding, project)
    (snippet,) = context.snippets
    assert snippet.start_line == 15 and snippet.end_line == 45 and "const v30 = 30;" in snippet.text


def test_undecodable_bytes_do_not_crash(project: Path):
    (project / "app/latin.py").write_bytes(b"def f():\n    return '\xe9t\xe9'\n")
    finding = Finding(
        id="u" * 40, tool="t", rule_id="r", message="m", location=Location(path="app/latin.py", start_line=2)
    )
    context, _ = build_context(finding, project)
    assert "\ufffd" in context.snippets[0].text


def test_caller_limit_is_respected(project: Path):
    for i in range(6):
        (project / f"app/use{i}.py").write_text(
            f"from app.db import run_report\n\n\ndef u{i}():\n    return run_report('{i}')\n"
        )
    context, _ = build_context(sql_finding(), project, limits=GatherLimits(max_callers=2))
    assert sum(s.label.startswith("caller") for s in context.snippets) == 2


def test_render_shows_budget_hints_snippets_and_drops(project: Path):
    context, _ = build_context(sql_finding(), project, token_budget=150)
    text = render_context_text(context)
    assert text.startswith(f"Context for finding {'f' * 40}: {len(context.snippets)} snippets, ")
    assert f"{context.tokens_used}/150 tokens" in text and "related test files: tests/test_db.py" in text
    assert "--- enclosing function `run_report` — app/db.py:12-16 ---" in text
    assert context.dropped and "Dropped (over budget):" in text
    assert all(f"  - {item}" in text for item in context.dropped)


def test_line_numbers_survive_crlf_and_form_feeds_and_methods_get_class_context(project: Path):
    source = "import os\r\n\x0c\r\nclass Box:\r\n    size = 1\r\n\r\n    def open(self, p):\r\n        return os.system(p)\r\n"
    (project / "app/box.py").write_bytes(source.encode())
    finding = Finding(
        id="x" * 40,
        tool="bandit",
        rule_id="B605",
        message="shell",
        location=Location(path="app/box.py", start_line=7),
    )
    context, _ = build_context(finding, project)
    method, cls, imports = context.snippets[:3]
    assert method.label == "enclosing function `Box.open`" and (method.start_line, method.end_line) == (6, 7)
    assert method.text == "    def open(self, p):\n        return os.system(p)"
    assert cls.label == "class `Box` header and attributes" and cls.text == "class Box:\n    size = 1"
    assert imports.text == "import os"
