"""What an approved request buys, on which terms: the price it was planned at (price
precedence, `catalog.rules.requests.quote`) and the contract its seats go on (`catalog.rules.expansion`),
read from the database for the planning and the closing activities, and recorded in the
plan's audit row, from which the messages show it.

The planning activity decides the contract and the approvers see that decision; the closing
activity applies it, prorated as of the day it closes, unless the contract has stopped
running in the meantime (then the seats get a contract of their own, as any request's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from catalog import repository
from catalog.models import Asset, Contract, Product, PurchaseRequest
from catalog.rules.expansion import ContractChoice, Expansion, OwnedContract, choose_contract
from catalog.rules.renewals import ContractTerms, RenewalInputError
from catalog.rules.requests import Quote

#: The plan audit row's keys this module writes.
PRICE_KEY = "price"
CONTRACT_KEY = "contract"


@dataclass(frozen=True)
class PurchaseTerms:
    """What planning decided besides the route: the quote (None when the request could not be
    priced, e.g. a blocked product) and the contract choice."""

    quote: Quote | None
    contract: ContractChoice

    @property
    def reserve_cents(self) -> int | None:
        """What approval reserves when it is not the annual cost: the prorated part."""
        return self.contract.expansion.proration.cents if self.contract.expansion else None

    @property
    def expands_asset_id(self) -> int | None:
        return self.contract.expansion.asset_id if self.contract.expansion else None


def _owned(asset: Asset, contract: Contract) -> OwnedContract | None:
    if asset.seats is None:
        return None  # usage-based: no seats to add to; a purchase is a contract of its own
    try:
        terms = ContractTerms(
            start_date=contract.start_date,
            term_months=contract.term_months,
            auto_renew=contract.auto_renew,
            notice_days=contract.notice_days,
            renewal_date=contract.renewal_date,
        )
    except RenewalInputError:
        return None  # a contract whose terms make no sense is joined by nobody
    assert asset.id is not None
    return OwnedContract(asset.id, asset.cost_center, asset.channel, asset.currency, asset.seats, terms)


def plan_contract(
    session: Session,
    *,
    product: Product | None,
    seats: int,
    annual_cents: int,
    channel: str,
    currency: str,
    cost_center: str,
    requester_cost_center: str | None,
    separate: bool,
    as_of: date,
) -> ContractChoice:
    """Which running contract the request's seats would join, as of the planning day (the
    planning activity and `procure policy explain` alike)."""
    if product is None:
        return ContractChoice(None, "the product is not in the catalog")
    owned = [
        found
        for asset, contract in repository.product_contracts(session, product_id=product.id)
        if (found := _owned(asset, contract)) is not None
    ]
    own = (requester_cost_center or "").strip()
    return choose_contract(
        owned,
        seats=seats,
        annual_cents=annual_cents,
        per_seat=product.seats_total is not None,
        channel=channel,
        currency=currency,
        cost_center=cost_center,
        other_cost_center=cost_center.casefold() != own.casefold(),
        separate=separate,
        as_of=as_of,
    )


def closing_contract(session: Session, *, request: PurchaseRequest, as_of: date) -> ContractChoice:
    """The planned expansion, prorated as of the closing day; or why the seats get a contract
    of their own after all (nothing was planned, or that contract stopped running)."""
    if request.expands_asset_id is None:
        return ContractChoice(None, "planned on a contract of its own")
    asset = repository.get_asset(session, asset_id=request.expands_asset_id)
    contract = repository.get_contract(session, asset_id=request.expands_asset_id) if asset else None
    owned = _owned(asset, contract) if asset is not None and contract is not None else None
    return choose_contract(
        [owned] if owned is not None else [],
        seats=request.seats,
        annual_cents=request.annual_cost_cents,
        per_seat=True,  # planning only chose an expansion for a per-seat product
        channel=request.channel,
        currency=request.currency,
        cost_center=request.cost_center,
        other_cost_center=False,  # the choice was made at planning; only the date is new
        separate=False,
        as_of=as_of,
    )


def fields_json(source: object, names: tuple[str, ...]) -> dict[str, Any]:
    """`source`'s fields `names`, as they are, for a plan or audit row's JSON."""
    return {name: getattr(source, name) for name in names}


# The price a plan records (read back by `messaging._price_view`).
_PRICE_FIELDS = ("basis", "annual_cost_cents", "catalog_annual_cents", "estimate_cents", "currency")
_EXPANSION_FIELDS = ("asset_id", "seats_before", "seats_after", "annual_cents", "currency")


def price_json(priced: Quote | None) -> dict[str, Any] | None:
    return fields_json(priced, _PRICE_FIELDS) if priced is not None else None


def expansion_json(expansion: Expansion) -> dict[str, Any]:
    proration = expansion.proration
    return {
        **fields_json(expansion, _EXPANSION_FIELDS),
        "as_of": proration.as_of.isoformat(),
        "renewal_date": proration.renewal_date.isoformat(),
        "days_left": proration.days_left,
        "term_days": proration.term_days,
        "prorated_cents": proration.cents,
    }


def contract_json(choice: ContractChoice) -> dict[str, Any]:
    return {
        "expansion": expansion_json(choice.expansion) if choice.expansion else None,
        "reason": choice.reason,
        "chosen": choice.chosen,
    }
