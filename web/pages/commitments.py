"""Commitments (`/commitments`, `/api/v1/commitments`): each cloud commitment with what it
holds and what is left, and its drawdown over time as a chart and a table."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from catalog.db import transaction
from catalog.reports.commitments_view import CommitmentView, DrawdownPoint, commitment_views, drawdown_series
from web.access import may_see_register
from web.charts import line_chart
from web.deps import ApiViewer, Console, PageViewer, console, render, require

router = APIRouter()


def commitments(c: Console) -> list[tuple[CommitmentView, list[DrawdownPoint]]]:
    with transaction(c.engine, read_only=True) as session:
        return [(view, drawdown_series(session, commitment=view)) for view in commitment_views(session)]


def drawdown_chart(view: CommitmentView, points: list[DrawdownPoint]) -> dict[str, Any]:
    return line_chart(
        [p.on.isoformat() for p in points], [("Left", [p.remaining_cents for p in points])], currency=view.currency
    )


@router.get("/commitments", response_class=HTMLResponse, include_in_schema=False)
async def commitments_page(request: Request, viewer: PageViewer) -> Response:
    require(may_see_register(viewer), "commitments")
    rows = await run_in_threadpool(commitments, console(request))
    return render(request, "commitments.html", viewer, rows=[(v, p, drawdown_chart(v, p)) for v, p in rows])


@router.get("/api/v1/commitments", tags=["commitments"])
async def commitments_api(request: Request, viewer: ApiViewer) -> dict[str, Any]:
    """Every commitment (minor units of its currency) with its drawdown over time."""
    require(may_see_register(viewer), "commitments")
    rows = await run_in_threadpool(commitments, console(request))
    return {
        "commitments": [
            {
                **asdict(view),
                "used_percent": view.used_percent,
                "drawdown": [{**asdict(p), "on": p.on.isoformat()} for p in points],
            }
            for view, points in rows
        ]
    }
