"""The installed shape of suture: every package ships, prompts and data travel with it, start-up stays light."""

import subprocess
import sys
import tomllib

from tests.conftest import REPO_ROOT


def test_every_agent_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(REPO_ROOT).parts)
        for p in (REPO_ROOT / "agent").rglob("__init__.py")
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages"


def test_cli_import_does_not_load_heavy_modules():
    code = ("import sys, agent.cli; heavy = [m for m in ('litellm', 'openai', 'tiktoken', 'libcst', 'git') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "agent", "--help"], check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for command in ("scan", "ingest", "triage", "fix", "run", "review", "export"):
        assert command in out.stdout


def test_package_ships_the_py_typed_marker():
    """PEP 561: type checkers only read suture's annotations when the installed package carries `py.typed`."""
    from importlib.resources import files

    assert files("agent").joinpath("py.typed").is_file()
    package_data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["agent"]
