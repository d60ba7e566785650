"""Import and edit of the asset register, each audited with the values before and after."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from catalog.models import Asset, Contract, Product
from catalog.repository.assets import get_asset, get_asset_by_external_id, get_asset_for_request, get_contract
from catalog.repository.audit import audit, change_detail, change_key, changes_of, jsonable
from catalog.repository.keyed import insert_once
from catalog.rules.assets import MAX_STORED_CENTS, AssetRecord, normalise_email
from catalog.rules.renewals import ContractTerms, RenewalInputError
from catalog.rules.requests import MAX_SEATS
from catalog.rules.usage_based import units

ASSET_FIELDS = ("product_name", "vendor", "product_id", "owner_email", "cost_center", "channel", "seats",
                "unit_price_cents", "annual_cost_cents", "currency")  # fmt: skip
CONTRACT_FIELDS = ("start_date", "term_months", "billing_period", "auto_renew", "notice_days", "notice_basis",
                   "renewal_date")  # fmt: skip
#: Contract fields whose change moves the renewal calendar (and so re-arms reminders).
CONTRACT_DATE_FIELDS = frozenset({"start_date", "term_months", "auto_renew", "notice_days", "notice_basis",
                                  "renewal_date"})  # fmt: skip


@dataclass(frozen=True)
class AssetChange:
    """What one import row or edit did: `action` is created, updated or unchanged."""

    action: str
    asset_id: int
    contract_id: int
    changes: dict[str, tuple[Any, Any]]

    @property
    def contract_dates_changed(self) -> bool:
        return self.action == "updated" and bool(CONTRACT_DATE_FIELDS & self.changes.keys())


def import_asset(session: Session, *, record: AssetRecord, actor: str, at: datetime) -> AssetChange:
    """Create or update the asset keyed by `record.external_id` (or, for a row exported from an
    asset recorded for a request, by its request id), with its contract; audited.

    Re-importing the same record writes nothing (no row, no audit event)."""
    product_id = record.product_id
    if product_id is None:
        match = session.exec(
            select(Product.id).where(func.lower(Product.name) == record.product_name.casefold())
        ).first()
        product_id = match
    asset_values: dict[str, Any] = {
        "product_name": record.product_name,
        "vendor": record.vendor,
        "product_id": product_id,
        "owner_email": record.owner_email,
        "cost_center": record.cost_center,
        "channel": record.channel,
        "seats": record.seats,
        "unit_price_cents": record.unit_price_cents,
        "annual_cost_cents": record.annual_cost_cents,
        "currency": record.currency,
    }
    contract_values: dict[str, Any] = {name: getattr(record, name) for name in CONTRACT_FIELDS}
    # A row exported from an asset the bot recorded for a request is that asset again.
    asset = get_asset_for_request(session, request_id=record.request_id) if record.request_id else None
    if asset is None:
        asset = get_asset_by_external_id(session, external_id=record.external_id)
    if asset is None:
        asset = insert_once(
            session,
            Asset(external_id=record.external_id, created_at=at, **asset_values),
            lambda: get_asset_by_external_id(session, external_id=record.external_id),
        )
        assert asset.id is not None
        asset_id = asset.id
        created = insert_once(
            session, Contract(asset_id=asset_id, **contract_values), lambda: get_contract(session, asset_id=asset_id)
        )
        assert created.id is not None
        values = {k: jsonable(v) for k, v in (asset_values | contract_values).items()}
        key = f"asset-import:{record.external_id}:created"
        detail = {"external_id": record.external_id, **values}
        _audit_asset(session, asset, key, "asset_imported", detail, actor=actor, at=at)
        return AssetChange("created", asset_id, created.id, {})
    assert asset.id is not None
    asset_id = asset.id
    contract = get_contract(session, asset_id=asset_id)
    if contract is None:
        contract = Contract(asset_id=asset_id, **contract_values)
        changes = {name: (None, value) for name, value in contract_values.items()}
    else:
        changes = changes_of(contract, contract_values)
    changes |= changes_of(asset, asset_values)
    return _apply_changes(
        session,
        asset,
        contract,
        changes,
        contract_fields=CONTRACT_FIELDS,
        verb="import",
        action="asset_import_updated",
        actor=actor,
        at=at,
        detail={"external_id": record.external_id},
    )


def _apply_changes(
    session: Session,
    asset: Asset,
    contract: Contract,
    changes: dict[str, tuple[Any, Any]],
    *,
    contract_fields: Collection[str],
    verb: str,
    action: str,
    actor: str,
    at: datetime,
    detail: dict[str, Any],
) -> AssetChange:
    """Write `changes` (field → (before, after); a name in `contract_fields` goes to the
    contract, any other to the asset) and audit them once per distinct change; no changes
    write nothing."""
    assert asset.id is not None
    if not changes:
        assert contract.id is not None
        return AssetChange("unchanged", asset.id, contract.id, {})
    for name, (_, value) in changes.items():
        setattr(contract if name in contract_fields else asset, name, value)
    session.add(asset)
    session.add(contract)
    session.flush()
    assert contract.id is not None
    key = f"asset:{asset.id}:{verb}:{at.isoformat()}:{change_key(changes)}"
    _audit_asset(session, asset, key, action, detail | change_detail(changes), actor=actor, at=at)
    return AssetChange("updated", asset.id, contract.id, changes)


def _audit_asset(
    session: Session, asset: Asset, key: str, action: str, detail: dict[str, Any], *, actor: str, at: datetime
) -> None:
    """The audit row of an import or an edit of the asset, once per `key`."""
    audit(
        session,
        idem_key=key,
        at=at,
        entity="asset",
        entity_id=str(asset.id),
        action=action,
        actor=actor,
        request_id=asset.request_id,
        detail=detail,
    )


class AssetEditError(ValueError):
    """An edit that cannot be applied; `field` names the option to fix."""

    def __init__(self, field: str, message: str) -> None:
        # Messages from the renewal rules already start with the field's name.
        super().__init__(message if message.startswith(field) else f"{field}: {message}")
        self.field = field


def edit_asset(session: Session, *, asset_id: int, values: dict[str, Any], actor: str, at: datetime) -> AssetChange:
    """Change an asset's contract terms, seats, unit price or owner; audited with before/after.

    `values` holds only what is to change (keys from CONTRACT_DATE_FIELDS, `seats`,
    `unit_price_cents`, `owner_email`). Editing to the current values writes nothing."""
    asset = get_asset(session, asset_id=asset_id)
    contract = get_contract(session, asset_id=asset_id)
    if asset is None or contract is None:
        raise LookupError(f"asset {asset_id} does not exist" if asset is None else f"asset {asset_id} has no contract")
    unknown = set(values) - CONTRACT_DATE_FIELDS - {"seats", "unit_price_cents", "owner_email"}
    if unknown:
        raise AssetEditError(sorted(unknown)[0], "cannot be edited")
    contract_values = {k: v for k, v in values.items() if k in CONTRACT_DATE_FIELDS}
    asset_values = {k: v for k, v in values.items() if k not in CONTRACT_DATE_FIELDS}
    merged = {name: contract_values.get(name, getattr(contract, name)) for name in CONTRACT_DATE_FIELDS}
    try:
        ContractTerms(**merged)
    except RenewalInputError as error:
        raise AssetEditError(error.field, str(error)) from None
    if "owner_email" in asset_values:
        try:
            asset_values["owner_email"] = normalise_email(str(asset_values["owner_email"]))
        except ValueError as error:
            raise AssetEditError("owner_email", str(error)) from None
    seats = asset_values.get("seats", asset.seats)
    unit = asset_values.get("unit_price_cents", asset.unit_price_cents)
    # None: usage-based, no seat count; the price is then the contract's yearly value (docs/decisions.md, 52).
    if seats is not None and (not isinstance(seats, int) or not 1 <= seats <= MAX_SEATS):
        raise AssetEditError("seats", f"must be a whole number between 1 and {MAX_SEATS:,}, or empty (usage-based)")
    if not isinstance(unit, int) or unit < 0 or unit * units(seats) > MAX_STORED_CENTS:
        raise AssetEditError("unit_price_cents", "must be zero or more, and seats × price a plausible annual cost")
    if "seats" in asset_values or "unit_price_cents" in asset_values:
        asset_values["annual_cost_cents"] = units(seats) * unit
    changes = changes_of(contract, contract_values) | changes_of(asset, asset_values)
    if "annual_cost_cents" in changes and not {"seats", "unit_price_cents"} & changes.keys():
        del changes["annual_cost_cents"]  # only a recomputation of an unchanged seats × price
    return _apply_changes(
        session,
        asset,
        contract,
        changes,
        contract_fields=CONTRACT_DATE_FIELDS,
        verb="edit",
        action="asset_edited",
        actor=actor,
        at=at,
        detail={},
    )
