"""The pages (GET only: they read, they never decide): queue, proposal, triage, context preview, dashboards (the
campaign pages are in agent.web.campaigns)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from agent.web import campaigns, usecases, views
from agent.web.diffview import render_diff
from agent.web.respond import SVG_CSP, config_of, render, see_other


def home(request: Request) -> Response:
    return see_other("/queue")


def queue(request: Request) -> Response:
    """The review queue: every served repository's proposals, filtered, sorted (by risk by default), counted."""
    config = config_of(request)
    filters = {name: request.query_params.get(name, "") for name in views.FILTERS}
    sort = request.query_params.get("sort", "risk")
    return render(request, "queue.html", queue=views.queue(config.projects, filters, sort), sorts=views.SORTS,
                  multi=len(config.projects) > 1)


def proposal(request: Request) -> Response:
    """One proposal: finding and its score factors, rationale, highlighted diff, validation evidence, log,
    history, and the decisions a reviewer can take on it now."""
    project = config_of(request).project(request.path_params["repo"])
    view = usecases.show(project, request.path_params["pid"])
    p = view.proposal
    files, whole = render_diff(p.diff)
    rank = usecases.rank(project, view.finding.id) if view.finding.status == "open" else None
    return render(request, "proposal.html", project=project, view=view, p=p, f=view.finding, v=p.validation,
                  files=files, whole_diff=whole, rank=rank, log=usecases.validation_log(view),
                  state=views.state_label(p), awaiting=views.awaits_review(p),
                  patch_file=usecases.exported_patch(project, p) is not None, multi=len(config_of(request).projects) > 1)


def triage(request: Request) -> Response:
    """Open findings of one repository in triage order, each with the factors of its score."""
    config = config_of(request)
    project = config.project(request.query_params.get("repo") or config.projects[0].key)
    return render(request, "triage.html", project=project, rows=usecases.triage(project))


def context(request: Request) -> Response:
    """What a fix would send a model for this proposal's finding now: redacted, rebuilt from HEAD."""
    project = config_of(request).project(request.path_params["repo"])
    view = usecases.show(project, request.path_params["pid"])
    preview = usecases.context_preview(project, view.finding.id)
    return render(request, "context.html", project=project, p=view.proposal, f=view.finding, preview=preview)


def patch_file(request: Request) -> Response:
    """The patch file `export --to patch` wrote for this proposal, as a download."""
    project = config_of(request).project(request.path_params["repo"])
    p = usecases.show(project, request.path_params["pid"]).proposal
    path = usecases.exported_patch(project, p)
    if path is None:
        return render(request, "error.html", 404, title="Not found",
                      message=f"proposal {p.short_id} has not been exported as a patch")
    return FileResponse(path, media_type="text/x-diff", filename=path.name)


def dashboards(request: Request) -> Response:
    """The campaigns of the served stores (agent.web.campaigns), then the remediation metrics of every served
    repository: the numbers of `suture metrics`, charts as SVG images."""
    config = config_of(request)
    reports = [(project, usecases.metrics(project)) for project in config.projects]
    return render(request, "dashboards.html", reports=reports, shelves=campaigns.shelves(config.projects),
                  item_states=campaigns.ITEM_STATES, campaign_link=campaigns.campaign_link)


def chart(request: Request) -> Response:
    """One chart of a served repository's metrics (velocity or mttr) as a static SVG image."""
    from agent.metrics.html import mttr_svg, velocity_svg

    project = config_of(request).project(request.path_params["repo"])
    draw = {"velocity": velocity_svg, "mttr": mttr_svg}.get(request.path_params["chart"])
    if draw is None:
        return render(request, "error.html", 404, title="Not found", message="no such chart")
    svg = draw(usecases.metrics(project).report)
    return Response(svg, media_type="image/svg+xml", headers={"content-security-policy": SVG_CSP})


ROUTES = [
    Route("/queue", queue), Route("/triage", triage), Route("/dashboards", dashboards),
    Route("/dashboards/{repo}/{chart}.svg", chart),
    Route("/p/{repo}/{pid}", proposal), Route("/p/{repo}/{pid}/context", context),
    Route("/p/{repo}/{pid}/patch", patch_file),
]
