import pytest

from agent.config import ConfigError, load_settings


def test_layering_file_env_flags(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.suture]\ntop = 3\ntest_timeout = 12\n')
    s = load_settings(tmp_path, environ={})
    assert (s.top, s.test_timeout) == (3, 12)
    s = load_settings(tmp_path, environ={"SUTURE_TOP": "5", "SUTURE_SCANNERS": "bandit"})
    assert s.top == 5 and s.scanners == ["bandit"]
    s = load_settings(tmp_path, {"top": 7, "model": None}, environ={"SUTURE_TOP": "5"})
    assert s.top == 7 and s.model is None


def test_suture_toml_wins_over_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.suture]\ntop = 3\n')
    (tmp_path / "suture.toml").write_text('top = 4\n')
    assert load_settings(tmp_path, environ={}).top == 4


@pytest.mark.parametrize("text,message", [
    ("topp = 3\n", "unknown setting 'topp'"),
    ("top = -1\n", "setting 'top'"),
    ("top = [\n", "not valid TOML"),
])
def test_bad_config_names_file_and_key(tmp_path, text, message):
    (tmp_path / "suture.toml").write_text(text)
    with pytest.raises(ConfigError, match=message) as exc:
        load_settings(tmp_path, environ={})
    assert "suture.toml" in str(exc.value)


def test_bad_env_value(tmp_path):
    with pytest.raises(ConfigError, match="test_timeout"):
        load_settings(tmp_path, environ={"SUTURE_TEST_TIMEOUT": "soon"})
