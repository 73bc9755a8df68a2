"""The decisions (POST only): approve, reject, export. Each checks the CSRF token first (refused with 403 and
nothing called without it), takes the reviewer from the session, calls the use case, and redirects to the page
it came from with what happened; a use case's refusal (decided meanwhile, not approved…) is shown the same way.
"""

from __future__ import annotations

from typing import Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.errors import SutureError
from agent.review.identity import escape_text
from agent.web import security, usecases
from agent.web.respond import config_of, flash, render, reviewer_of, safe_next, see_other


async def _decision(request: Request, act) -> Response:
    """Run `act(project, pid, form, reviewer) -> message` for a checked POST; back to the form's page."""
    form = await request.form()
    refusal = security.csrf_refusal(request, form.get("csrf"))
    if refusal:
        return render(request, "error.html", 403, title="Refused", message=refusal)
    project = config_of(request).project(request.path_params.get("repo") or str(form.get("repo") or ""))
    pid = request.path_params.get("pid")
    back = safe_next(str(form.get("back") or (f"/p/{project.key}/{pid}" if pid else "/queue")))
    reviewer = reviewer_of(request)
    try:
        message = await run_in_threadpool(act, project, pid, form, reviewer)
    except SutureError as error:
        flash(request, "error", str(error))
    else:
        flash(request, "ok", message)
    return see_other(back)


def _text(form, name: str) -> str | None:
    value = form.get(name)
    return str(value) if value is not None and str(value).strip() else None


def _approve(project, pid, form, reviewer: str) -> str:
    override = form.get("override") == "yes"
    p = usecases.approve(project, pid, reviewer, _text(form, "comment"), override, _text(form, "reason"))
    what = "; it can now be exported" if p.kind == "patch" else "; finding dismissed"
    return f"approved {p.short_id} as {escape_text(reviewer)}" + (" (OVERRIDE)" if override else "") + what


def _reject(project, pid, form, reviewer: str) -> str:
    reason = _text(form, "reason")
    if reason is None:
        raise SutureError("a rejection needs a reason")
    p = usecases.reject(project, pid, reviewer, reason, retract=form.get("retract") == "yes")
    return f"rejected {p.short_id} as {escape_text(reviewer)}"


def _export_to(form) -> Literal["branch", "patch"]:
    to = str(form.get("to") or "branch")
    if to == "branch":
        return "branch"
    if to == "patch":
        return "patch"
    raise SutureError(f"unknown export target {to!r}: branch or patch")


def _export(project, pid, form, reviewer: str) -> str:
    results = usecases.export(project, pid, _export_to(form), with_test=form.get("without_test") != "yes")
    return "; ".join(_exported(r) for r in results)


def _export_approved(project, pid, form, reviewer: str) -> str:
    results = usecases.export(project, None, _export_to(form))
    return "; ".join(_exported(r) for r in results) if results else f"{project.key}: no approved proposals to export"


def _exported(r) -> str:
    where = f"branch {r.branch}" if r.branch else f"patch {r.patch}"
    test = f", regression test commit {r.test_commit[:10]}" if r.test_commit else ""
    return f"exported {r.proposal_id[:8]} → {where} (commit {(r.commit or '')[:10]}{test})"


async def approve(request: Request) -> Response:
    return await _decision(request, _approve)


async def reject(request: Request) -> Response:
    return await _decision(request, _reject)


async def export(request: Request) -> Response:
    return await _decision(request, _export)


async def export_approved(request: Request) -> Response:
    return await _decision(request, _export_approved)


ROUTES = [
    Route("/p/{repo}/{pid}/approve", approve, methods=["POST"]),
    Route("/p/{repo}/{pid}/reject", reject, methods=["POST"]),
    Route("/p/{repo}/{pid}/export", export, methods=["POST"]),
    Route("/export-approved", export_approved, methods=["POST"]),
]
