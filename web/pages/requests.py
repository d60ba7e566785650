"""`/requests`, `/requests/{id}` and their API twins: the list (filter, sort, paginate), one
request's route, timeline and messages, and the approver's Approve / Deny / Request changes.

A decision goes through `ProcurementClient.decide`, the same Temporal Update and validator as
the Slack buttons (is this the assigned approver or delegate, is the step open, not the
requester), so the Slack messages update in place and a refusal reads the same."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from catalog.db import transaction
from catalog.models import ApprovalStep, StepStatus
from catalog.money import format_money
from catalog.reports import requests as report
from catalog.text import role_label
from web.access import Viewer, request_filter
from web.deps import ApiViewer, Console, Offset, PageViewer, console, render
from web.pages import page_json
from workflows.request.types import ACTION_APPROVE, ACTION_DENY, ACTION_REQUEST_CHANGES, DecisionInput

router = APIRouter()

DECISIONS = {ACTION_APPROVE: "Approve", ACTION_DENY: "Deny", ACTION_REQUEST_CHANGES: "Request changes"}
#: As in Slack's Deny and Request changes modals (bot/listeners/approvals.py).
MIN_REASON_CHARS = 3
PAGE_SIZE = 50
_SLACK_MENTION = re.compile(r"<@([A-Z0-9]+)>")


#: The largest age filter (days) and stage number the list reads; a bigger one was a 500
#: (a date before year 1, an integer SQLite cannot hold).
MAX_AGE_DAYS = 36_500
MAX_STAGE = 1_000


def _instant(moment: datetime) -> str:
    """A stored instant for the API, always with its offset: SQLite gives it back without one
    (`2026-12-04T14:56:00`, read as local time by most clients), PostgreSQL with `+00:00`."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _number(name: str, text: str | None, maximum: int) -> int | None:
    if text is None or not text.strip():
        return None
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > maximum:  # "²" is a digit to isdigit()
        raise HTTPException(400, f"{name} must be a whole number from 0 to {maximum:,}, not {text!r}")
    return int(text)


def request_query(
    status: str | None = None,
    stage: str | None = None,
    approver: str | None = None,
    requester: str | None = None,
    product: str | None = None,
    cost_center: str | None = None,
    min_age_days: str | None = None,
    max_age_days: str | None = None,
) -> report.RequestFilters:
    """The list's filters from the query string (empty fields of the HTML form mean "any")."""
    return report.RequestFilters(
        status=status or None,
        stage=_number("stage", stage, MAX_STAGE),
        approver=approver or None,
        requester=requester or None,
        product=product or None,
        cost_center=cost_center or None,
        min_age_days=_number("min_age_days", min_age_days, MAX_AGE_DAYS),
        max_age_days=_number("max_age_days", max_age_days, MAX_AGE_DAYS),
    )


Filters = Annotated[report.RequestFilters, Depends(request_query)]


def _page(c: Console, viewer: Viewer, filters: report.RequestFilters, sort: str, offset: int) -> report.RequestPage:
    try:
        with transaction(c.engine, read_only=True) as session:
            return report.list_requests(
                session,
                filters=filters,
                now=datetime.now(UTC),
                visible=request_filter(viewer),
                sort=sort,
                offset=offset,
                limit=PAGE_SIZE,
            )
    except report.ReportInputError as error:
        raise HTTPException(400, str(error)) from None


def _row_json(row: report.RequestRow) -> dict[str, Any]:
    return {
        **asdict(row),
        "created_at": row.created_at.isoformat(),
        "annual_cost": format_money(row.annual_cost_cents, row.currency),
        "approvers": list(row.approvers),
        "approver_names": list(row.approver_names),
    }


@router.get("/requests", response_class=HTMLResponse, include_in_schema=False)
async def requests_page(
    request: Request, viewer: PageViewer, filters: Filters, sort: str = report.DEFAULT_SORT, offset: Offset = 0
) -> HTMLResponse:
    page = await run_in_threadpool(_page, console(request), viewer, filters, sort, max(0, offset))
    query = {k: v for k, v in request.query_params.items() if k not in ("sort", "offset") and v}
    return render(
        request,
        "requests.html",
        viewer,
        page=page,
        filters=filters,
        query=query,
        link=lambda **extra: "/requests?" + urlencode({**query, "sort": sort, **extra}),
        statuses=_statuses(),
    )


@router.get("/api/v1/requests", tags=["requests"])
async def requests_api(
    request: Request, viewer: ApiViewer, filters: Filters, sort: str = report.DEFAULT_SORT, offset: Offset = 0
) -> dict[str, Any]:
    """Requests the caller may see, filtered (status, stage, approver, requester, product, cost
    center, age in days), sorted (`sort`: created, id, status, product, requester, cost_center,
    cost; `-` first reverses) and paginated (`offset`, pages of 50)."""
    page = await run_in_threadpool(_page, console(request), viewer, filters, sort, max(0, offset))
    return page_json(page, _row_json)


def _statuses() -> list[str]:
    from catalog.models import RequestStatus

    return [s.value for s in RequestStatus]


def _detail(c: Console, viewer: Viewer, request_id: str) -> report.RequestDetail:
    with transaction(c.engine, read_only=True) as session:
        detail = report.request_detail(session, request_id=request_id, visible=request_filter(viewer))
    if detail is None:
        raise HTTPException(404, f"no request {request_id} that you may see")
    return detail


def my_open_steps(viewer: Viewer, detail: report.RequestDetail) -> list[ApprovalStep]:
    """The steps this viewer may decide now: pending, in the stage that is open, assigned to them
    or their delegate role, never on their own request (the workflow checks again)."""
    request = detail.request
    if request.requester_email == viewer.email:
        return []
    pending = [s for s in detail.steps if s.status == StepStatus.PENDING and s.round == request.round]
    if not pending:
        return []
    stage = min(s.stage for s in pending)
    return [s for s in pending if s.stage == stage and viewer.email in (s.approver_email, s.delegate_email)]


def _workflow_url(c: Console, workflow_id: str) -> str | None:
    base = c.settings.temporal_ui()
    return f"{base}/namespaces/{c.settings.temporal_namespace}/workflows/{workflow_id}" if base else None


def detail_json(c: Console, viewer: Viewer, detail: report.RequestDetail) -> dict[str, Any]:
    r = detail.request
    return {
        "id": r.id,
        "status": r.status,
        "product_name": r.product_name,
        "vendor": r.vendor,
        "requester_email": r.requester_email,
        "seats": r.seats,
        "annual_cost_cents": r.annual_cost_cents,
        "currency": r.currency,
        "annual_cost": format_money(r.annual_cost_cents, r.currency),
        "cost_center": r.cost_center,
        "channel": r.channel,
        "justification": r.justification,
        "created_at": _instant(r.created_at),
        "policy_version": r.policy_version,
        "workflow_id": r.workflow_id,
        "workflow_url": _workflow_url(c, r.workflow_id),
        "route": [
            {
                "round": s.round,
                "stage": s.stage,
                "seq": s.seq,
                "role": s.role,
                "role_label": role_label(s.role),
                "approver_email": s.approver_email,
                "delegate_email": s.delegate_email,
                "status": s.status,
                "decided_by": s.decided_by,
                "decided_at": _instant(s.decided_at) if s.decided_at else None,
                "reason": s.reason,
                "reasons": s.reasons,
            }
            for s in detail.steps
        ],
        "timeline": [
            {
                "at": _instant(e.at),
                "action": e.action,
                "actor": e.actor,
                "step": e.step_seq,
                "policy_version": e.policy_version,
                "budget": e.detail.get("budget") if isinstance(e.detail, dict) else None,
                "detail": e.detail,
            }
            for e in detail.timeline
        ],
        "messages": [
            {"key": m.key, "channel": m.channel, "ts": m.ts, "at": _instant(m.created_at)} for m in detail.messages
        ],
        "my_open_steps": [s.seq for s in my_open_steps(viewer, detail)],
    }


@router.get("/requests/{request_id}", response_class=HTMLResponse, include_in_schema=False)
async def request_page(request: Request, viewer: PageViewer, request_id: str, notice: str = "") -> HTMLResponse:
    c = console(request)
    detail = await run_in_threadpool(_detail, c, viewer, request_id)
    return render(
        request,
        "request.html",
        viewer,
        detail=detail,
        r=detail.request,
        mine=my_open_steps(viewer, detail),
        decisions=DECISIONS,
        workflow_url=_workflow_url(c, detail.request.workflow_id),
        role_label=role_label,
        notice=notice,
    )


@router.get("/api/v1/requests/{request_id}", tags=["requests"])
async def request_api(request: Request, viewer: ApiViewer, request_id: str) -> dict[str, Any]:
    """One request: its route with each step's state, the timeline from the audit log (actor,
    time, policy version, budget snapshot), the Slack messages sent, and the Temporal UI link."""
    c = console(request)
    detail = await run_in_threadpool(_detail, c, viewer, request_id)
    return detail_json(c, viewer, detail)


class DecisionBody(BaseModel):
    action: str = Field(description="approve, deny or request_changes")
    reason: str = Field(default="", max_length=1000, description="Required to deny or request changes.")


async def decide(c: Console, viewer: Viewer, request_id: str, seq: int, body: DecisionBody) -> tuple[bool, str]:
    """Decide one step as `viewer`, through the workflow's `decide` Update; (accepted, message)."""
    if body.action not in DECISIONS:
        raise HTTPException(400, f"action must be one of {', '.join(DECISIONS)}")
    reason = body.reason.strip()
    if body.action != ACTION_APPROVE and len(reason) < MIN_REASON_CHARS:
        what = "a reason for the requester" if body.action == ACTION_DENY else "what the requester should change"
        raise HTTPException(400, f"give {what} (at least {MIN_REASON_CHARS} characters)")
    detail = await run_in_threadpool(_detail, c, viewer, request_id)
    if not viewer.slack_user_id:
        raise HTTPException(403, "your directory entry has no Slack id, and decisions are recorded by Slack id")
    decision = DecisionInput(
        actor_slack_id=viewer.slack_user_id,
        approve=body.action == ACTION_APPROVE,
        reason=reason[:1000],
        seq=seq,
        action=body.action,
    )
    outcome = await (await c.temporal()).decide(detail.request.id, decision)
    return outcome.accepted, _SLACK_MENTION.sub(lambda m: _mention(detail, m.group(1)), outcome.message)


def _mention(detail: report.RequestDetail, slack_id: str) -> str:
    """A Slack `<@U…>` in a workflow message, as the console shows it: the person's name if known."""
    for step in detail.steps:
        if step.approver_slack_id == slack_id:
            return detail.people.get(step.approver_email, step.approver_email)
        if step.delegate_slack_id == slack_id and step.delegate_email:
            return detail.people.get(step.delegate_email, step.delegate_email)
    return slack_id


@router.post("/requests/{request_id}/steps/{seq}/decision", include_in_schema=False)
async def decide_page(
    request: Request,
    viewer: PageViewer,
    request_id: str,
    seq: int,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> RedirectResponse:
    accepted, message = await decide(
        console(request), viewer, request_id, seq, DecisionBody(action=action, reason=reason[:1000])
    )
    notice = message if message else ("Done." if accepted else "Not done.")
    return RedirectResponse(f"/requests/{request_id}?" + urlencode({"notice": notice}), status_code=303)


@router.post("/api/v1/requests/{request_id}/steps/{seq}/decision", tags=["requests"])
async def decide_api(
    request: Request, viewer: ApiViewer, request_id: str, seq: int, body: DecisionBody
) -> dict[str, Any]:
    """Approve, deny or request changes on step `seq`, as the Slack buttons do. A refusal (not
    your step, already decided, your own request) is `accepted: false` with the reason."""
    accepted, message = await decide(console(request), viewer, request_id, seq, body)
    return {"accepted": accepted, "message": message}
