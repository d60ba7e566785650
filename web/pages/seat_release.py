"""Ask to release, from `/seats`: start the seat release workflow for one seat (its holder
is asked Keep / Release in Slack, as reuse first's reclaim asks; docs/decisions.md, 49).
Only the ITAM team and admins may ask (finance and FinOps see the seats, they do not ask);
asking again while the ask runs is the same ask. The button is `seat_release_button.html`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from catalog.db import transaction
from catalog.models import SeatAssignment
from web.access import Viewer, may_edit_register
from web.deps import ApiViewer, Console, PageViewer, RowId, console
from workflows.seat_release.client import SeatReleaseClient
from workflows.seat_release.types import SeatReleaseInput

router = APIRouter()


def _holder(c: Console, seat_id: int) -> str | None:
    with transaction(c.engine, read_only=True) as session:
        seat = session.get(SeatAssignment, seat_id)
        return seat.person_email if seat is not None else None


async def ask_to_release(c: Console, viewer: Viewer, seat_id: int) -> dict[str, Any]:
    """Start (or find running) the release of `seat_id`, asked by `viewer`."""
    if not may_edit_register(viewer):
        raise HTTPException(403, "only the ITAM team and admins may ask to release a seat")
    holder = await run_in_threadpool(_holder, c, seat_id)
    if holder is None:
        raise HTTPException(404, f"seat {seat_id} is not assigned to anyone (released already?)")
    procurement = await c.temporal()
    releases = SeatReleaseClient(procurement.temporal, task_queue=c.settings.temporal_task_queue)
    ask = SeatReleaseInput(seat_id, viewer.email, c.settings.reclaim_timeout_days)
    outcome = await releases.ask(ask)
    message = (
        f"Asked {holder} in Slack whether they still use the seat."
        if outcome.started
        else f"{holder} was already asked; waiting for their answer."
    )
    return {"seat_id": seat_id, "holder": holder, "started": outcome.started, "message": message}


@router.post("/seats/{seat_id}/release-ask", include_in_schema=False)
async def ask_page(request: Request, viewer: PageViewer, seat_id: RowId) -> RedirectResponse:
    asked = await ask_to_release(console(request), viewer, seat_id)
    return RedirectResponse("/seats?" + urlencode({"notice": asked["message"]}), status_code=303)


@router.post("/api/v1/seats/{seat_id}/release-ask", tags=["seats"])
async def ask_api(request: Request, viewer: ApiViewer, seat_id: RowId) -> dict[str, Any]:
    """Ask the seat's holder in Slack to keep or release it (ITAM and admin only). `started`
    is false when an ask for this seat is already waiting for its answer (the same ask)."""
    return await ask_to_release(console(request), viewer, seat_id)
