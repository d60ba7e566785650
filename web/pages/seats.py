"""Seats (`/seats`, `/api/v1/seats`): reclaim candidates, the seats nobody has used for
RECLAIM_INACTIVE_DAYS (or ever, once assigned that long ago), with what each costs a year,
most idle first, per product or for everything."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from catalog.db import transaction
from catalog.reports.seats_view import IdleSeat, idle_seats, totals_by_currency
from web.access import may_see_register
from web.deps import ApiViewer, Console, PageViewer, console, render, require

router = APIRouter()
DAYS = Query(None, ge=1, le=3650, description="Idle for at least this many days (default RECLAIM_INACTIVE_DAYS).")
PRODUCT = Query(None, max_length=64, description="Only this product (catalog id).")


def seats(c: Console, days: int | None, product: str | None) -> tuple[int, list[IdleSeat]]:
    idle_days = days or c.settings.reclaim_inactive_days
    with transaction(c.engine, read_only=True) as session:
        found = idle_seats(session, as_of=c.today(), idle_days=idle_days)
    if product:
        found = [s for s in found if s.product_id == product]
    return idle_days, found


@router.get("/seats", response_class=HTMLResponse, include_in_schema=False)
async def seats_page(
    request: Request, viewer: PageViewer, days: int | None = DAYS, product: str | None = PRODUCT
) -> Response:
    require(may_see_register(viewer), "seats")
    idle_days, found = await run_in_threadpool(seats, console(request), days, product)
    products = sorted({(s.product_id or "", s.product_name) for s in found}, key=lambda p: p[1].casefold())
    return render(
        request,
        "seats.html",
        viewer,
        idle_days=idle_days,
        seats=found,
        product=product or "",
        products=products,
        totals=totals_by_currency([(s.currency, s.yearly_cents) for s in found]),
    )


@router.get("/api/v1/seats", tags=["seats"])
async def seats_api(
    request: Request, viewer: ApiViewer, days: int | None = DAYS, product: str | None = PRODUCT
) -> dict[str, Any]:
    """Idle seats with their yearly value (minor units of the asset's currency), and the
    reclaimable total per currency."""
    require(may_see_register(viewer), "seats")
    idle_days, found = await run_in_threadpool(seats, console(request), days, product)
    return {
        "idle_days": idle_days,
        "seats": [{**asdict(s), "last_active": s.last_active.isoformat() if s.last_active else None} for s in found],
        "yearly": [
            {"currency": c, "cents": v} for c, v in totals_by_currency([(s.currency, s.yearly_cents) for s in found])
        ],
    }
