"""yaml_load: unsafe loaders become safe_load / safe_load_all; safe and custom loaders are declined."""

from __future__ import annotations

import pytest
import yaml

from agent.engines.builtin.fixers.yaml_load import YamlLoadFixer
from tests.engines.builtin.helpers import load_function, make_finding

FIXER = YamlLoadFixer()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("yaml.load(text)", "yaml.safe_load(text)"),
        ("yaml.load(text, Loader=yaml.FullLoader)", "yaml.safe_load(text)"),
        ("yaml.load(text, yaml.UnsafeLoader)", "yaml.safe_load(text)"),
        ("yaml.load(text, Loader=yaml.Loader)", "yaml.safe_load(text)"),
        ("yaml.load_all(text, Loader=yaml.Loader)", "yaml.safe_load_all(text)"),
        ("yaml.unsafe_load(text)", "yaml.safe_load(text)"),
        ("yaml.full_load_all(text)", "yaml.safe_load_all(text)"),
    ],
)
def test_unsafe_loads_become_safe(before: str, after: str) -> None:
    source = f"import yaml\n\n\ndef read(text):\n    return {before}  # keep me\n"
    result = FIXER.fix(source, make_finding(5, "B506", (20,)))
    assert result.new_source == source.replace(before, after)


def test_aliased_module_keeps_its_alias() -> None:
    source = "import yaml as y\nconf = y.load(open('c.yml'), Loader=y.FullLoader)\n"
    assert FIXER.fix(source, make_finding(2, "B506")).new_source == (
        "import yaml as y\nconf = y.safe_load(open('c.yml'))\n")


def test_from_import_gets_safe_load_imported_once() -> None:
    source = "from yaml import load\n\na = load(s1)\n"
    once = FIXER.fix(source, make_finding(3, "B506")).new_source
    assert once == "from yaml import safe_load, load\n\na = safe_load(s1)\n"
    assert FIXER.fix(once, make_finding(3, "B506")).new_source is None  # nothing unsafe left to fix


def test_multiline_call_keeps_layout() -> None:
    source = "import yaml\ndata = yaml.load(\n    stream,\n    Loader=yaml.FullLoader,\n)\n"
    assert FIXER.fix(source, make_finding(2, "B506")).new_source == (
        "import yaml\ndata = yaml.safe_load(\n    stream,\n)\n")


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ("yaml.load(text, Loader=yaml.SafeLoader)", "already uses the safe loader `yaml.SafeLoader`"),
        ("yaml.load(text, Loader=ConfigLoader)", "custom loader `ConfigLoader`"),
        ("yaml.load(*parts)", "*args"),
        ("yaml.safe_load(text)", "no yaml.load / load_all / full_load / unsafe_load call on line 2"),
    ],
)
def test_declines(call: str, reason: str) -> None:
    result = FIXER.fix(f"import yaml\nx = {call}\n", make_finding(2, "B506"))
    assert result.new_source is None
    assert reason in result.reason


def test_fixed_code_parses_plain_documents_the_same_and_refuses_python_tags() -> None:
    source = "import yaml\n\n\ndef read(text):\n    return yaml.load(text, Loader=yaml.FullLoader)\n"
    fixed = FIXER.fix(source, make_finding(5, "B506")).new_source
    before, after = load_function(source, "read"), load_function(fixed, "read")
    doc = "a: 1\nb: [x, y]\nc: {d: 2020-01-02}\n"
    assert after(doc) == before(doc)
    with pytest.raises(yaml.constructor.ConstructorError):
        after("!!python/tuple [1, 2]")
