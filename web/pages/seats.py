"""Seats (`/seats`, `/api/v1/seats`): reclaim candidates from `catalog.reports.seats`, the
seats nobody has used for RECLAIM_INACTIVE_DAYS (or ever, once assigned that long ago), with
what each costs a year and the total per currency; keyset-paginated."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from catalog.db import transaction
from catalog.reports.seats import IdleTotal, ReclaimPage, idle_totals, reclaim_candidates
from web.access import may_see_register
from web.deps import MAX_DB_INT, ApiViewer, Console, PageViewer, console, render, require

router = APIRouter()


@dataclass(frozen=True)
class SeatQuery:
    """Which idle seats to list, from the query string (the page's and the API's alike)."""

    days: int | None = Query(
        None, ge=1, le=3650, description="Idle for at least this many days (default RECLAIM_INACTIVE_DAYS)."
    )
    product: str | None = Query(None, max_length=64, description="Only this product (catalog id).")
    never_used: bool = Query(False, description="Only seats never used.")
    after: int | None = Query(None, ge=0, le=MAX_DB_INT, description="The next page: the `next_after` of this one.")


Seats = Annotated[SeatQuery, Depends()]


def seats(c: Console, query: SeatQuery) -> tuple[int, ReclaimPage, list[IdleTotal]]:
    idle_days = query.days or c.settings.reclaim_inactive_days
    with transaction(c.engine, read_only=True) as session:
        page = reclaim_candidates(
            session,
            as_of=c.today(),
            inactive_days=idle_days,
            never_used=query.never_used,
            product_id=query.product or None,
            after=query.after,
        )
        totals = idle_totals(session, as_of=c.today(), inactive_days=idle_days)
    return idle_days, page, totals


@router.get("/seats", response_class=HTMLResponse, include_in_schema=False)
async def seats_page(
    request: Request,
    viewer: PageViewer,
    query: Seats,
    notice: str = Query("", max_length=300, include_in_schema=False),
) -> Response:
    require(may_see_register(viewer), "seats")
    idle_days, page, totals = await run_in_threadpool(seats, console(request), query)
    return render(
        request,
        "seats.html",
        viewer,
        idle_days=idle_days,
        page=page,
        totals=totals,
        product=query.product or "",
        never_used=query.never_used,
        notice=notice,
    )


@router.get("/api/v1/seats", tags=["seats"])
async def seats_api(request: Request, viewer: ApiViewer, query: Seats) -> dict[str, Any]:
    """One page of idle seats with their yearly value (minor units of the asset's currency),
    and the reclaimable total per currency over all pages."""
    require(may_see_register(viewer), "seats")
    idle_days, page, totals = await run_in_threadpool(seats, console(request), query)
    return {
        "idle_days": idle_days,
        "seats": [asdict(r) for r in page.rows],
        "next_after": page.next_after,
        "totals": [asdict(t) for t in totals],
    }
