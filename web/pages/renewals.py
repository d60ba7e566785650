"""Renewals (`/renewals`, `/api/v1/renewals`): a month calendar and the list of notice
deadlines and renewal dates, with days left, cost, seats bought / assigned / active and the
decision so far; Renew / Cancel / Renegotiate / Snooze run the Slack buttons' workflow
(web/renewal_actions.py). `/renewals.ics` is the same calendar for a calendar app, behind a
revocable token in its URL (a "calendar" token, web_api_token)."""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog import repository
from catalog.db import transaction
from catalog.reports.renewals import DEFAULT_PAGE, CalendarRow, calendar_rows, ical_feed
from catalog.repository import api_tokens, reminders
from web.access import Viewer, may_see_register
from web.deps import MAX_DB_INT, ApiViewer, Console, PageViewer, RowId, console, render, require
from web.renewal_actions import SNOOZE_CHOICES, DecisionFormError, decide, new_form_id, parse_decision
from workflows.renewals.client import RenewalClient

router = APIRouter()
HORIZON_DAYS = 90
#: Contracts a page of the list holds (its later ones on the next page: `offset`).
PAGE_CONTRACTS = DEFAULT_PAGE
#: Contracts the month calendar shows at most (it says so when the month has more).
MONTH_CONTRACTS = DEFAULT_PAGE
FEED_DAYS = 366
FEED_PURPOSE = "calendar"


@dataclass(frozen=True)
class RenewalList:
    as_of: date
    start: date
    end: date
    rows: list[CalendarRow]  # deadlines and renewal dates from `start` to `end`
    contracts: int  # contracts with a date in the range (the list holds a page of them)
    month: date
    grid: list[list[tuple[date, list[CalendarRow]]]]  # the month's weeks, Monday first
    deciders: set[int]  # contracts the viewer may decide (owner or ITAM)
    offset: int = 0  # contracts before this page's (soonest deadline first)
    listed: int = 0  # contracts on this page
    month_contracts: int = 0  # contracts with a date in `month` (the calendar shows at most a page)
    month_shown: int = 0  # of which the calendar shows

    @property
    def next_offset(self) -> int | None:
        following = self.offset + self.listed
        return following if self.listed and following < self.contracts else None

    @property
    def anchored(self) -> set[int]:
        """Contracts with a row of this list page to jump to (`#contract-ID`, its Decide row)."""
        return {r.contract_id for r in self.rows if r.kind == "deadline" or r.deadline < self.start}

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - PAGE_CONTRACTS) if self.offset else None


def _month(text: str | None, today: date) -> date:
    """The calendar's month; one whose neighbours are not dates (0001-01, 9999-12) is refused
    like a malformed one, as /budgets refuses such a year."""
    try:
        month = date.fromisoformat(f"{text}-01") if text else today.replace(day=1)
    except ValueError:
        raise HTTPException(422, f"month {text!r} is not YYYY-MM") from None
    if not 1901 <= month.year <= 9998:
        raise HTTPException(422, f"month {text!r}: the calendar shows the years 1901 to 9998")
    return month


def _grid(month: date, rows: list[CalendarRow]) -> list[list[tuple[date, list[CalendarRow]]]]:
    by_day: dict[date, list[CalendarRow]] = {}
    for row in rows:
        by_day.setdefault(row.on, []).append(row)
    weeks = month_calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    return [[(day, by_day.get(day, [])) for day in week] for week in weeks]


def renewal_list(
    c: Console, viewer: Viewer, *, days: int, month: date, cost_center: str | None, offset: int = 0
) -> RenewalList:
    """The list from today to `days` ahead, `PAGE_CONTRACTS` contracts from `offset` (soonest
    deadline first), and `month`'s calendar."""
    today = c.today()
    month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    calendar = c.settings.holiday_calendar()
    with transaction(c.engine) as session:  # the read refreshes the stored renewal plans
        listed = calendar_rows(
            session,
            as_of=today,
            calendar=calendar,
            start=today,
            end=today + timedelta(days=days),
            cost_center=cost_center,
            limit=PAGE_CONTRACTS,
            offset=offset,
        )
        in_month = calendar_rows(
            session,
            as_of=today,
            calendar=calendar,
            start=month,
            end=month_end,
            cost_center=cost_center,
            limit=MONTH_CONTRACTS,
        )
        itam = reminders.is_itam(repository.get_person(session, email=viewer.email))
    deciders = {r.contract_id for r in listed.rows if viewer.slack_user_id and (itam or r.owner_email == viewer.email)}
    return RenewalList(
        today,
        today,
        today + timedelta(days=days),
        listed.rows,
        listed.contracts,
        month,
        _grid(month, in_month.rows),
        deciders,
        offset,
        len({r.contract_id for r in listed.rows}),
        in_month.contracts,
        len({r.contract_id for r in in_month.rows}),
    )


def _row_json(row: CalendarRow) -> dict[str, Any]:
    return {
        **asdict(row),
        "on": row.on.isoformat(),
        "renewal_date": row.renewal_date.isoformat(),
        "deadline": row.deadline.isoformat(),
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
    days = params.get("days", "")
    data = await run_in_threadpool(
        renewal_list,
        c,
        viewer,
        days=min(int(days), 3660) if days.isdecimal() else HORIZON_DAYS,
        month=_month(params.get("month"), c.today()),
        cost_center=params.get("cost_center") or None,
        offset=min(int(offset), MAX_DB_INT) if (offset := params.get("offset", "")).isdecimal() else 0,
    )
    previous = (data.month - timedelta(days=1)).replace(day=1)
    following = (data.month + timedelta(days=32)).replace(day=1)
    return render(
        request,
        "renewals.html",
        viewer,
        status_code=status,
        data=data,
        previous=previous,
        following=following,
        form_id=new_form_id(),
        snooze_choices=SNOOZE_CHOICES,
        notice=notice or params.get("notice", ""),
        feed_url=feed_url,
        feed_tokens=await run_in_threadpool(_feed_tokens, c, viewer),
        tz_name=c.settings.company_timezone,
        list_query={k: params[k] for k in ("days", "month", "cost_center") if params.get(k)},
    )


@router.get("/renewals", response_class=HTMLResponse, include_in_schema=False)
async def renewals_page(request: Request, viewer: PageViewer) -> Response:
    return await _page(request, viewer)


async def _renewals(request: Request) -> RenewalClient:
    c = console(request)
    procurement = await c.temporal()
    return RenewalClient(procurement.temporal, task_queue=c.settings.temporal_task_queue)


@router.post("/renewals/{contract_id}/decide", include_in_schema=False)
async def decide_from_page(contract_id: RowId, request: Request, viewer: PageViewer) -> Response:
    require(may_see_register(viewer), "renewals")
    form = await request.form()
    try:
        decision = parse_decision(contract_id, {k: v for k, v in form.items() if isinstance(v, str)})
    except DecisionFormError as error:
        return await _page(request, viewer, notice=error.message, status=422)
    answer = await decide(await _renewals(request), decision, actor_slack_id=viewer.slack_user_id)
    back = form.get("back")
    kept = _list_params(back if isinstance(back, str) else "")
    return RedirectResponse(
        f"/renewals?{urlencode({**kept, 'notice': answer.message})}#contract-{contract_id}", status_code=303
    )


def _list_params(query: str) -> dict[str, str]:
    """The list the decision was taken on (days ahead, month, cost center, page), from the
    form's `back`: the answer shows that page again, not the first one."""
    return {k: v for k, v in parse_qsl(query) if k in ("days", "month", "cost_center", "offset")}


@router.get("/api/v1/renewals", tags=["renewals"])
async def renewals_api(
    request: Request,
    viewer: ApiViewer,
    days: int = Query(HORIZON_DAYS, ge=0, le=3660, description="Dates from today to this many days ahead."),
    cost_center: str | None = Query(None, max_length=64),
    offset: int = Query(0, ge=0, le=MAX_DB_INT, description="Contracts to skip: pass `next_offset` back."),
) -> dict[str, Any]:
    """Notice deadlines and renewal dates from today to `days` ahead, by date, each with its
    term's days left, cost, seats and decision so far: the events of 500 contracts at a time
    (soonest deadline first) out of `contracts`; `next_offset` is the next page's `offset`."""
    require(may_see_register(viewer), "renewals")
    c = console(request)
    data = await run_in_threadpool(
        renewal_list, c, viewer, days=days, month=c.today().replace(day=1), cost_center=cost_center, offset=offset
    )
    return {
        "as_of": data.as_of.isoformat(),
        "until": data.end.isoformat(),
        "contracts": data.contracts,
        "offset": data.offset,
        "next_offset": data.next_offset,
        "events": [_row_json(r) for r in data.rows],
    }


@router.post("/api/v1/renewals/{contract_id}/decisions", tags=["renewals"])
async def decide_api(
    contract_id: RowId,
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


def _feed(c: Console, token: str) -> bytes | None:
    now = datetime.now(UTC)
    today = c.today()
    with transaction(c.engine) as session:  # the read refreshes the stored renewal plans
        row = api_tokens.find_live(session, token=token, now=now, purpose=FEED_PURPOSE)
        person = repository.get_person(session, email=row.email) if row else None
        if person is None or not may_see_register(Viewer.from_person(person)):
            return None
        rows = calendar_rows(
            session,
            as_of=today,
            calendar=c.settings.holiday_calendar(),
            start=today,
            end=today + timedelta(days=FEED_DAYS),
            limit=5_000,
        ).rows
    return ical_feed(rows, name="Renewals", stamp=now, console_url=c.settings.console_url())


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
async def revoke_feed(token_id: RowId, request: Request, viewer: PageViewer) -> Response:
    require(may_see_register(viewer), "renewals")
    await run_in_threadpool(_revoke_feed, console(request), viewer, token_id)
    return RedirectResponse("/renewals?notice=Calendar+link+revoked.", status_code=303)
