"""Seats (`/seats`, `/api/v1/seats`): reclaim candidates from `catalog.reports.seats`, the
seats nobody has used for RECLAIM_INACTIVE_DAYS (or ever, once assigned that long ago), with
what each costs a year and the total per currency; keyset-paginated."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from catalog.db import transaction
from catalog.reports.seats import IdleTotal, ReclaimPage, idle_totals, reclaim_candidates
from web.access import may_see_register
from web.deps import ApiViewer, Console, PageViewer, console, render, require

router = APIRouter()
DAYS = Query(None, ge=1, le=3650, description="Idle for at least this many days (default RECLAIM_INACTIVE_DAYS).")
PRODUCT = Query(None, max_length=64, description="Only this product (catalog id).")
NEVER = Query(False, description="Only seats never used.")
AFTER = Query(None, ge=0, description="The next page: the `next_after` of this one.")


def seats(
    c: Console, days: int | None, product: str | None, never_used: bool, after: int | None
) -> tuple[int, ReclaimPage, list[IdleTotal]]:
    idle_days = days or c.settings.reclaim_inactive_days
    with transaction(c.engine, read_only=True) as session:
        page = reclaim_candidates(
            session,
            as_of=c.today(),
            inactive_days=idle_days,
            never_used=never_used,
            product_id=product or None,
            after=after,
        )
        totals = idle_totals(session, as_of=c.today(), inactive_days=idle_days)
    return idle_days, page, totals


@router.get("/seats", response_class=HTMLResponse, include_in_schema=False)
async def seats_page(
    request: Request,
    viewer: PageViewer,
    days: int | None = DAYS,
    product: str | None = PRODUCT,
    never_used: bool = NEVER,
    after: int | None = AFTER,
) -> Response:
    require(may_see_register(viewer), "seats")
    idle_days, page, totals = await run_in_threadpool(seats, console(request), days, product, never_used, after)
    return render(
        request,
        "seats.html",
        viewer,
        idle_days=idle_days,
        page=page,
        totals=totals,
        product=product or "",
        never_used=never_used,
    )


@router.get("/api/v1/seats", tags=["seats"])
async def seats_api(
    request: Request,
    viewer: ApiViewer,
    days: int | None = DAYS,
    product: str | None = PRODUCT,
    never_used: bool = NEVER,
    after: int | None = AFTER,
) -> dict[str, Any]:
    """One page of idle seats with their yearly value (minor units of the asset's currency),
    and the reclaimable total per currency over all pages."""
    require(may_see_register(viewer), "seats")
    idle_days, page, totals = await run_in_threadpool(seats, console(request), days, product, never_used, after)
    return {
        "idle_days": idle_days,
        "seats": [asdict(r) for r in page.rows],
        "next_after": page.next_after,
        "totals": [asdict(t) for t in totals],
    }
