from deploycfg.config import load_config


def test_env_tag(monkeypatch):
    monkeypatch.setenv("DB_HOST", "db.local")
    assert load_config("host: !env DB_HOST\nport: 5432\n") == {"host": "db.local", "port": 5432}


def test_missing_variable_is_empty(monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    assert load_config("x: !env NOPE_NOT_SET\n") == {"x": ""}
