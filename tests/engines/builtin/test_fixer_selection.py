"""Fixer selection reads the code at the finding: a shared CWE alone never sends a finding to a fixer."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.engines.builtin import BuiltinEngine
from agent.engines.builtin.fixers import fixer_named, fixers_for, rewriting_fixer
from agent.models import Context
from tests.engines.builtin.helpers import line_of, make_finding

SOURCE = textwrap.dedent('''\
    import hashlib
    import pickle

    import yaml


    def load_session(blob):
        return pickle.loads(blob)


    def load_config(text):
        return yaml.load(text, Loader=yaml.FullLoader)


    def store_password(password):
        return hashlib.md5(password.encode()).hexdigest()


    def etag(body):
        return hashlib.md5(body).hexdigest()
    ''')


def semgrep(needle: str, cwe: tuple[int, ...], rule: str = "python.lang.security.some-rule"):
    return make_finding(line_of(SOURCE, needle), rule, cwe, path="app/store.py", tool="semgrep")


def test_pickle_finding_is_not_sent_to_the_yaml_fixer() -> None:
    finding = semgrep("pickle.loads", (502,))
    assert [f.name for f in fixers_for(finding)] == ["yaml_load"]  # the CWE alone names it as a candidate
    assert fixers_for(finding, SOURCE) == []  # ... but the code is no yaml.load call
    assert rewriting_fixer(finding, SOURCE) is None


def test_yaml_finding_from_another_tool_still_gets_the_yaml_fixer() -> None:
    finding = semgrep("yaml.load(", (502,))
    assert [f.name for f in fixers_for(finding, SOURCE)] == ["yaml_load"]
    assert rewriting_fixer(finding, SOURCE) == "yaml_load"


def test_password_md5_is_detected_but_no_quick_win() -> None:
    finding = semgrep("password.encode()", (327,))
    assert [f.name for f in fixers_for(finding, SOURCE)] == ["weak_hash"]  # the shape matches ...
    assert rewriting_fixer(finding, SOURCE) is None  # ... but the fixer declines: no rewrite, no quick win
    assert rewriting_fixer(semgrep("hashlib.md5(body)", (327,)), SOURCE) == "weak_hash"


def test_bandit_rule_ids_map_directly() -> None:
    finding = make_finding(line_of(SOURCE, "pickle.loads"), "B506", (20,), path="app/store.py")
    assert [f.name for f in fixers_for(finding, SOURCE)] == ["yaml_load"]  # declines itself, with its reason
    assert rewriting_fixer(finding, SOURCE) is None
    assert rewriting_fixer(make_finding(line_of(SOURCE, "yaml.load("), "B506", (20,)), SOURCE) == "yaml_load"


def test_finding_without_cwe_or_known_rule_is_matched_by_the_code() -> None:
    finding = semgrep("yaml.load(", ())
    assert [f.name for f in fixers_for(finding, SOURCE)] == ["yaml_load"]
    assert fixers_for(semgrep("pickle.loads", ()), SOURCE) == []


def test_applies_to_reads_the_line() -> None:
    yaml_fixer = fixer_named("yaml_load")
    assert yaml_fixer.applies_to(SOURCE, line_of(SOURCE, "yaml.load("))
    assert not yaml_fixer.applies_to(SOURCE, line_of(SOURCE, "pickle.loads"))
    assert not yaml_fixer.applies_to("def broken(:\n", 1)


def test_unparsable_source_is_no_quick_win() -> None:
    assert rewriting_fixer(semgrep("yaml.load(", (502,)), "def broken(:\n") is None


def test_engine_explains_why_no_candidate_fits(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "store.py").write_text(SOURCE)
    finding = semgrep("pickle.loads", (502,))
    draft = BuiltinEngine().draft(finding, Context(finding_id=finding.id), tmp_path)
    line = line_of(SOURCE, "pickle.loads")
    assert draft.edits == []
    assert draft.error == ("no builtin fixer recognises the code at the finding (yaml_load: no yaml.load / "
                           f"load_all / full_load / unsafe_load call on line {line})")


def test_semgrep_pack_rule_ids_match_behind_their_config_prefix() -> None:
    # semgrep names a local pack's rules after the config path
    finding = make_finding(1, "agent.rules.semgrep.python-xml-unsafe-parser", (611,), tool="semgrep")
    assert fixer_named("xml_parser").matches_rule_id(finding)
    assert not fixer_named("weak_hash").matches_rule_id(finding)
    keyed = make_finding(1, "rules.python-hash-keyed-by-concatenation", (327,), tool="semgrep")
    assert [f.name for f in fixers_for(keyed)][:2] == ["hmac_signature", "weak_hash"]
    assert not fixer_named("xml_parser").matches_rule_id(make_finding(1, "python-xml-unsafe-parser-v2", (611,)))


def test_a_module_python_would_not_compile_has_no_quick_win_and_no_crash(tmp_path: Path) -> None:
    """`ast.parse` accepts a module-level `nonlocal` (compile refuses it) and libcst's scope analysis raises
    NotImplementedError on it: the libcst path reports the file as not Python instead of failing the run."""
    from agent.engines.builtin.fixers.base import SourceParseError, parse_source
    from agent.engines.builtin.fixers.quick_win import quick_win_fixer

    text = "import yaml\nnonlocal x\nyaml.load(x)\n"
    with pytest.raises(SourceParseError, match="does not compile"):
        parse_source(text)
    assert quick_win_fixer(text, None, "semgrep", "some-rule", (502,), 3, 3) is None  # None: libcst's answer
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "module.py").write_text(text)
    finding = make_finding(3, "B506", (20,))
    draft = BuiltinEngine().draft(finding, Context(finding_id=finding.id), tmp_path)
    assert draft.edits == [] and draft.error is not None and "does not compile" in draft.error
