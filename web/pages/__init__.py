"""The console's pages: one module per area, each exposing `router` (HTML page + `/api/v1/` twin)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from catalog.reports.paging import OffsetPage
from web.access import may_see_register
from web.deps import PageViewer, render, require

RowT = TypeVar("RowT")


def page_json(page: OffsetPage[RowT], row_json: Callable[[RowT], dict[str, Any]]) -> dict[str, Any]:
    """An offset page as the `/api/v1/` lists return it: its rows (`items`) and where the next one starts."""
    return {
        "items": [row_json(row) for row in page.rows],
        "total": page.total,
        "offset": page.offset,
        "limit": page.limit,
        "next_offset": page.next_offset,
    }


class Monthly(Protocol):
    """A month of a month-by-month report (`catalog.reports.budgets`, `….commitments`)."""

    @property
    def month(self) -> date: ...


def month_labels(months: Iterable[Monthly]) -> list[str]:
    """The x axis of a month-by-month chart: "Jan 2027", "Feb 2027", …"""
    return [m.month.strftime("%b %Y") for m in months]


def placeholder_router(path: str, heading: str, *, register: bool) -> APIRouter:
    """A page that is not built yet: signed-in (and, for `register`, role-checked) like the real one."""
    router = APIRouter()

    @router.get(path, response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request, viewer: PageViewer) -> HTMLResponse:
        if register:
            require(may_see_register(viewer), heading.lower())
        return render(request, "placeholder.html", viewer, heading=heading)

    return router
