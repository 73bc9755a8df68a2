"""hardcoded_secret: secret literals move to os.environ under the same name; the secret never reaches the reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.engines.builtin import BuiltinEngine
from agent.engines.builtin.fixers.hardcoded_secret import HardcodedSecretFixer
from agent.models import Context
from tests.engines.builtin.helpers import line_of, make_finding

FIXER = HardcodedSecretFixer()
SECRET = "sk_live_51HxQ2aKZ9vT3mP0qR8wYbC"


def fix_at(source: str, needle: str, rule: str = "B105"):
    source = textwrap.dedent(source)
    result = FIXER.fix(source, make_finding(line_of(source, needle), rule, (259,)))
    if result.new_source is not None:
        compile(result.new_source, "fixed.py", "exec")
    assert SECRET not in result.reason
    return source, result


def test_django_settings_secret_key() -> None:
    source, result = fix_at(f'''\
        """Settings."""
        from pathlib import Path

        DEBUG = False
        SECRET_KEY = "{SECRET}"  # TODO move
        ''', "SECRET_KEY")
    assert result.new_source == source.replace(
        "from pathlib import Path\n", "from pathlib import Path\nimport os\n").replace(
        f'SECRET_KEY = "{SECRET}"', 'SECRET_KEY = os.environ["SECRET_KEY"]')
    assert SECRET not in result.new_source
    assert "environment variable SECRET_KEY" in result.reason and "rotate" in result.reason


def test_keyword_argument_in_a_helper_and_attribute_in_a_method() -> None:
    source, result = fix_at(f'''\
        import os
        import psycopg2


        def connect():
            return psycopg2.connect(
                host="db", user="app",
                password='{SECRET}',
            )


        class Client:
            def __init__(self):
                self.api_key: str = "{SECRET}"
        ''', "password=", rule="B106")
    assert "password=os.environ['PASSWORD'],\n" in result.new_source
    assert f'self.api_key: str = "{SECRET}"' in result.new_source  # another line: untouched
    assert result.new_source.count("import os") == 1
    _, method = fix_at(source, "self.api_key")
    assert 'self.api_key: str = os.environ["API_KEY"]' in method.new_source


def test_dict_entry_only_the_secret_moves() -> None:
    source, result = fix_at(f'''\
        import os
        CONFIG = {{"user": "svc", "auth_token": "{SECRET}", "url": "https://x"}}
        ''', "CONFIG")
    assert result.new_source == source.replace(f'"{SECRET}"', 'os.environ["AUTH_TOKEN"]')


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('PASSWORD_RESET_URL = "/reset/"', "no string literal assigned to a password/secret/token/key name"),
        ('token_type = "bearer"', "no string literal assigned"),
        ('cache_key = "users:all"', "no string literal assigned"),
        ('password = ""', "empty or looks like a placeholder"),
        ('API_KEY = "<your api key>"', "looks like a placeholder"),
        ('SECRET = "${SECRET}"', "looks like a placeholder"),
        ('password = "Password"', "looks like a placeholder or field name"),
        ('db_password = b"hunter22"', "bytes literal"),
    ],
)
def test_declines(line: str, reason: str) -> None:
    _, result = fix_at(f"import os\n{line}\n", line.split(" ")[0])
    assert result.new_source is None and reason in result.reason


def test_engine_rationale_says_rotate_and_never_repeats_the_secret(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(f'import os\nSECRET_KEY = "{SECRET}"\n')
    finding = make_finding(2, "python-hardcoded-credential", (798,), path="settings.py", tool="semgrep")
    draft = BuiltinEngine().draft(finding, Context(finding_id=finding.id), tmp_path)
    assert draft.model_params == {"fixer": "hardcoded_secret"}
    assert "Rotate the secret" in draft.rationale and SECRET not in draft.rationale
    assert [e.replace for e in draft.edits] == ['SECRET_KEY = os.environ["SECRET_KEY"]\n']
