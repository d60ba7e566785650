"""Discovered (`/discovered`, `/discovered/{id}`, `/api/v1/discoveries`): what discovery saw
(catalog/reports/discoveries.py), and ITAM's Adopt / Block / Ignore on it.

A decision is `catalog.repository.discovery_actions.adopt|block|ignore`, the functions the
Slack digest's buttons call, as the viewer's Slack user (they admit ITAM and admins only, and
audit what they record); the Slack digest that shows the product is then redrawn in place by
`DiscoveryDigestRefreshWorkflow` in the worker, which holds the Slack client (docs/decisions.md,
51). The upload of exports is `web/pages/spend_imports.py`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import col, select

from catalog.db import transaction
from catalog.models import Product, ProductStatus
from catalog.money import format_amounts
from catalog.reports import discoveries as report
from catalog.repository import discovery_actions as actions
from web.access import Viewer, may_edit_register, may_see_register, may_upload_spend
from web.deps import MAX_DB_INT, ApiViewer, Console, PageViewer, RowId, console, render, require
from web.pages import page_json

log = logging.getLogger(__name__)
router = APIRouter()

#: As the Slack modals (bot/blocks/discovery.py, REASON_LIMIT; bot/listeners/discovery.py).
REASON_LIMIT = 500
DEFAULT_IGNORE_DAYS = 90
DECISION_ACTIONS = ("adopt", "block", "ignore")
NO_SLACK_USER = "Your directory entry has no Slack user, and discovery decisions are taken as your Slack user."

STATUS = Query(None, max_length=32, description="managed, unmanaged, blocked_in_use, unknown or non_saas.")
COST_CENTER = Query(None, max_length=64, description="Only products some spend was booked to this cost center.")
SEARCH = Query(None, max_length=200, description="In the name, vendor, key or a payer's email.")
OFFSET = Query(0, ge=0, le=MAX_DB_INT, description="Pages of 50: the `next_offset` of this one.")


def _filters(
    status: str | None = STATUS, cost_center: str | None = COST_CENTER, q: str | None = SEARCH
) -> report.DiscoveryFilters:
    """The list's filters from the query string (empty fields of the HTML form mean "any");
    `_page` refuses an unknown status, once the viewer is known to be allowed the list."""
    return report.DiscoveryFilters(status or None, (cost_center or "").strip() or None, (q or "").strip() or None)


Filters = Annotated[report.DiscoveryFilters, Depends(_filters)]
NO_FILTERS = report.DiscoveryFilters()


def _page(c: Console, filters: report.DiscoveryFilters, offset: int) -> report.DiscoveryPage:
    if filters.status and filters.status not in report.SHOWN_STATUSES:
        raise HTTPException(400, f"status must be one of {', '.join(report.SHOWN_STATUSES)}")
    with transaction(c.engine, read_only=True) as session:
        return report.list_discoveries(session, filters=filters, as_of=c.today(), offset=offset)


def row_json(row: report.DiscoveryRow) -> dict[str, Any]:
    data = asdict(row)
    for key in ("first_seen", "last_seen", "suppressed_until"):
        data[key] = data[key].isoformat() if data[key] else None
    data["spend"] = format_amounts(row.spend_cents) or None  # per currency, never summed
    return data


async def render_list(
    request: Request,
    viewer: Viewer,
    *,
    filters: report.DiscoveryFilters = NO_FILTERS,
    offset: int = 0,
    notice: str = "",
    upload: Any = None,
    upload_values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The list with its filters, and the upload form (with `upload`'s problems, if any)."""
    from web.pages.spend_imports import upload_form_context

    page = await run_in_threadpool(_page, console(request), filters, offset)
    query = {
        k: v for k, v in (("status", filters.status), ("cost_center", filters.cost_center), ("q", filters.search)) if v
    }
    return render(
        request,
        "discovered.html",
        viewer,
        status_code=status_code,
        page=page,
        filters=filters,
        statuses=report.SHOWN_STATUSES,
        link=lambda **extra: "/discovered?" + urlencode({**query, **extra}),
        notice=notice,
        may_upload=may_upload_spend(viewer),
        upload=upload,
        upload_values=dict(upload_values or {}),
        **upload_form_context(),
    )


@router.get("/discovered", response_class=HTMLResponse, include_in_schema=False)
async def discovered_page(
    request: Request,
    viewer: PageViewer,
    filters: Filters,
    offset: int = OFFSET,
    notice: str = Query("", max_length=1000, include_in_schema=False),
) -> Response:
    require(may_see_register(viewer), "discovered products")
    return await render_list(request, viewer, filters=filters, offset=offset, notice=notice)


@router.get("/api/v1/discoveries", tags=["discovery"])
async def discoveries_api(
    request: Request,
    viewer: ApiViewer,
    filters: Filters,
    offset: int = OFFSET,
) -> dict[str, Any]:
    """Products seen by discovery (non-SaaS merchants only with `status=non_saas`): status,
    spend in the last 12 months per currency (minor units; never summed across currencies),
    lines, payers, cost centers, first/last seen, SSO users and ITAM's decision. Offset pages
    of 50, blocked products in use first."""
    require(may_see_register(viewer), "discovered products")
    page = await run_in_threadpool(_page, console(request), filters, offset)
    return page_json(page, row_json)


def _detail(c: Console, discovery_id: int) -> tuple[report.DiscoveryDetail, list[tuple[str, str]]]:
    with transaction(c.engine, read_only=True) as session:
        detail = report.discovery_detail(session, discovery_id=discovery_id, as_of=c.today())
        approved = session.exec(
            select(Product).where(col(Product.status) == ProductStatus.APPROVED).order_by(col(Product.name))
        ).all()
        alternatives = [(p.id, p.name) for p in approved]
    if detail is None:
        raise HTTPException(404, f"no discovered product {discovery_id}")
    return detail, alternatives


def _detail_page(
    request: Request,
    viewer: Viewer,
    detail: report.DiscoveryDetail,
    alternatives: list[tuple[str, str]],
    *,
    form: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    failed: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "discovery.html",
        viewer,
        status_code=status_code,
        detail=detail,
        row=detail.row,
        alternatives=alternatives,
        may_decide=may_edit_register(viewer) and detail.row.id is not None,
        form=dict(form or {}),
        errors=dict(errors or {}),
        failed=failed,  # which action's form the errors are about
        notice=request.query_params.get("notice", ""),
        default_days=DEFAULT_IGNORE_DAYS,
        max_days=actions.MAX_SUPPRESS_DAYS,
    )


@router.get("/discovered/{discovery_id}", response_class=HTMLResponse, include_in_schema=False)
async def discovery_page(request: Request, viewer: PageViewer, discovery_id: RowId) -> Response:
    require(may_see_register(viewer), "discovered products")
    detail, alternatives = await run_in_threadpool(_detail, console(request), discovery_id)
    return _detail_page(request, viewer, detail, alternatives)


@router.get("/api/v1/discoveries/{discovery_id}", tags=["discovery"])
async def discovery_api(request: Request, viewer: ApiViewer, discovery_id: RowId) -> dict[str, Any]:
    """One product seen, with the spend lines behind it (newest first, at most 200)."""
    require(may_see_register(viewer), "discovered products")
    detail, _ = await run_in_threadpool(_detail, console(request), discovery_id)
    return {
        **row_json(detail.row),
        "spend_lines": [{**asdict(v), "spent_on": v.spent_on.isoformat()} for v in detail.spend_lines],
        "spend_lines_truncated": detail.truncated,
    }


# --- decisions ---------------------------------------------------------------------------


@dataclass
class DecisionAnswer:
    ok: bool
    message: str
    errors: dict[str, str] = field(default_factory=dict)  # field → what is wrong with it
    digest_refresh: str | None = None  # the workflow redrawing the Slack digest, if one shows it
    invalid: bool = False  # the fields are wrong (nothing was tried), not a refusal


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value).strip()


def check_decision(action: str, raw: Mapping[str, Any], alternatives: list[str]) -> dict[str, str]:
    """What is wrong with a decision's fields, by field (the Slack modals' checks)."""
    errors: dict[str, str] = {}
    if action in ("block", "ignore") and not _text(raw, "reason"):
        errors["reason"] = "Say why."
    if len(_text(raw, "reason")) > REASON_LIMIT:
        errors["reason"] = f"At most {REASON_LIMIT} characters."
    if action == "block" and not alternatives:
        errors["alternatives"] = "Pick at least one approved product to use instead."
    if action == "ignore":
        days = _text(raw, "days")
        if not days.isdecimal() or not 1 <= int(days) <= actions.MAX_SUPPRESS_DAYS:
            errors["days"] = f"A whole number of days, 1 to {actions.MAX_SUPPRESS_DAYS}."
    return errors


def _record(
    c: Console, discovery_id: int, action: str, slack_id: str, raw: Mapping[str, Any], alternatives: list[str]
) -> actions.Outcome:
    at = datetime.now(UTC)
    with transaction(c.engine) as session:
        row = report.get_discovery(session, discovery_id=discovery_id)
        if row is None:
            raise HTTPException(404, f"no discovered product {discovery_id}")
        if action == "adopt":
            return actions.adopt(session, key=row.key, actor_slack_id=slack_id, as_of=c.today(), at=at)
        reason = _text(raw, "reason")
        if action == "block":
            return actions.block(
                session, key=row.key, actor_slack_id=slack_id, reason=reason, alternatives=alternatives, at=at
            )
        days = int(_text(raw, "days"))
        return actions.ignore(
            session, key=row.key, actor_slack_id=slack_id, reason=reason, days=days, as_of=c.today(), at=at
        )


async def decide(
    c: Console, viewer: Viewer, discovery_id: int, action: str, raw: Mapping[str, Any], alternatives: list[str]
) -> DecisionAnswer:
    """Adopt, block or ignore one discovered product as `viewer`, then have the Slack digest
    that shows it redrawn. A refusal (role, an earlier decision) changes nothing."""
    if not may_edit_register(viewer):
        raise HTTPException(403, "only the ITAM team and admins may decide on discovered products")
    if action not in DECISION_ACTIONS:
        raise HTTPException(404, f"no action {action!r}: use {', '.join(DECISION_ACTIONS)}")
    errors = check_decision(action, raw, alternatives)
    if errors:
        return DecisionAnswer(False, "Nothing was recorded; see the fields marked.", errors, invalid=True)
    if not viewer.slack_user_id:
        return DecisionAnswer(False, NO_SLACK_USER)
    outcome = await run_in_threadpool(_record, c, discovery_id, action, viewer.slack_user_id, raw, alternatives)
    if not outcome.ok:
        field_name = "reason" if action != "adopt" else ""
        return DecisionAnswer(False, outcome.message, {field_name: outcome.message} if field_name else {})
    answer = DecisionAnswer(True, outcome.message)
    if outcome.digest is not None:
        channel, ts = outcome.digest
        try:
            from workflows.discovery import start_digest_refresh

            procurement = await c.temporal()
            answer.digest_refresh = await start_digest_refresh(
                procurement.temporal, task_queue=c.settings.temporal_task_queue, channel=channel, ts=ts, as_of=c.today()
            )
        except Exception as error:  # the decision stands; the next digest shows it
            log.warning("discovery digest %s/%s not redrawn: %s", channel, ts, error)
            answer.message += (
                " The Slack digest could not be redrawn now (Temporal unreachable); the next one shows it."
            )
    return answer


@router.post("/discovered/{discovery_id}/{action}", include_in_schema=False)
async def decide_page(request: Request, viewer: PageViewer, discovery_id: RowId, action: str) -> Response:
    c = console(request)
    form = await request.form()
    raw = {k: form.get(k) for k in ("reason", "days")}
    chosen = [str(v) for v in form.getlist("alternatives") if str(v).strip()]
    answer = await decide(c, viewer, discovery_id, action, raw, chosen)
    if answer.ok:
        return RedirectResponse(f"/discovered/{discovery_id}?" + urlencode({"notice": answer.message}), status_code=303)
    detail, alternatives = await run_in_threadpool(_detail, c, discovery_id)
    errors = answer.errors or {"": answer.message}
    shown = {**raw, "alternatives": chosen}
    return _detail_page(
        request, viewer, detail, alternatives, form=shown, errors=errors, failed=action, status_code=422
    )


class DecisionBody(BaseModel):
    reason: str = Field("", max_length=2000, description="Block and Ignore: why (required).")
    alternatives: list[str] = Field(
        default_factory=list, max_length=100, description="Block: approved catalog ids to use instead."
    )
    days: int | None = Field(None, description="Ignore: leave it alone for this many days (1 to 365).")


@router.post("/api/v1/discoveries/{discovery_id}/{action}", tags=["discovery"])
async def decide_api(
    request: Request,
    viewer: ApiViewer,
    discovery_id: RowId,
    action: Literal["adopt", "block", "ignore"],
    body: DecisionBody | None = None,
) -> dict[str, Any]:
    """Adopt, Block or Ignore a discovered product, as the Slack digest's buttons do (ITAM and
    admin only; the Slack digest that lists it is redrawn in place). 422 names each field that
    is wrong (`errors`); a refusal (e.g. already adopted) is 409."""
    given = body or DecisionBody(reason="", days=None)
    raw = {"reason": given.reason, "days": "" if given.days is None else str(given.days)}
    answer = await decide(console(request), viewer, discovery_id, action, raw, given.alternatives)
    if answer.invalid:
        raise HTTPException(422, {"errors": answer.errors})
    if not answer.ok:
        raise HTTPException(409, answer.message)
    return {"ok": True, "message": answer.message, "digest_refresh": answer.digest_refresh}
