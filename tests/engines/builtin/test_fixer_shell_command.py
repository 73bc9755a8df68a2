"""shell_command: f-string / % / .format / + commands become argv lists; shell features are declined."""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

from agent.engines.builtin.fixers.shell_command import ShellCommandFixer
from tests.engines.builtin.helpers import line_of, load_function, make_finding

FIXER = ShellCommandFixer()


def fix_at(source: str, needle: str):
    source = textwrap.dedent(source)
    return FIXER.fix(source, make_finding(line_of(source, needle), "B602", (78,)))


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ('f"ls -l {path}"', '["ls", "-l", "--", str(path)]'),
        ('f"tool --name={path} -v"', '["tool", f"--name={path}", "-v"]'),
        ("f\"grep '{path} x' file.txt\"", '["grep", "--", f"{path} x", "file.txt"]'),
        ('"ls " + path + " -a"', '["ls", path, "-a"]'),
        ('"cp %s %s" % (path, dest)', '["cp", "--", str(path), str(dest)]'),
        ('"kill -%d %s" % (sig, path)', '["kill", f"-{int(sig)}", str(path)]'),
        ('"ls {} {name!r}".format(path, name=dest)', '["ls", "--", str(path), f"{dest!r}"]'),
        ('f"rm {shlex.quote(path)}"', '["rm", "--", path]'),
        ('"echo \'a b\' \\"c d\\""', '["echo", "a b", "c d"]'),
        ('f"echo {path:>5}"', '["echo", f"{path:>5}"]'),
        ('"echo " f"{path}"', '["echo", str(path)]'),
    ],
)
def test_commands_become_argument_lists(command: str, argv: str) -> None:
    source = f"import shlex\nimport subprocess\n\n\ndef go(path, dest, sig):\n    subprocess.run({command}, shell=True)\n"
    result = FIXER.fix(source, make_finding(6, "B602", (78,)))
    assert result.new_source == source.replace(f"subprocess.run({command}, shell=True)", f"subprocess.run({argv})")
    assert "dropped shell=True" in result.reason
    compile(result.new_source, "fixed.py", "exec")


def test_only_the_call_changes_and_layout_is_kept() -> None:
    source = textwrap.dedent('''\
        import subprocess as sp  # alias


        def archive(name,  level):   # odd spacing stays
            out = sp.check_output(
                "tar -czf " + name + ".tgz data",  # the archive
                shell=True,
                cwd="/srv",
            )
            return out
        ''')
    result = FIXER.fix(source, make_finding(5, "B602", (78,)))
    assert result.new_source == source.replace(
        '"tar -czf " + name + ".tgz data",  # the archive\n        shell=True,\n',
        '["tar", "-czf", f"{name}.tgz", "data"],  # the archive\n',
    )


def test_shell_true_as_last_argument_with_trailing_comma() -> None:
    source = 'import subprocess\nsubprocess.call(\n    "ls " + d,\n    shell=True,\n)\n'
    result = FIXER.fix(source, make_finding(2, "B602"))
    assert result.new_source == 'import subprocess\nsubprocess.call(\n    ["ls", "--", d],\n)\n'


def test_os_system_becomes_subprocess_run_and_import_is_added_once() -> None:
    source = textwrap.dedent('''\
        """Tools."""
        import os


        def clean(d):
            status = os.system(f"rm -r {d}")
            os.system("ls " + d)
            return status
        ''')
    first = FIXER.fix(source, make_finding(6, "B605", (78,)))
    assert first.new_source == source.replace("import os\n", "import os\nimport subprocess\n").replace(
        'os.system(f"rm -r {d}")', 'subprocess.run(["rm", "-r", "--", str(d)]).returncode')
    second = FIXER.fix(first.new_source, make_finding(8, "B605", (78,)))  # import line shifted the call by one
    assert second.new_source is not None
    assert second.new_source.count("import subprocess") == 1
    assert 'subprocess.run(["ls", "--", d])\n' in second.new_source  # result unused: no .returncode


def test_from_os_import_system_is_recognised() -> None:
    source = "from os import system\nsystem('echo ' + x)\n"
    result = FIXER.fix(source, make_finding(2, "B605"))
    assert result.new_source is not None
    assert "subprocess.run(['echo', x])" in result.new_source


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ('subprocess.run(f"ls {d} | wc -l", shell=True)', "shell operator `|`"),
        ('subprocess.run(f"ls {d} > out.txt", shell=True)', "shell operator `>`"),
        ('subprocess.run(f"cd {d}; make", shell=True)', "shell operator `;`"),
        ('subprocess.run(f"make && ls {d}", shell=True)', "shell operator `&`"),
        ('subprocess.run(f"echo $(whoami) {d}", shell=True)', "shell expansion `$`"),
        ('subprocess.run(f\'echo "$HOME" {d}\', shell=True)', "shell expansion `$` inside double quotes"),
        ('subprocess.run(f"ls {d}\\nrm x", shell=True)', "newline"),
        ('subprocess.run(f"ls {d} # note", shell=True)', "`#`"),
        ('subprocess.run(f"ls {d} {{a,b}}", shell=True)', "brace expansion"),
        ('subprocess.run(f"echo `id` {d}", shell=True)', "backtick command substitution"),
        ('subprocess.run(f"rm {d}/*.log", shell=True)', "glob character `*`"),
        ('subprocess.run(f"ls ~/{d}", shell=True)', "`~`"),
        ('subprocess.run(f"LANG=C sort {d}", shell=True)', "environment assignment"),
        ('subprocess.run(f"cd {d}", shell=True)', "shell builtin"),
        ("subprocess.run(f\"echo 'unterminated {d}\", shell=True)", "unbalanced quote"),
        ("subprocess.run(cmd, shell=True)", "the variable `cmd`"),
        ("subprocess.run([d, 'x'], shell=True)", "already a sequence"),
        ('subprocess.run(f"ls {d}", shell=flag)', "not the constant True"),
        ('subprocess.run(f"ls {d}")', "does not pass shell=True"),
        ('subprocess.run(f"ls {d}", shell=True, executable="/bin/bash")', "executable="),
        ('subprocess.run(*args, shell=True)', "*args"),
        ('subprocess.run("ls %(d)s" % vars, shell=True)', "mapping-style"),
        ('subprocess.run("ls %s %s" % pair, shell=True)', "cannot be seen statically"),
        ('subprocess.run("ls {0.name}".format(d), shell=True)', "not a plain argument reference"),
        ('subprocess.run("a {0} {0}".format(f()), shell=True)', "used 2 times"),
        ('subprocess.run(b"ls", shell=True)', "bytes literal"),
    ],
)
def test_declines_with_reason(call: str, reason: str) -> None:
    source = f"import subprocess\n\n\ndef go(d, cmd, flag, args, vars, pair, f):\n    {call}\n"
    result = FIXER.fix(source, make_finding(5, "B602", (78,)))
    assert result.new_source is None
    assert reason in result.reason
    assert "line 5" in result.reason


def test_declines_when_no_target_on_the_lines() -> None:
    result = FIXER.fix("import subprocess\nx = 1\n", make_finding(2, "B404", (78,)))
    assert result.new_source is None
    assert result.reason == "no subprocess call with shell=True or os.system/os.popen call on line 2"


def test_unparsable_file_is_declined() -> None:
    result = FIXER.fix("def broken(:\n", make_finding(1, "B602"))
    assert result.new_source is None
    assert "does not parse as Python" in result.reason


BEHAVIOUR = textwrap.dedent('''\
    import subprocess


    def greet(who, count):
        return subprocess.run(
            f"echo hello {who} --count={count} 'fixed text'", shell=True, capture_output=True, text=True
        ).stdout
    ''')


def test_fixed_function_prints_the_same_for_ordinary_values() -> None:
    fixed = FIXER.fix(BEHAVIOUR, make_finding(5, "B602")).new_source
    assert fixed is not None
    before, after = load_function(BEHAVIOUR, "greet"), load_function(fixed, "greet")
    assert after("world", 3) == before("world", 3) == "hello world --count=3 fixed text\n"


def test_fixed_function_no_longer_runs_injected_commands() -> None:
    fixed = FIXER.fix(BEHAVIOUR, make_finding(5, "B602")).new_source
    payload = "x; echo INJECTED"
    assert "\nINJECTED" in load_function(BEHAVIOUR, "greet")(payload, 1)
    assert load_function(fixed, "greet")(payload, 1) == "hello x; echo INJECTED --count=1 fixed text\n"


def test_os_system_exit_status_keeps_its_truthiness(tmp_path) -> None:
    source = 'import os\n\n\ndef same(a, b):\n    return os.system("test " + a + " = " + b)\n'
    fixed = FIXER.fix(source, make_finding(5, "B605")).new_source
    assert fixed is not None and "subprocess.run" in fixed
    before, after = load_function(source, "same"), load_function(fixed, "same")
    for a, b in [("x", "x"), ("x", "y")]:
        assert (before(a, b) == 0) == (after(a, b) == 0)
    assert after("x", "y") == subprocess.run(["test", "x", "=", "y"], check=False).returncode != 0
    assert os.path.exists("/bin/sh")
