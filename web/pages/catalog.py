"""Catalog (`/catalog`, `/api/v1/catalog`): products with their status, alternatives and
owners, for everyone signed in. ITAM edits a product in a form judged by the checks of
`procure catalog check` (catalog/importers/catalog_form.py), each problem shown next to its
field; a saved edit is written as `procure catalog import` writes it, and audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog import repository
from catalog.db import transaction
from catalog.importers.catalog import STATUSES, CatalogEntry
from catalog.importers.catalog_form import FORM_FIELDS, FormCheck, check_form, entry_from_product, form_of, save_product
from web.access import Viewer, may_edit_register
from web.deps import ApiViewer, Console, PageViewer, console, render, require

router = APIRouter()


def _products(c: Console) -> list[CatalogEntry]:
    with transaction(c.engine, read_only=True) as session:
        return [
            entry_from_product(p) for p in sorted(repository.list_products(session), key=lambda p: p.name.casefold())
        ]


def _entry_json(entry: CatalogEntry) -> dict[str, Any]:
    """A product as the API lists it: the entry's fields but its contract terms and file line."""
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in vars(entry).items()
        if name not in ("contract", "line")
    }


@router.get("/catalog", response_class=HTMLResponse, include_in_schema=False)
async def catalog_page(request: Request, viewer: PageViewer) -> Response:
    products = await run_in_threadpool(_products, console(request))
    return render(
        request,
        "catalog.html",
        viewer,
        products=products,
        editor=may_edit_register(viewer),
        notice=request.query_params.get("notice", ""),
    )


@router.get("/api/v1/catalog", tags=["catalog"])
async def catalog_api(request: Request, viewer: ApiViewer) -> dict[str, Any]:
    """Every product of the catalog (list prices in minor units of their currency)."""
    products = await run_in_threadpool(_products, console(request))
    return {"products": [_entry_json(p) for p in products]}


def _current_form(c: Console, product_id: str) -> dict[str, str] | None:
    with transaction(c.engine, read_only=True) as session:
        product = repository.get_product(session, product_id=product_id)
        return form_of(entry_from_product(product)) if product is not None else None


def _save(c: Console, form: dict[str, str], actor: str, *, product_id: str | None) -> tuple[FormCheck, str]:
    """Check and save in one transaction: a form with any problem writes nothing."""
    if product_id is not None:
        form = {**form, "id": product_id}  # the id names the product; it is not edited
    with transaction(c.engine) as session:
        existing = {p.id: list(p.aliases) for p in repository.list_products(session)}
        if product_id is None and form.get("id", "").strip() in existing:
            return FormCheck(None, {"id": [f"a product {form['id'].strip()!r} already exists; edit it instead"]}), ""
        checked = check_form(form, existing=existing)
        if not checked.ok or checked.entry is None:
            return checked, ""
        return checked, save_product(session, entry=checked.entry, actor=actor, at=datetime.now(UTC))


def _edit_page(
    request: Request,
    viewer: Viewer,
    form: dict[str, str],
    *,
    new: bool,
    problems: dict[str, list[str]],
    status: int = 200,
) -> Response:
    return render(
        request,
        "catalog_edit.html",
        viewer,
        status_code=status,
        form=form,
        new=new,
        problems=problems,
        fields=FORM_FIELDS,
        statuses=STATUSES,
    )


@router.get("/catalog/new", response_class=HTMLResponse, include_in_schema=False)
async def new_product_page(request: Request, viewer: PageViewer) -> Response:
    require(may_edit_register(viewer), "catalog editing")
    return _edit_page(request, viewer, {"status": "approved", "currency": "USD"}, new=True, problems={})


@router.get("/catalog/{product_id}/edit", response_class=HTMLResponse, include_in_schema=False)
async def edit_product_page(product_id: str, request: Request, viewer: PageViewer) -> Response:
    require(may_edit_register(viewer), "catalog editing")
    form = await run_in_threadpool(_current_form, console(request), product_id)
    if form is None:
        raise HTTPException(404, f"no product {product_id!r} in the catalog")
    return _edit_page(request, viewer, form, new=False, problems={})


async def _submitted(request: Request) -> dict[str, str]:
    data = await request.form()
    values = {name: str(data.get(name) or "") for name in FORM_FIELDS}
    if "auto_renew_present" in data:  # a checkbox sends nothing when cleared
        values["auto_renew"] = "true" if data.get("auto_renew") else "false"
    if not any(values[k].strip() for k in ("contract_start", "term_months", "notice_days")):
        values["auto_renew"] = ""  # no contract: the checkbox alone does not make one
    return values


@router.post("/catalog/new", include_in_schema=False)
async def create_product(request: Request, viewer: PageViewer) -> Response:
    require(may_edit_register(viewer), "catalog editing")
    form = await _submitted(request)
    checked, outcome = await run_in_threadpool(_save, console(request), form, viewer.email, product_id=None)
    if not outcome:
        return _edit_page(request, viewer, form, new=True, problems=checked.problems, status=422)
    return RedirectResponse(
        f"/catalog?notice={form['id'].strip()}+{outcome}#product-{form['id'].strip()}", status_code=303
    )


@router.post("/catalog/{product_id}/edit", include_in_schema=False)
async def edit_product(product_id: str, request: Request, viewer: PageViewer) -> Response:
    require(may_edit_register(viewer), "catalog editing")
    if await run_in_threadpool(_current_form, console(request), product_id) is None:
        raise HTTPException(404, f"no product {product_id!r} in the catalog")
    form = {**(await _submitted(request)), "id": product_id}
    checked, outcome = await run_in_threadpool(_save, console(request), form, viewer.email, product_id=product_id)
    if not outcome:
        return _edit_page(request, viewer, form, new=False, problems=checked.problems, status=422)
    return RedirectResponse(f"/catalog?notice={product_id}+{outcome}#product-{product_id}", status_code=303)


@router.put("/api/v1/catalog/{product_id}", tags=["catalog"])
async def put_product(product_id: str, body: dict[str, Any], request: Request, viewer: ApiViewer) -> dict[str, Any]:
    """Add or replace one product. The fields are the catalog's (lists as JSON arrays or
    `;`-separated text); 422 lists every problem by field, and nothing is written then."""
    require(may_edit_register(viewer), "catalog editing")
    form = {name: _as_text(body.get(name)) for name in FORM_FIELDS}
    form["id"] = product_id
    exists = await run_in_threadpool(_current_form, console(request), product_id) is not None
    checked, outcome = await run_in_threadpool(
        _save, console(request), form, viewer.email, product_id=product_id if exists else None
    )
    if not outcome:
        raise HTTPException(422, {"problems": checked.problems})
    assert checked.entry is not None  # saved, so it was read without a problem
    return {"outcome": outcome, "product": _entry_json(checked.entry)}


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
