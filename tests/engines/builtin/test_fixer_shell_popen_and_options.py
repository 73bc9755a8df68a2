"""shell_command: `os.popen(cmd).read()` becomes subprocess.run; `--` guards value operands only where clearly safe."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from agent.engines.builtin.fixers.shell_command import ShellCommandFixer
from tests.engines.builtin.helpers import line_of, load_function, make_finding

FIXER = ShellCommandFixer()


def fix_at(source: str, needle: str):
    source = textwrap.dedent(source)
    result = FIXER.fix(source, make_finding(line_of(source, needle), "B605", (78,)))
    if result.new_source is not None:
        compile(result.new_source, "fixed.py", "exec")
    return source, result


def test_flask_view_popen_read_becomes_subprocess_run() -> None:
    source, result = fix_at('''\
        import os

        from flask import request


        @app.route("/ping")
        def ping():
            host = request.args.get("host", "")
            output = os.popen(f"ping -c 1 {host}").read()
            return {"output": output}
        ''', "os.popen")
    assert result.new_source == source.replace("request\n", "request\nimport subprocess\n").replace(
        'os.popen(f"ping -c 1 {host}").read()',
        'subprocess.run(["ping", "-c", "1", str(host)], stdout=subprocess.PIPE, text=True).stdout')


def test_popen_output_is_the_same_and_injection_is_gone() -> None:
    source, result = fix_at('''\
        import os


        def shout(word):
            return os.popen("echo " + word).read()
        ''', "os.popen")
    before, after = load_function(source, "shout"), load_function(result.new_source, "shout")
    assert before("hello") == after("hello") == "hello\n"
    assert before("hi; echo pwned") == "hi\npwned\n"  # the flaw is real ...
    assert after("hi; echo pwned") == "hi; echo pwned\n"  # ... and gone


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('pipe = os.popen(f"ls {d}")', "used other than as `os.popen(cmd).read()`"),
        ('os.popen(f"lpr {d}", "w").write(text)', "a mode or buffering argument"),
        ('os.popen(f"ls {d} | wc -l").read()', "the shell operator `|`"),
    ],
)
def test_popen_declines(line: str, reason: str) -> None:
    _, result = fix_at(f"import os\n\n\ndef go(d, text):\n    {line}\n", "os.popen")
    assert result.new_source is None and reason in result.reason


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ('"grep -c -F {} {}".format(pattern, path)', '["grep", "-c", "-F", "--", str(pattern), str(path)]'),
        ('f"rm -rf {path}"', '["rm", "-rf", "--", str(path)]'),
        ('f"ls --color=never {path}"', '["ls", "--color=never", "--", str(path)]'),
        ('f"/bin/cat {path}"', '["/bin/cat", "--", str(path)]'),
        # no `--`: an option taking a value before the operand, an option after it, a static operand first,
        # a program not known to honour `--`, or `--` already there
        ('f"head -n {count} {path}"', '["head", "-n", str(count), str(path)]'),
        ('f"ls {path} -l"', '["ls", str(path), "-l"]'),
        ('f"cp config.ini {path}"', '["cp", "config.ini", str(path)]'),
        ('f"git log {path}"', '["git", "log", str(path)]'),
        ('f"rm -- {path}"', '["rm", "--", str(path)]'),
        ('f"rm /tmp/{path}"', '["rm", f"/tmp/{path}"]'),
    ],
)
def test_end_of_options_only_where_clearly_safe(command: str, argv: str) -> None:
    source = f"import subprocess\n\n\ndef go(pattern, path, count):\n    subprocess.run({command}, shell=True)\n"
    _, result = fix_at(source, "subprocess.run")
    assert result.new_source == source.replace(f"subprocess.run({command}, shell=True)", f"subprocess.run({argv})")


@pytest.mark.skipif(shutil.which("grep") is None, reason="grep is not installed")
def test_a_pattern_that_looks_like_an_option_is_searched_for(tmp_path) -> None:
    source, result = fix_at('''\
        import subprocess


        def count(pattern, path):
            proc = subprocess.run(f"grep -c -F {pattern} {path}", shell=True, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL)
            return proc.stdout.strip()
        ''', "subprocess.run")
    log = tmp_path / "app.log"
    log.write_text("ok\n-v marks verbose\nok\n")
    after = load_function(result.new_source, "count")
    assert after("ok", str(log)) == "2"
    assert after("-v", str(log)) == "1"  # the line containing "-v"
    assert load_function(source, "count")("-v", str(log)) != "1"  # the shell version read -v as an option
