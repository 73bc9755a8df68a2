"""Who may use the review server: a public binding needs a token, a token server signs every browser in, a
loopback server answers only to loopback host names. Real server, real HTTP; the sign-in flow in chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.web.conftest import need_selenium

need_selenium()  # before the selenium imports below

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.conftest import Http, Server, serve_config, stored

pytestmark = pytest.mark.slow
TOKEN = "correct-horse-battery-staple-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def suture(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "SUTURE_SERVE_TOKEN": "", **(env or {})}, check=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_public_binding_without_a_token_refuses_to_start(proposals, host):
    port = free_port()
    proc = suture("serve", "--host", host, "--port", str(port), "--repo", str(proposals.repo))
    assert proc.returncode != 0
    assert "--token" in proc.stderr and "SUTURE_SERVE_TOKEN" in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_short_token_is_refused(proposals):
    proc = suture("serve", "--host", "0.0.0.0", "--port", str(free_port()), "--repo", str(proposals.repo),
                  "--token", "short")
    assert proc.returncode == 2 and "use at least 16" in proc.stderr


def test_serve_with_a_token_from_the_environment_signs_every_request_in(proposals):
    """The real command: `suture serve` with $SUTURE_SERVE_TOKEN; a page without a session goes to sign-in."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "agent", "serve", "--port", str(port), "--repo",
                             str(proposals.repo)], env={**os.environ, "SUTURE_SERVE_TOKEN": TOKEN},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        http = Http(f"http://127.0.0.1:{port}")
        for _ in range(300):
            try:
                status, _, headers = http.request("/queue")
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.1)
        assert status == 303 and headers["location"].startswith("/login?next=%2Fqueue")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def token_server(proposals):
    with Server(serve_config(proposals.repo, token=TOKEN, host="0.0.0.0")) as running:
        yield running


def test_token_server_refuses_everything_before_sign_in(token_server, proposals):
    http = Http(token_server.url)
    status, _, headers = http.request(f"/p/billing/{proposals.shell}")
    assert status == 303 and headers["location"].startswith("/login")
    before = stored(proposals.repo, proposals.shell)
    status, body, _ = http.request(f"/p/billing/{proposals.shell}/approve", {"csrf": "anything"})
    assert status == 403 and "signed-in reviewer" in body
    assert stored(proposals.repo, proposals.shell) == before
    # a wrong token signs nobody in
    status, page, _ = http.request("/login")
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    http.request("/login", {"csrf": csrf, "token": "x" * 31, "name": "Mallory"})
    assert http.request("/queue")[0] == 303


def test_sign_in_with_token_and_name_in_the_browser(browser, token_server):
    browser.delete_all_cookies()
    browser.get(token_server.url + "/queue")
    WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "login")))
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "token").send_keys("not-the-token-at-all")
    browser.find_element(By.ID, "name").send_keys("Mallory")
    browser.find_element(By.ID, "login").submit()
    assert WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "flash"))).text == \
        "wrong access token"
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "name").send_keys("Sam Second <sam@example.com>")
    browser.find_element(By.ID, "login").submit()
    WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "reviewer")))
    assert browser.current_url == token_server.url + "/queue"
    assert browser.find_element(By.ID, "reviewer").text == "Sam Second <sam@example.com>"
    browser.delete_all_cookies()


def test_loopback_server_answers_only_to_loopback_names(server):
    http = Http(server.url)
    assert http.request("/queue", headers={"Host": "attacker.example:80"})[0] == 421
    assert http.request("/static/app.js", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_not_you_on_loopback_records_another_checked_name(browser, server):
    browser.delete_all_cookies()
    browser.get(server.url + "/queue")
    browser.find_element(By.LINK_TEXT, "not you?").click()
    name = WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "name")))
    assert name.get_attribute("value") == "Rita Reviewer <rita@example.com>"  # suggested: git's identity
    assert browser.find_elements(By.ID, "token") == []  # no token on loopback
    name.clear()
    name.send_keys("Eve \u202eresU")  # a bidi override would disguise the name in every record
    browser.find_element(By.ID, "login").submit()
    error = WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "flash"))).text
    assert "invisible format character" in error and "U+202E" in error
    name = browser.find_element(By.ID, "name")
    name.clear()
    name.send_keys("Una Other <una@example.com>")
    browser.find_element(By.ID, "login").submit()
    WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "reviewer")))
    assert browser.find_element(By.ID, "reviewer").text == "Una Other <una@example.com>"
    browser.delete_all_cookies()
