"""Commitments (`/commitments`, `/api/v1/commitments`): each cloud commitment with what it
holds and what is left, and its drawdown month by month against the straight line that would
use it all by its end (`catalog.reports.commitments`), as a chart and a table."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from catalog.db import transaction
from catalog.reports.commitments import CommitmentSeries, commitment_series
from catalog.rules.budget import PROVIDER_LABELS
from web.access import may_see_register
from web.charts import line_chart
from web.deps import ApiViewer, Console, PageViewer, console, render, require
from web.pages import month_labels

router = APIRouter()


def commitments(c: Console) -> list[CommitmentSeries]:
    with transaction(c.engine, read_only=True) as session:
        return commitment_series(session, as_of=c.today())


def drawdown_chart(series: CommitmentSeries) -> dict[str, Any]:
    return line_chart(
        month_labels(series.months),
        [
            ("Approved here", [m.drawn_cents for m in series.months]),
            ("Billed", [m.billed_cents for m in series.months]),
            ("On track to use it all", [m.on_track_cents for m in series.months]),
        ],
        currency=series.currency,
    )


@router.get("/commitments", response_class=HTMLResponse, include_in_schema=False)
async def commitments_page(request: Request, viewer: PageViewer) -> Response:
    require(may_see_register(viewer), "commitments")
    found = await run_in_threadpool(commitments, console(request))
    rows = [(s, drawdown_chart(s)) for s in found]
    return render(request, "commitments.html", viewer, rows=rows, provider_labels=PROVIDER_LABELS)


@router.get("/api/v1/commitments", tags=["commitments"])
async def commitments_api(request: Request, viewer: ApiViewer) -> dict[str, Any]:
    """Every commitment (minor units of its currency) with its drawdown month by month."""
    require(may_see_register(viewer), "commitments")
    return {"commitments": [asdict(s) for s in await run_in_threadpool(commitments, console(request))]}
