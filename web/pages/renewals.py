"""Renewals (`/renewals`, `/api/v1/renewals`): a month calendar and the list of notice
deadlines and renewal dates, with days left, cost, seats bought / assigned / active and the
decision so far; Renew / Cancel / Renegotiate / Snooze run the Slack buttons' workflow
(web/renewal_actions.py). `/renewals.ics` is the same calendar for a calendar app, behind a
revocable token in its URL (a "calendar" token, web_api_token)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog import repository
from catalog.db import transaction
from catalog.icalendar_feed import renewal_calendar
from catalog.reports.renewals_view import RenewalRow, month_grid, renewal_rows
from catalog.repository import api_tokens, reminders
from web.access import Viewer, may_see_register
from web.deps import ApiViewer, Console, PageViewer, console, render, require
from web.renewal_actions import SNOOZE_CHOICES, DecisionFormError, decide, new_form_id, parse_decision
from workflows.renewals.workflows import RenewalClient

router = APIRouter()
HORIZON_DAYS = 90
FEED_PURPOSE = "calendar"


@dataclass(frozen=True)
class RenewalList:
    as_of: date
    month: date
    rows: list[RenewalRow]
    deciders: set[int]  # contracts the viewer may decide (owner or ITAM)
    ending: list[Any]  # UpcomingRenewal: contracts ending within the horizon, their renewal cancelled


def _month(text: str | None, today: date) -> date:
    try:
        return date.fromisoformat(f"{text}-01") if text else today.replace(day=1)
    except ValueError:
        raise HTTPException(422, f"month {text!r} is not YYYY-MM") from None


def renewal_list(c: Console, viewer: Viewer, *, month: date, within: int | None, this_month: bool) -> RenewalList:
    today = c.today()
    month_end = (month + timedelta(days=32)).replace(day=1)
    horizon = max(HORIZON_DAYS, (month_end - today).days)
    with transaction(c.engine, read_only=True) as session:
        rows = renewal_rows(session, as_of=today, calendar=c.settings.holiday_calendar(), horizon_days=horizon)
        person = repository.get_person(session, email=viewer.email)
        itam = reminders.is_itam(person)
        deciders = {r.renewal.contract_id for r in rows if itam or r.renewal.owner_email == viewer.email}
        ending = reminders.upcoming_renewals(
            session, as_of=today, calendar=c.settings.holiday_calendar(), horizon_days=horizon, cancelled=True
        )
    if within is not None:
        rows = [r for r in rows if r.renewal.renewal_date <= today + timedelta(days=within)]
    if this_month:
        end = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        rows = [r for r in rows if today <= r.renewal.deadline < end]
    return RenewalList(today, month, rows, deciders if viewer.slack_user_id else set(), ending)


def _row_json(row: RenewalRow) -> dict[str, Any]:
    u = row.renewal
    return {
        "contract_id": u.contract_id,
        "asset_id": row.asset_id,
        "product": u.product_name,
        "owner": u.owner_email,
        "renewal_date": u.renewal_date.isoformat(),
        "deadline": u.deadline.isoformat(),
        "days_left": u.days_left,
        "auto_renew": u.auto_renew,
        "annual_cost_cents": u.annual_cost_cents,
        "currency": u.currency,
        "seats": {"bought": row.seats_bought, "assigned": row.seats_assigned, "active_30d": row.seats_active},
        "status": u.status,
        "when": u.when,
        "decision": u.decision,
    }


def _feed_tokens(c: Console, viewer: Viewer) -> list[Any]:
    with transaction(c.engine, read_only=True) as session:
        return [
            t
            for t in api_tokens.list_tokens(session, email=viewer.email)
            if t.purpose == FEED_PURPOSE and t.revoked_at is None
        ]


async def _page(
    request: Request, viewer: Viewer, *, notice: str = "", feed_url: str = "", status: int = 200
) -> Response:
    require(may_see_register(viewer), "renewals")
    c = console(request)
    params = request.query_params
    within = params.get("within")
    data = await run_in_threadpool(
        renewal_list,
        c,
        viewer,
        month=_month(params.get("month"), c.today()),
        within=int(within) if within and within.isdecimal() else None,
        this_month=params.get("deadlines") == "month",
    )
    grid = month_grid(data.month.year, data.month.month, [r.renewal for r in data.rows])
    previous = (data.month - timedelta(days=1)).replace(day=1)
    following = (data.month + timedelta(days=32)).replace(day=1)
    return render(
        request,
        "renewals.html",
        viewer,
        status_code=status,
        data=data,
        grid=grid,
        previous=previous,
        following=following,
        form_id=new_form_id(),
        snooze_choices=SNOOZE_CHOICES,
        notice=notice or params.get("notice", ""),
        feed_url=feed_url,
        feed_tokens=await run_in_threadpool(_feed_tokens, c, viewer),
        tz_name=c.settings.company_timezone,
    )


@router.get("/renewals", response_class=HTMLResponse, include_in_schema=False)
async def renewals_page(request: Request, viewer: PageViewer) -> Response:
    return await _page(request, viewer)


async def _renewals(request: Request) -> RenewalClient:
    c = console(request)
    procurement = await c.temporal()
    return RenewalClient(procurement.temporal, task_queue=c.settings.temporal_task_queue)


@router.post("/renewals/{contract_id}/decide", include_in_schema=False)
async def decide_from_page(contract_id: int, request: Request, viewer: PageViewer) -> Response:
    require(may_see_register(viewer), "renewals")
    form = await request.form()
    try:
        decision = parse_decision(contract_id, {k: v for k, v in form.items() if isinstance(v, str)})
    except DecisionFormError as error:
        return await _page(request, viewer, notice=error.message, status=422)
    answer = await decide(await _renewals(request), decision, actor_slack_id=viewer.slack_user_id)
    from urllib.parse import urlencode

    return RedirectResponse(
        f"/renewals?{urlencode({'notice': answer.message})}#contract-{contract_id}", status_code=303
    )


@router.get("/api/v1/renewals", tags=["renewals"])
async def renewals_api(
    request: Request,
    viewer: ApiViewer,
    within: int | None = Query(None, ge=0, le=3660, description="Only renewals within this many days."),
) -> dict[str, Any]:
    """Upcoming terms (deadline within 90 days, or passed with the renewal ahead), soonest
    deadline first, with seats and the decision so far."""
    require(may_see_register(viewer), "renewals")
    c = console(request)
    data = await run_in_threadpool(
        renewal_list, c, viewer, month=c.today().replace(day=1), within=within, this_month=False
    )
    ending = [
        {
            "contract_id": u.contract_id,
            "product": u.product_name,
            "ends_on": u.renewal_date.isoformat(),
            "decision": u.decision,
        }
        for u in data.ending
    ]
    return {"as_of": data.as_of.isoformat(), "renewals": [_row_json(r) for r in data.rows], "ending": ending}


@router.post("/api/v1/renewals/{contract_id}/decisions", tags=["renewals"])
async def decide_api(
    contract_id: int,
    request: Request,
    viewer: ApiViewer,
    body: dict[str, Any] = Body(  # noqa: B008 - FastAPI's way to declare a JSON body
        ...,
        examples=[{"renewal_date": "2027-01-15", "action": "snooze", "snooze_days": 7, "idempotency_key": "k1"}],
    ),
) -> dict[str, Any]:
    """Renew (optional `seats`, `price`), cancel, renegotiate or snooze (`snooze_days`) the term
    renewing on `renewal_date`: the Slack buttons' workflow. The same `idempotency_key` is
    recorded once. 409 when the decision is refused (the message says why)."""
    require(may_see_register(viewer), "renewals")
    try:
        decision = parse_decision(contract_id, body)
    except DecisionFormError as error:
        raise HTTPException(422, {"field": error.field, "message": error.message}) from None
    answer = await decide(await _renewals(request), decision, actor_slack_id=viewer.slack_user_id)
    if not answer.accepted:
        raise HTTPException(409, answer.message)
    return {"accepted": True, "message": answer.message}


# --- the iCalendar feed ---------------------------------------------------------------------


def _feed(c: Console, token: str) -> str | None:
    now = datetime.now(UTC)
    with transaction(c.engine, read_only=True) as session:
        row = api_tokens.find_live(session, token=token, now=now, purpose=FEED_PURPOSE)
        person = repository.get_person(session, email=row.email) if row else None
        if person is None or not may_see_register(Viewer.from_person(person)):
            return None
        upcoming = reminders.upcoming_renewals(
            session, as_of=c.today(), calendar=c.settings.holiday_calendar(), horizon_days=366
        )
    return renewal_calendar(upcoming, generated_at=now, host=c.settings.web_host, timezone=c.settings.company_timezone)


@router.get("/renewals.ics", tags=["renewals"], response_class=Response)
async def renewals_feed(request: Request, token: str = Query("", description="A calendar token.")) -> Response:
    """Notice deadlines and renewal dates of the next year as iCalendar, for a calendar app.
    The token (from the Renewals page) is revocable there; a revoked one gets 401."""
    feed = await run_in_threadpool(_feed, console(request), token)
    if feed is None:
        raise HTTPException(401, "this calendar link was revoked or is not valid; make a new one on /renewals")
    return Response(feed, media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "private, max-age=300"})


def _issue_feed(c: Console, viewer: Viewer) -> str:
    with transaction(c.engine) as session:
        issued = api_tokens.create(
            session,
            email=viewer.email,
            actor=viewer.email,
            now=datetime.now(UTC),
            expires_in=None,
            purpose=FEED_PURPOSE,
            label="renewals.ics",
        )
    return issued.token


def _revoke_feed(c: Console, viewer: Viewer, token_id: int) -> None:
    with transaction(c.engine) as session:
        mine = {t.id for t in api_tokens.list_tokens(session, email=viewer.email) if t.purpose == FEED_PURPOSE}
        if token_id not in mine:
            raise HTTPException(404, "no such calendar link of yours")
        api_tokens.revoke(session, token_id=token_id, actor=viewer.email, now=datetime.now(UTC))


@router.post("/renewals/feed", include_in_schema=False)
async def create_feed(request: Request, viewer: PageViewer) -> Response:
    require(may_see_register(viewer), "renewals")
    token = await run_in_threadpool(_issue_feed, console(request), viewer)
    url = str(request.url_for("renewals_feed").include_query_params(token=token))
    return await _page(request, viewer, feed_url=url, notice="Calendar link made; it is shown only this once.")


@router.post("/renewals/feed/{token_id}/revoke", include_in_schema=False)
async def revoke_feed(token_id: int, request: Request, viewer: PageViewer) -> Response:
    require(may_see_register(viewer), "renewals")
    await run_in_threadpool(_revoke_feed, console(request), viewer, token_id)
    return RedirectResponse("/renewals?notice=Calendar+link+revoked.", status_code=303)
