"""The review UI in a real browser (headless chromium via Selenium) against a real uvicorn server and a real
repository whose proposals the builtin engine drafted and validated: review, approve, reject and export as
`suture review` / `suture export` would, CSRF refusal, escaping of hostile scanner text, keyboard use.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.web.conftest import need_selenium

need_selenium()  # before the selenium imports below

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import REPO_ROOT, git
from tests.web.conftest import REVIEWER, Http, record_copy, record_dismissal, stored

pytestmark = pytest.mark.slow
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"


def wait(driver, condition, seconds: float = 60):
    return WebDriverWait(driver, seconds).until(condition)


def page(driver):
    """The page now shown; hand it to `flash` after an action that loads the next one."""
    return driver.find_element(By.TAG_NAME, "html")


def flash(driver, before) -> str:
    """The one-line message of the page that replaced `before` (never the old page's message)."""
    wait(driver, EC.staleness_of(before))
    return wait(driver, EC.presence_of_element_located((By.ID, "flash"))).text


def queue_rows(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "tr.qrow")


def selected_id(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "tr.qrow.selected").get_attribute("data-id")


def press(driver, key: str) -> None:
    driver.find_element(By.TAG_NAME, "body").send_keys(key)


def select_row(driver, proposal_id: str) -> None:
    """Move the selection with j (down) until the row of `proposal_id` is selected."""
    for _ in range(len(queue_rows(driver))):
        if selected_id(driver) == proposal_id[:8]:
            return
        press(driver, "j")
    assert selected_id(driver) == proposal_id[:8]


def screenshot(driver, name: str, tmp_path: Path) -> Path:
    """A full-page PNG; copied to docs/screenshots/ when SUTURE_UPDATE_SCREENSHOTS=1 (how the README's are made)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(height + 40, 600), 4000))
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("SUTURE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENSHOTS / f"{name}.png")
    return path


def test_queue_sorted_by_risk_with_hostile_message_shown_as_text(browser, server, proposals, tmp_path):
    browser.get(server.url + "/queue")
    rows = queue_rows(browser)
    assert sorted(r.get_attribute("data-id") for r in rows) == sorted([proposals.shell[:8], proposals.sql[:8]])
    scores = [float(r.find_elements(By.TAG_NAME, "td")[2].text) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert "2 awaiting" in browser.find_element(By.ID, "counts").text
    assert browser.find_element(By.ID, "reviewer").text == REVIEWER  # git identity, on loopback
    # the finding's message holds <script> and an <img onerror>: shown as text, never made into elements
    hostile = next(r for r in rows if r.get_attribute("data-id") == proposals.shell[:8])
    assert "<script>window.pwned=1</script>" in hostile.text
    assert browser.find_elements(By.CSS_SELECTOR, "#queue img") == []
    scripts = [s.get_attribute("src") for s in browser.find_elements(By.TAG_NAME, "script")]
    assert scripts == [server.url + "/static/app.js"]
    assert browser.execute_script("return window.pwned") is None
    screenshot(browser, "queue", tmp_path)

    browser.get(server.url + f"/p/billing/{proposals.shell}")
    message = browser.find_element(By.ID, "finding-message")
    assert message.text.startswith("<script>window.pwned=1</script><img src=x")
    assert message.find_elements(By.XPATH, "./*") == []
    assert browser.execute_script("return window.pwned") is None
    # the evidence a reviewer needs is on the page
    assert browser.find_element(By.ID, "state").text == "validated"
    assert "tests/test_exports.py" in browser.find_element(By.ID, "covering").text
    assert "gone" in browser.find_element(By.ID, "rescan").text
    runs = browser.find_element(By.ID, "runs").text
    assert "baseline (before)" in runs and "patched (after)" in runs and "passed" in runs
    added = browser.find_elements(By.CSS_SELECTOR, "#diff tr.add td.src")
    removed = browser.find_elements(By.CSS_SELECTOR, "#diff tr.del td.src")
    assert any("shell=True" in r.text for r in removed) and not any("shell=True" in a.text for a in added)
    assert added[0].find_elements(By.CSS_SELECTOR, "span")  # syntax-highlighted tokens
    assert browser.find_elements(By.CSS_SELECTOR, "#triage table.factors tr")  # score factors
    screenshot(browser, "proposal", tmp_path)
    # nothing the CSP refused (no inline script or style anywhere), no failed request, no script error
    assert [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_triage_context_and_dashboard_pages(browser, server, proposals):
    browser.get(server.url + "/triage")
    rows = browser.find_elements(By.CSS_SELECTOR, "#triage-table > tbody > tr")
    assert len(rows) >= 2 and any("B602" in r.text for r in rows) and any("B608" in r.text for r in rows)
    scores = [float(r.find_elements(By.TAG_NAME, "td")[1].text) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert rows[0].find_elements(By.CSS_SELECTOR, "table.factors tr")
    browser.get(server.url + f"/p/billing/{proposals.sql}/context")
    assert "rebuilt now from head" in browser.find_element(By.CSS_SELECTOR, "p.warn").text.lower()
    messages = browser.find_elements(By.CSS_SELECTOR, "pre.message-text")
    assert messages and any("billing/db.py" in m.text for m in messages)
    browser.get(server.url + "/dashboards")  # the metrics charts are SVG images from /dashboards/<repo>/*.svg
    charts = browser.find_elements(By.CSS_SELECTOR, "img.chart")
    assert len(charts) == 2
    assert all(browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", c) for c in charts)
    browser.get(server.url + "/p/billing/0000000000")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"
    assert [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"
            and "/p/billing/0000000000" not in e["message"]] == []


def test_csrf_refused_then_reject_with_reason_from_the_keyboard(browser, server, proposals):
    was, history = stored(proposals.repo, proposals.sql)
    # 1. in the browser: the approve form without its CSRF field is refused and changes nothing
    browser.get(server.url + f"/p/billing/{proposals.sql}")
    browser.execute_script("document.querySelector('#approve-form input[name=csrf]').remove()")
    browser.find_element(By.ID, "approve").click()
    wait(browser, EC.alert_is_present()).accept()  # "Approve … as …?"
    wait(browser, EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Refused"))
    assert "CSRF" in browser.find_element(By.ID, "error").text
    # 2. plain HTTP with the reviewer's own session cookie: no token, a wrong one, a foreign origin
    http = Http(server.url)
    http.copy_cookies(browser)
    browser.get(server.url + f"/p/billing/{proposals.sql}")
    token = browser.find_element(By.CSS_SELECTOR, "#approve-form input[name=csrf]").get_attribute("value")
    action = f"/p/billing/{proposals.sql}/approve"
    assert http.request(action, {})[0] == 403
    assert http.request(action, {"csrf": "x" + token[1:]})[0] == 403
    assert http.request(action, {"csrf": token}, {"Origin": "http://evil.example"})[0] == 403
    assert http.request(f"/p/billing/{proposals.sql}/reject", {"reason": "no"})[0] == 403
    # 3. keys typed into a text field are letters, not decisions
    browser.find_element(By.ID, "approve-comment").send_keys("ar")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - neither the approve confirm nor the reject prompt opened
    after, history_after = stored(proposals.repo, proposals.sql)
    assert after.state == was.state == "validated" and history_after == history

    # 4. the real thing: r in the queue, with the reason typed into the prompt
    browser.get(server.url + "/queue")
    select_row(browser, proposals.sql)
    before = page(browser)
    press(browser, "r")
    prompt = wait(browser, EC.alert_is_present())
    assert proposals.sql[:8] in prompt.text
    prompt.send_keys("parameterised the wrong query; keep the original")
    prompt.accept()
    assert flash(browser, before) == f"rejected {proposals.sql[:8]} as {REVIEWER}"
    p, history = stored(proposals.repo, proposals.sql)
    assert p.state == "rejected"
    assert (history[-1].actor, history[-1].comment) == (REVIEWER, "parameterised the wrong query; keep the original")


def test_approve_from_the_keyboard_then_export_branch_and_patch(browser, server, proposals):
    head_before = git(proposals.repo, "rev-parse", "HEAD")
    browser.get(server.url + "/queue")
    assert len(queue_rows(browser)) >= 1
    press(browser, "j")
    press(browser, "k")
    select_row(browser, proposals.shell)
    before = page(browser)
    press(browser, "a")
    confirm = wait(browser, EC.alert_is_present())
    assert confirm.text == f"Approve {proposals.shell[:8]} as {REVIEWER}?"
    confirm.accept()
    assert flash(browser, before).startswith(f"approved {proposals.shell[:8]} as {REVIEWER}")
    p, history = stored(proposals.repo, proposals.shell)
    assert p.state == "approved" and history[-1].actor == REVIEWER

    browser.get(server.url + f"/p/billing/{proposals.shell}")
    browser.find_element(By.ID, "to-branch").click()
    before = page(browser)
    browser.find_element(By.ID, "export").click()
    text = flash(browser, before)
    assert re.fullmatch(rf"exported {proposals.shell[:8]} → branch suture/{proposals.shell[:8]} \(commit \w{{10}}(, regression test commit \w{{10}})?\)",
                        text), text
    branch = f"suture/{proposals.shell[:8]}"
    assert "shell=True" not in git(proposals.repo, "show", f"{branch}:billing/exports.py")
    assert git(proposals.repo, "rev-parse", "HEAD") == head_before  # the checkout is untouched
    assert stored(proposals.repo, proposals.shell)[0].state == "exported"

    browser.find_element(By.ID, "to-patch").click()
    before = page(browser)
    browser.find_element(By.ID, "export").click()
    assert "→ patch " in flash(browser, before)
    link = browser.find_element(By.ID, "download-patch").get_attribute("href")
    http = Http(server.url)
    http.copy_cookies(browser)
    status, body, headers = http.request(link.removeprefix(server.url))
    assert status == 200 and "attachment" in headers.get("content-disposition", "")
    assert body == (proposals.repo / ".suture" / "exports" / f"suture-{proposals.shell[:8]}.patch").read_text()
    assert "-    subprocess.run(f\"tar -czf" in body



def test_override_a_failed_patch_retract_an_approval_and_export_every_approved(browser, server, proposals):
    """The rest of `suture review` / `suture export`: approve --override --reason, reject --retract, export
    --approved --to patch."""
    failed = record_copy(proposals.repo, proposals.sql, "web-failed", False, "tests/test_db.py::test_search failed")
    other = record_copy(proposals.repo, proposals.sql, "web-retract", True, "all checks passed")
    browser.get(server.url + "/queue")
    select_row(browser, failed)
    assert browser.find_element(By.CSS_SELECTOR, "tr.qrow.selected").find_elements(
        By.CSS_SELECTOR, "form.approve-form") == []  # a failed patch is not approved in one keystroke
    press(browser, "a")  # opens its page, where the override form is
    wait(browser, EC.presence_of_element_located((By.ID, "override-reason")))
    assert browser.current_url == server.url + f"/p/billing/{failed}"
    browser.find_element(By.ID, "approve").click()  # no reason: the browser refuses to send the form
    assert stored(proposals.repo, failed)[0].state == "failed"
    browser.find_element(By.ID, "override-reason").send_keys("the failing test asserts the injectable query")
    before = page(browser)
    browser.find_element(By.ID, "approve").click()
    assert flash(browser, before).startswith(f"approved {failed[:8]} as {REVIEWER} (OVERRIDE)")
    p, history = stored(proposals.repo, failed)
    assert p.state == "approved" and history[-1].override
    assert history[-1].comment == "the failing test asserts the injectable query"
    assert "OVERRIDE" in browser.find_element(By.ID, "history").text

    browser.get(server.url + f"/p/billing/{other}")
    before = page(browser)
    browser.find_element(By.ID, "approve").click()
    wait(browser, EC.alert_is_present()).accept()
    assert flash(browser, before).startswith(f"approved {other[:8]}")
    browser.find_element(By.CSS_SELECTOR, "#retract-form input[name=reason]").send_keys("approved the wrong copy")
    before = page(browser)
    browser.find_element(By.CSS_SELECTOR, "#retract-form button").click()
    assert flash(browser, before) == f"rejected {other[:8]} as {REVIEWER}"
    p, history = stored(proposals.repo, other)
    assert p.state == "rejected" and (history[-2].to_state, history[-1].comment) == ("approved", "approved the wrong copy")

    browser.get(server.url + "/queue")
    form = browser.find_element(By.CSS_SELECTOR, "form.export-all")
    form.find_element(By.CSS_SELECTOR, "option[value=patch]").click()
    before = page(browser)
    form.find_element(By.TAG_NAME, "button").click()
    text = flash(browser, before)
    assert text.startswith(f"exported {failed[:8]} → patch ") and "exported " + other[:8] not in text
    assert stored(proposals.repo, failed)[0].state == "exported"
    assert (proposals.repo / ".suture" / "exports" / f"suture-{failed[:8]}.patch").is_file()


def test_approving_a_dismissal_dismisses_its_finding(browser, server, proposals):
    """Last in this file: it dismisses the B608 finding the other tests rank."""
    from agent import app

    pid = record_dismissal(proposals.repo, proposals.sql, "the <b>term</b> is a constant in every caller")
    browser.get(server.url + "/queue")
    select_row(browser, pid)
    row = browser.find_element(By.CSS_SELECTOR, "tr.qrow.selected")
    assert "dismissal?" in row.text and "<b>term</b>" in row.text
    before = page(browser)
    press(browser, "a")
    wait(browser, EC.alert_is_present()).accept()
    assert flash(browser, before) == f"approved {pid[:8]} as {REVIEWER}; finding dismissed"
    session = app.open_session(proposals.repo, create=False)
    try:
        p = session.store.get_proposal(pid)
        assert p.state == "approved" and session.store.get_finding(p.finding_id).status == "dismissed"
    finally:
        session.close()
