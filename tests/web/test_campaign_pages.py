"""The campaign filter of the review queue and the campaign pages, without a browser: the application layer's
campaign queue, the queue page kept to a campaign (rows and counts), an unknown campaign, the campaign list,
page and chart, over a real repository, a real SQLite store and a real campaign (agent.app.campaign.create)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from starlette.testclient import TestClient

from tests.web.conftest import (
    CAMPAIGN,
    create_campaign,
    ingest,
    new_repo,
    record_dismissal_of,
    serve_config,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two findings (B602, B608), a dismissal awaiting review for each, and a campaign that selected B602's."""
    repo = new_repo(tmp_path_factory.mktemp("campaign-pages"))
    findings = ingest(repo, [("B602", "subprocess call with shell=True", "billing/exports.py", 36),
                             ("B608", "Possible SQL injection", "billing/db.py", 72)])
    shell = record_dismissal_of(repo, findings["B602"], "the command is a constant")
    sql = record_dismissal_of(repo, findings["B608"], "the term is a constant")
    create_campaign(repo, CAMPAIGN, ["B602"], budget_usd=2.5)
    return repo, shell, sql


@pytest.fixture(scope="module")
def client(store):
    with TestClient(__import__("agent.web.app", fromlist=["create_app"]).create_app(serve_config(store[0])),
                    base_url="http://127.0.0.1") as c:
        yield c


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr class="qrow"[^>]*data-id="([0-9a-f]+)"', html)


def counts_line(html: str) -> str:
    match = re.search(r'<p class="counts" id="counts">(.*?)</p>', html, re.DOTALL)
    assert match, html
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def test_the_application_layer_keeps_a_campaigns_proposals(store):
    from agent import app
    from agent.app import campaign

    repo, shell, sql = store
    session = app.open_session(repo, create=False)
    try:
        everything = app.review.review_queue(session)
        kept = campaign.review_queue(session, CAMPAIGN)
        assert sorted(r.proposal.id for r in everything.rows) == sorted([shell, sql])
        assert [r.proposal.id for r in kept.rows] == [shell]
        assert kept.counts == {"drafted": 1}  # counted over the campaign's rows only
        assert campaign.review_queue(session, CAMPAIGN, states=["approved"]).rows == []  # other filters still apply
        with pytest.raises(campaign.UnknownCampaign, match="no campaign named 'nope'"):
            campaign.review_queue(session, "nope")
    finally:
        session.close()


def test_queue_page_filtered_by_campaign_shows_its_rows_and_counts(client, store):
    _, shell, sql = store
    unfiltered = client.get("/queue", params={"state": "all"}).text
    assert sorted(row_ids(unfiltered)) == sorted([shell[:8], sql[:8]])
    assert counts_line(unfiltered).startswith("2 shown of 2: 2 awaiting")
    page = client.get("/queue", params={"campaign": CAMPAIGN, "state": "all"})
    assert page.status_code == 200
    assert row_ids(page.text) == [shell[:8]]
    assert counts_line(page.text).startswith("1 shown of 1: 1 awaiting")
    # the name is in the filter's options, selected, and in the link to its page: as text, never as markup
    assert "<script>window.pwned=3" not in page.text
    assert 'selected>shell &lt;script&gt;window.pwned=3&lt;/script&gt; cleanup</option>' in page.text
    assert "/campaign?name=shell+%3Cscript%3Ewindow.pwned%3D3%3C%2Fscript%3E+cleanup" in page.text


def test_an_unknown_campaign_shows_nothing_and_says_why(client):
    page = client.get("/queue", params={"campaign": "no-such-campaign"})
    assert page.status_code == 200
    assert row_ids(page.text) == []
    assert counts_line(page.text).startswith("0 shown of 0")
    assert "no campaign named &#39;no-such-campaign&#39;" in page.text
    page = client.get("/queue", params={"campaign": "<b>x</b>"})
    assert page.status_code == 200 and "<b>x</b>" not in page.text and "&lt;b&gt;x&lt;/b&gt;" in page.text
    page = client.get("/campaign", params={"name": "no-such-campaign"})
    assert page.status_code == 404 and "no campaign named &#39;no-such-campaign&#39;" in page.text
    for store_index in ("1", "x", "\u00b2", ""):
        assert client.get("/campaign/progress.svg", params={"name": CAMPAIGN, "store": store_index}).status_code == 404


def test_campaign_list_page_and_chart_show_what_campaign_status_reports(client, store):
    from agent.app import campaign
    from agent.app.campaign import store_for

    status = campaign.status(CAMPAIGN, store_for(store[0])).to_json()
    listing = client.get("/campaigns").text
    assert "<script>window.pwned=3" not in listing and "shell &lt;script&gt;window.pwned=3&lt;/script&gt; cleanup" in listing
    assert re.search(r'class="num selected-count">1<', listing)
    assert re.search(r'class="num item-pending">1<', listing)
    assert "$0.00 / $2.50" in listing
    dashboards = client.get("/dashboards").text  # the "Campaigns & metrics" page lists them too
    assert 'id="campaigns-0"' in dashboards and "shell &lt;script&gt;" in dashboards

    page = client.get("/campaign", params={"name": CAMPAIGN})
    assert page.status_code == 200 and "<script>window.pwned=3" not in page.text
    shown = dict(re.findall(r'<td class="num" data-step="(\w+)">(\d+)</td>', page.text.split('class="total"')[1]))
    assert {k: int(v) for k, v in shown.items()} == status["total"]
    assert status["total"]["selected"] == 1 and status["total"]["drafted"] == 0  # drafted outside the campaign
    assert 'href="/queue?campaign=shell+%3Cscript%3Ewindow.pwned%3D3%3C%2Fscript%3E+cleanup&amp;state=all"' in page.text

    chart = client.get("/campaign/progress.svg", params={"name": CAMPAIGN, "store": "0"})
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    assert chart.text.startswith("<svg") and "<script" not in chart.text and "pwned" not in chart.text
    assert "script-src" not in chart.headers["content-security-policy"]
    assert "default-src 'none'" in chart.headers["content-security-policy"]


def test_two_repositories_with_their_own_stores(store, tmp_path):
    """Served side by side without a shared store, each repo has its own campaigns: the filter keeps the rows of
    the store that holds the campaign and says so only when no repo shown has it."""
    from agent.web.app import create_app
    from agent.web.cli import build_config

    other = new_repo(tmp_path)
    found = ingest(other, [("B602", "subprocess call with shell=True", "billing/exports.py", 36)])
    elsewhere = record_dismissal_of(other, found["B602"], "a constant command")
    config, _ = build_config([store[0], other], "127.0.0.1", None, None)
    assert [p.key for p in config.projects] == ["billing", "billing-2"]
    with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
        everything = client.get("/queue", params={"state": "all"}).text
        assert sorted(row_ids(everything)) == sorted([store[1][:8], store[2][:8], elsewhere[:8]])
        kept = client.get("/queue", params={"campaign": CAMPAIGN, "state": "all"}).text
        assert row_ids(kept) == [store[1][:8]] and 'id="notice"' not in kept
        assert counts_line(kept).startswith("1 shown of 1")
        lacking = client.get("/queue", params={"campaign": CAMPAIGN, "state": "all", "repo": "billing-2"}).text
        assert row_ids(lacking) == [] and "no campaign named" in lacking
        listing = client.get("/campaigns").text  # one table per store, each named by its repositories
        assert "store of billing</h3>" in listing and "store of billing-2</h3>" in listing
        assert 'id="campaigns-0"' in listing and 'id="campaigns-1"' not in listing
