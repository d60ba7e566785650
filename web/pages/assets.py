"""`/assets`, `/assets/{id}` and their API twins: the register (search, filters, keyset
pagination, formula-safe CSV), one contract with its seats, renewal plan and audit trail, and
the edit form. Editing is `register_edit.edit_contract`, what `procure assets edit` runs: the
same validation and audit, and a date change re-arms the renewal reminders.

Contract costs: only for the roles that see everything (web/access.py); editing: itam, admin."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from catalog import repository
from catalog.db import transaction
from catalog.importers.csv_safe import render_csv
from catalog.money import format_money, parse_money
from catalog.reports import assets as register
from catalog.repository.register_edit import edit_contract
from catalog.repository.reminders import list_reminders, plan_contract
from catalog.repository.renewal_register import contract_audit, renewal_outlook
from web.access import Viewer, may_edit_register, may_see_register
from web.deps import ApiViewer, Console, PageViewer, RowId, console, describe_change, render, require

router = APIRouter()

PAGE_SIZE = 50
EDITABLE = ("renewal_date", "start_date", "term_months", "notice_days", "notice_basis", "auto_renew", "seats")


def _day(name: str, text: str | None) -> date | None:
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(400, f"{name} must be a date like 2027-01-31, not {text!r}") from None


def asset_query(
    q: str | None = None,
    product: str | None = None,
    vendor: str | None = None,
    owner: str | None = None,
    cost_center: str | None = None,
    channel: str | None = None,
    auto_renew: str | None = None,
    renewing_before: str | None = None,
) -> register.AssetFilters:
    """The register's filters from the query string (`auto_renew`: yes / no; empty: any)."""
    if auto_renew not in (None, "", "yes", "no"):
        raise HTTPException(400, f"auto_renew must be yes or no, not {auto_renew!r}")
    return register.AssetFilters(
        search=q or None,
        product=product or None,
        vendor=vendor or None,
        owner=owner or None,
        cost_center=cost_center or None,
        channel=channel or None,
        auto_renew=None if not auto_renew else auto_renew == "yes",
        renewing_before=_day("renewing_before", renewing_before),
    )


Filters = Annotated[register.AssetFilters, Depends(asset_query)]


def _register_viewer(viewer: Viewer) -> None:
    require(may_see_register(viewer), "the asset register (contract costs are for ITAM, finance and FinOps)")


def _list(
    c: Console, filters: register.AssetFilters, sort: str, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    calendar = c.settings.holiday_calendar()
    today = c.today()
    try:
        with transaction(c.engine, read_only=True) as session:
            page = register.list_register(session, filters=filters, sort=sort, cursor=cursor, limit=PAGE_SIZE)
    except register.RegisterInputError as error:
        raise HTTPException(400, str(error)) from None
    items = []
    for asset, contract in page.rows:
        plan = plan_contract(contract, as_of=today, calendar=calendar) if contract else None
        items.append(
            {
                **register.register_record(asset, contract),
                "annual_cost": format_money(asset.annual_cost_cents, asset.currency),
                "next_renewal": plan.renewal_date.isoformat() if plan else None,
                "notice_deadline": plan.deadline.isoformat() if plan else None,
            }
        )
    return items, page.next_cursor


@router.get("/assets", response_class=HTMLResponse, include_in_schema=False)
async def assets_page(
    request: Request, viewer: PageViewer, filters: Filters, sort: str = "product", cursor: str | None = None
) -> HTMLResponse:
    _register_viewer(viewer)
    items, next_cursor = await run_in_threadpool(_list, console(request), filters, sort, cursor)
    query = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    return render(
        request,
        "assets.html",
        viewer,
        items=items,
        next_cursor=next_cursor,
        query=query,
        filters=filters,
        sort=sort,
        first_page=cursor is None,
    )


@router.get("/api/v1/assets", tags=["assets"])
async def assets_api(
    request: Request, viewer: ApiViewer, filters: Filters, sort: str = "product", cursor: str | None = None
) -> dict[str, Any]:
    """The register, 50 at a time: search (`q`), filters (product, vendor, owner, cost center,
    channel, auto_renew yes/no, renewing_before YYYY-MM-DD), `sort` (product, renewal, cost, id);
    pass `next_cursor` back as `cursor` for the next page."""
    _register_viewer(viewer)
    items, next_cursor = await run_in_threadpool(_list, console(request), filters, sort, cursor)
    return {"items": items, "next_cursor": next_cursor}


def _csv(c: Console, filters: register.AssetFilters) -> str:
    with transaction(c.engine, read_only=True) as session:
        return render_csv(register.EXPORT_COLUMNS, list(register.iter_register(session, filters=filters)))


@router.get("/assets.csv", include_in_schema=False)
@router.get("/api/v1/assets.csv", tags=["assets"])
async def assets_csv(request: Request, viewer: ApiViewer, filters: Filters) -> Response:
    """The filtered register as CSV, the columns of `procure assets export`; cells that a
    spreadsheet would run as a formula are written as text (catalog/importers/csv_safe.py).
    The body starts with a UTF-8 byte-order mark: without it Excel reads the file in the
    machine's code page and garbles accented names (`procure assets import` skips the mark)."""
    _register_viewer(viewer)
    body = "\ufeff" + await run_in_threadpool(_csv, console(request), filters)
    headers = {"Content-Disposition": 'attachment; filename="assets.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


def _detail(c: Console, asset_id: int) -> dict[str, Any]:
    with transaction(c.engine, read_only=True) as session:
        asset = repository.get_asset(session, asset_id=asset_id)
        if asset is None:
            raise HTTPException(404, f"asset {asset_id} does not exist")
        contract = repository.get_contract(session, asset_id=asset_id)
        outlook = None
        reminders: list[dict[str, Any]] = []
        events = list(repository.list_asset_audit(session, asset_id=asset_id))
        if contract is not None and contract.id is not None:
            outlook = renewal_outlook(
                session, asset=asset, contract=contract, as_of=c.today(), calendar=c.settings.holiday_calendar()
            )
            events += contract_audit(session, contract_id=contract.id)
            reminders = [
                {
                    "due_on": r.due_on.isoformat(),
                    "deadline": r.deadline.isoformat(),
                    "renewal_date": r.renewal_date.isoformat(),
                    "sent_at": c.local(r.sent_at) if r.sent_at else None,
                    "channel_ts": r.channel_ts,
                    "dm_ts": r.dm_ts,
                }
                for r in list_reminders(session, contract_id=contract.id)
            ]
        seats = repository.list_seats(session, asset_id=asset_id)
        names = repository.names_of(session, emails=[s.person_email for s in seats])
        return {
            **register.register_record(asset, contract),
            "annual_cost": format_money(asset.annual_cost_cents, asset.currency),
            "unit_price": format_money(asset.unit_price_cents, asset.currency),
            "renewal": outlook.as_json() if outlook else None,
            "reminders": reminders,
            "seats_assigned": [
                {
                    "email": s.person_email,
                    "name": names.get(s.person_email),
                    "last_active": s.last_active.isoformat() if s.last_active else None,
                }
                for s in seats
            ],
            "audit": [
                {"at": c.local(e.at), "action": e.action, "actor": e.actor, "detail": e.detail}
                for e in sorted(events, key=lambda e: (e.at, e.id or 0))
            ],
        }


@router.get("/assets/{asset_id}", response_class=HTMLResponse, include_in_schema=False)
async def asset_page(request: Request, viewer: PageViewer, asset_id: RowId, saved: str = "") -> HTMLResponse:
    _register_viewer(viewer)
    detail = await run_in_threadpool(_detail, console(request), asset_id)
    return render(request, "asset.html", viewer, a=detail, form=_form_values(detail), errors={}, saved=saved)


@router.get("/api/v1/assets/{asset_id}", tags=["assets"])
async def asset_api(request: Request, viewer: ApiViewer, asset_id: RowId) -> dict[str, Any]:
    """One asset: contract terms, next renewal and decisions, reminders sent, seat holders with
    their last activity, and the asset's and its contract's audit trail."""
    _register_viewer(viewer)
    return await run_in_threadpool(_detail, console(request), asset_id)


class AssetEdit(BaseModel):
    """What `procure assets edit` can change; fields left out stay as they are."""

    renewal_date: date | None = None
    start_date: date | None = None
    term_months: int | None = None
    notice_days: int | None = None
    notice_basis: str | None = None
    auto_renew: bool | None = None
    seats: int | None = None  # null given: usage-based (no seat count; the unit price is the yearly value)
    unit_price_cents: int | None = None
    owner_email: str | None = None


class EditRefused(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _edit(c: Console, viewer: Viewer, asset_id: int, values: dict[str, Any]) -> dict[str, list[Any]]:
    if values.get("notice_basis") not in (None, "calendar", "business"):
        raise EditRefused("notice_basis", "notice_basis: must be calendar or business")
    try:
        with transaction(c.engine) as session:
            change = edit_contract(
                session,
                asset_id=asset_id,
                values=values,
                actor=viewer.email,
                at=datetime.now(UTC),
                calendar=c.settings.holiday_calendar(),
            )
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    except repository.AssetEditError as error:
        raise EditRefused(error.field, str(error)) from None
    return {name: [_plain(old), _plain(new)] for name, (old, new) in sorted(change.changes.items())}


def _currency(c: Console, asset_id: int) -> str | None:
    with transaction(c.engine, read_only=True) as session:
        asset = repository.get_asset(session, asset_id=asset_id)
        return asset.currency if asset else None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


@router.patch("/api/v1/assets/{asset_id}", tags=["assets"])
async def edit_api(request: Request, viewer: ApiViewer, asset_id: RowId, body: AssetEdit) -> dict[str, Any]:
    """Change a contract as `procure assets edit` does (validated, audited with before/after;
    a date change re-arms its renewal reminders). Returns what changed: `{field: [old, new]}`."""
    require(may_edit_register(viewer), "editing the register (ITAM and admins edit it)")
    # `"seats": null` given: a usage-based contract (docs/decisions.md, 52); other nulls: unchanged.
    values = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k == "seats"}
    try:
        changes = await run_in_threadpool(_edit, console(request), viewer, asset_id, values)
    except EditRefused as error:
        raise HTTPException(422, {"field": error.field, "message": str(error)}) from None
    return {"asset_id": asset_id, "changes": changes}


def _form_values(detail: dict[str, Any]) -> dict[str, str]:
    values = {name: "" if detail.get(name) is None else str(detail[name]) for name in EDITABLE}
    values["auto_renew"] = "yes" if detail.get("auto_renew") else "no"
    values["unit_price"] = f"{detail['unit_price_cents'] / 100:.2f}"
    values["owner_email"] = str(detail["owner_email"])
    return values


def _form_to_values(form: dict[str, str]) -> dict[str, Any]:
    """The edit form's fields as `edit_contract` values; EditRefused names a field it cannot read."""
    values: dict[str, Any] = {}
    for name in ("renewal_date", "start_date"):
        if form.get(name, "").strip():
            try:
                values[name] = date.fromisoformat(form[name].strip())
            except ValueError:
                raise EditRefused(name, f"{name}: write a date like 2027-01-31") from None
    if "seats" in form and not form["seats"].strip():
        values["seats"] = None  # emptied: a usage-based contract, no seat count (docs/decisions.md, 52)
    for name in ("term_months", "notice_days", "seats"):
        if form.get(name, "").strip():
            text = form[name].strip()
            try:  # int() reads the number as the CLI does; "²" passed str.isdigit() and then was a 500
                values[name] = int(text)
            except ValueError:
                raise EditRefused(name, f"{name}: write a whole number") from None
    if form.get("notice_basis"):
        values["notice_basis"] = form["notice_basis"]
    if form.get("auto_renew") in ("yes", "no"):
        values["auto_renew"] = form["auto_renew"] == "yes"
    if form.get("unit_price", "").strip():
        if re.search(r"[^\d\s.,-]", form["unit_price"]):  # "12 EUR" or "€12" on a USD contract
            raise EditRefused(
                "unit_price_cents",
                "unit price: write the amount only, in the contract's currency (the one in the label), "
                "without a currency sign or code, like 12.50",
            )
        try:
            values["unit_price_cents"] = parse_money(form["unit_price"])
        except ValueError as error:
            raise EditRefused("unit_price_cents", f"unit price: {error}") from None
    if form.get("owner_email", "").strip():
        values["owner_email"] = form["owner_email"].strip()
    return values


@router.post("/assets/{asset_id}", response_class=HTMLResponse, include_in_schema=False)
async def edit_page(request: Request, viewer: PageViewer, asset_id: RowId) -> Response:
    _register_viewer(viewer)
    require(may_edit_register(viewer), "editing the register (ITAM and admins edit it)")
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    c = console(request)
    try:
        changes = await run_in_threadpool(_edit, c, viewer, asset_id, _form_to_values(form))
    except EditRefused as error:
        detail = await run_in_threadpool(_detail, c, asset_id)
        field = "unit_price" if error.field == "unit_price_cents" else error.field
        return render(
            request,
            "asset.html",
            viewer,
            status_code=400,
            a=detail,
            form={**_form_values(detail), **form},
            errors={field: str(error)},
            saved="",
        )
    before = {name: old for name, (old, _) in changes.items()}
    after = {name: new for name, (_, new) in changes.items()}
    saved = describe_change(before, after, await run_in_threadpool(_currency, c, asset_id)) or "nothing changed"
    return Response(status_code=303, headers={"Location": f"/assets/{asset_id}?" + urlencode({"saved": saved})})
