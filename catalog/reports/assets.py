"""The asset register as the console lists it: search, filters and keyset pagination, and the
export record (`procure assets export` and the console's CSV write the same columns).

Keyset pagination: a page ends with a cursor (the last row's sort key and id); the next page
starts after it, so page 2,000 of 100,000 contracts costs what page 1 does, and a contract
added meanwhile never shifts a row onto two pages. Reads only; the session is passed in."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from catalog.models import Asset, Contract

MAX_PAGE = 200
#: Export columns: our field names, so an export imports back unchanged (`id`, `request_id` and
#: `annual_cost_cents` are for reading; import derives them).
EXPORT_COLUMNS = (
    "id",
    "external_id",
    "request_id",
    "product",
    "vendor",
    "product_id",
    "owner_email",
    "cost_center",
    "channel",
    "seats",
    "unit_price_cents",
    "annual_cost_cents",
    "currency",
    "start_date",
    "term_months",
    "billing_period",
    "auto_renew",
    "notice_days",
    "notice_basis",
    "renewal_date",
)
_FAR_FUTURE = date(9999, 12, 31)
#: Sort keys of the register; every one is ascending and ties break on the asset id.
SORTS: dict[str, Any] = {
    "id": None,
    "product": col(Asset.product_name),  # as stored: the cursor compares in the database's own collation
    "renewal": func.coalesce(col(Contract.renewal_date), _FAR_FUTURE),
    "cost": col(Asset.annual_cost_cents),
}


class RegisterInputError(ValueError):
    """A filter, sort or cursor the register does not understand."""


def register_record(asset: Asset, contract: Contract | None) -> dict[str, Any]:
    """One asset with its contract terms, under the export's column names."""
    return {
        "id": asset.id,
        "external_id": asset.external_id,
        "request_id": asset.request_id,
        "product": asset.product_name,
        "vendor": asset.vendor,
        "product_id": asset.product_id,
        "owner_email": asset.owner_email,
        "cost_center": asset.cost_center,
        "channel": asset.channel,
        "seats": asset.seats,
        "unit_price_cents": asset.unit_price_cents,
        "annual_cost_cents": asset.annual_cost_cents,
        "currency": asset.currency,
        "start_date": contract.start_date.isoformat() if contract else None,
        "term_months": contract.term_months if contract else None,
        "billing_period": contract.billing_period if contract else None,
        "auto_renew": contract.auto_renew if contract else None,
        "notice_days": contract.notice_days if contract else None,
        "notice_basis": contract.notice_basis if contract else None,
        "renewal_date": contract.renewal_date.isoformat() if contract else None,
    }


@dataclass(frozen=True)
class AssetFilters:
    search: str | None = None  # part of the product, vendor, owner or cost center
    product: str | None = None  # catalog id or exact name (any case)
    vendor: str | None = None
    owner: str | None = None  # email
    cost_center: str | None = None
    channel: str | None = None
    auto_renew: bool | None = None
    renewing_before: date | None = None  # the contract's renewal date is before this day


@dataclass(frozen=True)
class AssetPage:
    rows: list[tuple[Asset, Contract | None]]
    next_cursor: str | None
    sort: str


def _where(filters: AssetFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.search:
        text = filters.search.strip().lower()
        where.append(
            or_(
                *(
                    func.lower(column).contains(text, autoescape=True)
                    for column in (
                        col(Asset.product_name),
                        col(Asset.vendor),
                        col(Asset.owner_email),
                        col(Asset.cost_center),
                    )
                )
            )
        )
    if filters.product:
        name = filters.product.strip()
        where.append(or_(col(Asset.product_id) == name, func.lower(col(Asset.product_name)) == name.lower()))
    if filters.vendor:
        where.append(func.lower(col(Asset.vendor)) == filters.vendor.strip().lower())
    if filters.owner:
        where.append(col(Asset.owner_email) == filters.owner.strip().lower())
    if filters.cost_center:
        where.append(col(Asset.cost_center) == filters.cost_center.strip())
    if filters.channel:
        where.append(col(Asset.channel) == filters.channel.strip())
    if filters.auto_renew is not None:
        where.append(col(Contract.auto_renew) == filters.auto_renew)
    if filters.renewing_before is not None:
        where.append(col(Contract.renewal_date) < filters.renewing_before)
    return where


def encode_cursor(key: Any, asset_id: int) -> str:
    value = key.isoformat() if isinstance(key, date) else key
    return base64.urlsafe_b64encode(json.dumps([value, asset_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        key, asset_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(asset_id, int):
            raise TypeError
        if sort == "renewal":
            key = date.fromisoformat(key)
        elif sort == "cost" and not isinstance(key, int):
            raise TypeError
    except (ValueError, TypeError, binascii.Error):
        raise RegisterInputError("the page cursor is not one this register made; start from the first page") from None
    return key, asset_id


def _sort_key(sort: str, asset: Asset, contract: Contract | None) -> Any:
    if sort == "product":
        return asset.product_name
    if sort == "renewal":
        return contract.renewal_date if contract else _FAR_FUTURE
    if sort == "cost":
        return asset.annual_cost_cents
    return None


def list_register(
    session: Session,
    *,
    filters: AssetFilters,
    sort: str = "product",
    cursor: str | None = None,
    limit: int = 50,
) -> AssetPage:
    """One page of the register after `cursor` (None: the first page)."""
    if sort not in SORTS:
        raise RegisterInputError(f"sort {sort!r}: sort by one of {', '.join(SORTS)}")
    if not 1 <= limit <= MAX_PAGE:
        raise RegisterInputError(f"limit must be 1–{MAX_PAGE}")
    key = SORTS[sort]
    statement = sa_select(Asset, Contract).outerjoin(Contract, col(Contract.asset_id) == col(Asset.id))
    where = _where(filters)
    if cursor:
        last_key, last_id = _decode_cursor(cursor, sort)
        after_id = col(Asset.id) > last_id
        where.append(after_id if key is None else or_(key > last_key, and_(key == last_key, after_id)))
    order = [col(Asset.id)] if key is None else [key, col(Asset.id)]
    statement = statement.where(true(), *where).order_by(*order).limit(limit + 1)
    found = [(asset, contract) for asset, contract in session.execute(statement).all()]
    rows = found[:limit]
    next_cursor = None
    if len(found) > limit:
        asset, contract = rows[-1]
        assert asset.id is not None
        next_cursor = encode_cursor(_sort_key(sort, asset, contract), asset.id)
    return AssetPage(rows=rows, next_cursor=next_cursor, sort=sort)


def iter_register(session: Session, *, filters: AssetFilters, batch: int = MAX_PAGE) -> Iterator[dict[str, Any]]:
    """Every asset matching `filters` as an export record, in id order, a page at a time."""
    cursor: str | None = None
    while True:
        page = list_register(session, filters=filters, sort="id", cursor=cursor, limit=batch)
        for asset, contract in page.rows:
            yield register_record(asset, contract)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
