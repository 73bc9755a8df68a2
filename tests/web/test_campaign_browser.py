"""Campaigns in the review UI, in a real browser (headless chromium via Selenium) against a real uvicorn server:
a real campaign over a real store, worked through by `campaign run` (builtin engine, real validation), the queue
filtered to it, its dashboard checked against `suture campaign status --json`, a hostile campaign name shown as
text."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.web.conftest import need_selenium

need_selenium()  # before the selenium imports below

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from tests.web.conftest import CAMPAIGN, Server, create_campaign, ingest, new_repo, serve_config
from tests.web.test_browser import page, queue_rows, screenshot, wait

pytestmark = pytest.mark.slow
BACKLOG = "sqli backlog"
DUE = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory):
    """Two findings; campaign CAMPAIGN (B602) run to the end, which drafts and validates its proposal; B608 fixed
    by `suture fix` outside any campaign, then selected by campaign BACKLOG that has not run (pending)."""
    from agent import app
    from agent.app import campaign

    repo = new_repo(tmp_path_factory.mktemp("campaign-browser"))
    findings = ingest(repo, [("B602", "subprocess call with shell=True identified", "billing/exports.py", 36),
                             ("B608", "Possible SQL injection vector", "billing/db.py", 72)])
    create_campaign(repo, CAMPAIGN, ["B602"], budget_usd=1.0, due=DUE, owner="Sam <sam@example.com>")
    ran = campaign.run(CAMPAIGN, campaign.store_for(repo))
    assert ran.items == {"done": 1}, ran
    session = app.open_session(repo)
    try:
        chosen, _ = app.select_findings(session, None, findings["B608"])
        made = app.fix.fix(session, chosen)
        assert [p.state for p in made] == ["validated"], [(p.state, p.error) for p in made]
        rows = {r.proposal.finding_id: r.proposal.id for r in app.review.review_queue(session).rows}
    finally:
        session.close()
    create_campaign(repo, BACKLOG, ["B608"])
    return repo, rows[findings["B602"]], rows[findings["B608"]]


@pytest.fixture(scope="module")
def campaign_server(campaigns):
    with Server(serve_config(campaigns[0])) as running:
        yield running


def cli_status(repo, name: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "agent", "campaign", "status", name, "--format", "json"], cwd=repo,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def filter_queue(driver, campaign: str) -> None:
    form = driver.find_element(By.ID, "filters")
    Select(form.find_element(By.NAME, "campaign")).select_by_visible_text(campaign)
    Select(form.find_element(By.NAME, "state")).select_by_value("all")
    before = page(driver)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, EC.staleness_of(before))


def test_queue_filtered_by_campaign_shows_its_proposals_and_counts(browser, campaign_server, campaigns):
    _, shell, sql = campaigns
    browser.get(campaign_server.url + "/queue")
    assert sorted(r.get_attribute("data-id") for r in queue_rows(browser)) == sorted([shell[:8], sql[:8]])
    assert browser.find_element(By.ID, "counts").text.startswith("2 shown of 2: 2 awaiting")
    options = [o.text for o in Select(browser.find_element(By.NAME, "campaign")).options]
    assert options == ["any", CAMPAIGN, BACKLOG]  # sorted; the hostile name is an option's text, not markup

    filter_queue(browser, CAMPAIGN)
    assert [r.get_attribute("data-id") for r in queue_rows(browser)] == [shell[:8]]
    assert browser.find_element(By.ID, "counts").text.startswith("1 shown of 1: 1 awaiting · 1 validated")
    assert CAMPAIGN in browser.find_element(By.ID, "campaign-filter").text
    filter_queue(browser, BACKLOG)
    assert [r.get_attribute("data-id") for r in queue_rows(browser)] == [sql[:8]]
    assert browser.find_element(By.ID, "counts").text.startswith("1 shown of 1: 1 awaiting · 1 validated")

    browser.get(campaign_server.url + "/queue?campaign=no-such-campaign")
    assert queue_rows(browser) == []
    assert "no campaign named 'no-such-campaign'" in browser.find_element(By.ID, "notice").text
    assert browser.find_element(By.ID, "counts").text.startswith("0 shown of 0")
    assert browser.execute_script("return window.pwned") is None
    assert [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_campaign_dashboard_matches_campaign_status_and_escapes_the_name(browser, campaign_server, campaigns,
                                                                         tmp_path):
    repo, shell, _ = campaigns
    expected = cli_status(repo, CAMPAIGN)
    browser.get(campaign_server.url + "/queue")
    browser.find_element(By.LINK_TEXT, "Campaigns & metrics").click()  # the navigation leads to the list
    rows = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#campaigns tr.campaign-row"))
    assert [r.get_attribute("data-name") for r in rows] == [BACKLOG, CAMPAIGN]  # newest first
    listed = rows[1]
    assert listed.find_element(By.CSS_SELECTOR, "a.campaign-name").text == CAMPAIGN
    cells = {s: listed.find_element(By.CSS_SELECTOR, f"td.item-{s}").text for s in ("pending", "claimed", "done", "failed")}
    assert {k: int(v) for k, v in cells.items() if int(v)} == expected["campaign"]["items"] == {"done": 1}
    assert listed.find_element(By.CSS_SELECTOR, "td.spend").text == "$0.00 / $1.00"

    before = page(browser)
    listed.find_element(By.CSS_SELECTOR, "a.campaign-name").click()
    wait(browser, EC.staleness_of(before))
    assert browser.find_element(By.ID, "campaign-name").text == CAMPAIGN
    assert browser.execute_script("return window.pwned") is None
    scripts = [s.get_attribute("src") for s in browser.find_elements(By.TAG_NAME, "script")]
    assert scripts == [campaign_server.url + "/static/app.js"]
    shown_items = {c.get_attribute("data-state"): int(c.text)
                   for c in browser.find_elements(By.CSS_SELECTOR, "#items-0 td")}
    assert shown_items == {"selected": 1, "pending": 0, "claimed": 0, "done": 1, "failed": 0}
    total = {c.get_attribute("data-step"): int(c.text)
             for c in browser.find_elements(By.CSS_SELECTOR, "#steps-repo-0 tr.total td")}
    assert total == expected["total"]
    assert (total["selected"], total["drafted"], total["validated"], total["approved"]) == (1, 1, 1, 0)
    for title, groups in (("repo", expected["by_repo"]), ("team", expected["by_team"])):
        for key, counts in groups.items():
            row = browser.find_element(By.CSS_SELECTOR, f"#steps-{title}-0 tr[data-key='{key}']")
            assert {c.get_attribute("data-step"): int(c.text) for c in row.find_elements(By.CSS_SELECTOR, "td.num")} \
                == counts
    due = browser.find_element(By.ID, "campaign-due").text
    assert due.startswith(DUE) and f"{expected['burn_down']['remaining']} of 1 finding(s) open" in due
    chart = browser.find_element(By.ID, "progress-0")
    assert wait(browser, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", chart))
    screenshot(browser, "campaign", tmp_path)

    before = page(browser)
    browser.find_element(By.ID, "queue-all").click()  # the campaign's proposals in the queue
    wait(browser, EC.staleness_of(before))
    assert [r.get_attribute("data-id") for r in queue_rows(browser)] == [shell[:8]]
    assert [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
