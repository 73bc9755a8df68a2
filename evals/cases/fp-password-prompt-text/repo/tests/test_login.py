import getpass

from cli.login import ask_password


def test_asks_with_prompt(monkeypatch):
    seen = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt: seen.append(prompt) or "typed")
    assert ask_password() == "typed"
    assert seen == ["Password: "]
