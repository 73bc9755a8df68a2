"""The campaign dashboard (GET only): every campaign in the served stores with its progress, and one campaign's
page with its progress chart, per-state and per-step breakdown and links into the review queue kept to it.

Every number is what `suture campaign list` / `suture campaign status NAME --format json` print for the same
store (agent.app.campaign through agent.web.usecases); nothing is counted here. A campaign lives in the store its
repos share: served repositories without a shared store each have their own, so the campaigns are gathered per
distinct store (`Shelf`), and one name found in several stores is shown once per store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.web import usecases
from agent.web.respond import SVG_CSP, config_of, render
from agent.web.usecases import Project

ITEM_STATES = ("pending", "claimed", "done", "failed")  # a campaign item's states (agent.store.campaigns)


@dataclass
class Shelf:
    """The campaigns of one store, and the served repositories whose store it is."""

    index: int  # names the store in URLs (its URL may hold a password: never shown)
    projects: list[Project]
    campaigns: list  # agent.campaign.views.CampaignView, newest first

    @property
    def label(self) -> str:
        return "store of " + ", ".join(p.key for p in self.projects)


def _stores(projects: list[Project]) -> list[tuple[str, list[Project]]]:
    groups: dict[str, list[Project]] = {}
    for project in projects:
        groups.setdefault(usecases.campaign_store(project), []).append(project)
    return list(groups.items())


def shelves(projects: list[Project]) -> list[Shelf]:
    return [Shelf(i, served, usecases.campaigns(url)) for i, (url, served) in enumerate(_stores(projects))]


def names(projects: list[Project]) -> list[str]:
    """Every campaign name in the served stores, sorted (the queue's campaign filter)."""
    return sorted({c.name for shelf in shelves(projects) for c in shelf.campaigns})


def queue_link(name: str, **more: str) -> str:
    """The review queue kept to campaign `name` (and `more` filters)."""
    return "/queue?" + urlencode({"campaign": name, **more})


def campaign_link(name: str) -> str:
    return "/campaign?" + urlencode({"name": name})


def campaign_list(request: Request) -> Response:
    """Every campaign of the served stores: state, selection size, item states, spend against the budget."""
    found = shelves(config_of(request).projects)
    return render(request, "campaigns.html", shelves=found, item_states=ITEM_STATES, campaign_link=campaign_link)


def campaign_page(request: Request) -> Response:
    """One campaign (`?name=`), as `suture campaign status NAME` sees it in each served store that holds it."""
    config = config_of(request)
    name = request.query_params.get("name", "")
    sections = []
    stores = _stores(config.projects)
    for index, (url, served) in enumerate(stores):
        if any(c.name == name for c in usecases.campaigns(url)):
            status = usecases.campaign_status(url, name)
            keys = {usecases.repo_key(p): p.key for p in served}
            sections.append((Shelf(index, served, [status.campaign]), status, keys))
    if not sections:
        return render(request, "error.html", 404, title="Not found",
                      message=f"no campaign named {name!r} in the served stores (see Campaigns & metrics)")
    return render(request, "campaign.html", campaign=name, sections=sections, multi_store=len(stores) > 1,
                  item_states=ITEM_STATES, queue_link=queue_link,
                  chart_link=lambda shelf: "/campaign/progress.svg?" + urlencode({"name": name, "store": shelf.index}))


def progress_chart(request: Request) -> Response:
    """One campaign's progress chart (`?name=&store=`) as a static SVG image (agent.web.charts)."""
    from agent.web.charts import campaign_svg

    config = config_of(request)
    name = request.query_params.get("name", "")
    stores = _stores(config.projects)
    index = request.query_params.get("store", "0")
    url = stores[int(index)][0] if re.fullmatch(r"[0-9]{1,4}", index) and int(index) < len(stores) else None
    if url is None or not any(c.name == name for c in usecases.campaigns(url)):
        return render(request, "error.html", 404, title="Not found", message="no such campaign chart")
    svg = campaign_svg(usecases.campaign_status(url, name))
    return Response(svg, media_type="image/svg+xml", headers={"content-security-policy": SVG_CSP})


ROUTES = [
    Route("/campaigns", campaign_list), Route("/campaign", campaign_page),
    Route("/campaign/progress.svg", progress_chart),
]
