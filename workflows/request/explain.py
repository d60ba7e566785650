"""The decision a hypothetical request would get: `procure policy explain` and the console's
/policy explain form call this one function, so both show the same route.

It prices the request as the bot prices one (the catalog price, or a higher quote), plans the
contract its seats would go on, and asks `catalog.routing.preview_route`; it starts nothing and
writes nothing. It sits in `workflows` because contract planning does
(`workflows.request.activities.purchase_terms`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from catalog import repository
from catalog.models import Product, ProductStatus
from catalog.money import format_money, parse_currency
from catalog.routing import RouteRejected, RouteRequest, preview_as_json, preview_route
from catalog.rules.policy import Policy
from catalog.rules.requests import CatalogPrice, Quote, RequestInputError, parse_money, quote
from workflows.request.activities.purchase_terms import contract_json, plan_contract

REQUEST_KEYS = frozenset(
    {
        "requester",
        "product",
        "vendor",
        "seats",
        "annual_cost",
        "estimate",
        "currency",
        "channel",
        "data_classification",
        "cost_center",
        "separate_contract",
    }
)


class ExplainInputError(ValueError):
    """The hypothetical request is incomplete or malformed; the message says what to fix."""


def find_product(session: Session, text: str) -> Product | None:
    """A catalog product by id, name or alias (case-insensitive)."""
    wanted = text.strip().casefold()
    found = repository.get_product(session, product_id=text.strip())
    if found is not None:
        return found
    for product in repository.list_products(session):
        if wanted in {product.id.casefold(), product.name.casefold(), *(a.casefold() for a in product.aliases)}:
            return product
    return None


def _route_request(
    session: Session, raw: dict[str, Any], on: date
) -> tuple[RouteRequest, str | None, str | None, dict[str, Any] | None]:
    """The RouteRequest for the request, priced like the bot prices a request; why it could
    not be priced (None when it could: the policy may still reject it, e.g. blocked); which
    price was used and why, when an estimate was given for a catalog product; and the
    contract its seats would go on (added seats join a running one, prorated)."""
    unknown = sorted(set(raw) - REQUEST_KEYS)
    if unknown:
        raise ExplainInputError(
            f"request.json: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(REQUEST_KEYS))}"
        )
    requester = raw.get("requester")
    name = raw.get("product")
    if not isinstance(requester, str) or not requester.strip():
        raise ExplainInputError("request.json: `requester` (an email) is required")
    if not isinstance(name, str) or not name.strip():
        raise ExplainInputError("request.json: `product` (a catalog id or a name) is required")
    seats = raw.get("seats", 1)
    if isinstance(seats, bool) or not isinstance(seats, int):
        raise ExplainInputError(f"request.json: `seats` must be a whole number, not {seats!r}")
    product = find_product(session, name)
    cost = raw.get("annual_cost", raw.get("estimate"))
    try:
        currency = parse_currency(str(raw.get("currency") or (product.currency if product else "USD")))
    except ValueError as error:
        raise ExplainInputError(f"request.json: `currency`: {error}") from None
    unpriced: str | None = None
    try:
        estimate = None if cost is None else parse_money(str(cost), field="annual_cost")
        # Priced as the bot prices a request: the catalog price when there is one, or a
        # higher quote (price precedence, docs/decisions.md).
        price = (
            CatalogPrice(product.price_cents, product.currency, per_seat=product.seats_total is not None)
            if product is not None
            else None
        )
        priced = quote(price=price, seats=seats, estimate_cents=estimate, currency=currency)
    except RequestInputError as error:
        unpriced = f"request.json: {error.field}: {error.message}"
        priced = Quote(0, 0, currency)
    channel = str(raw.get("channel") or "direct")
    cost_center = str(raw["cost_center"]) if raw.get("cost_center") else None
    person = repository.get_person(session, email=requester.strip().lower())
    contract = None
    if unpriced is None and product is not None and product.status != ProductStatus.BLOCKED:
        contract = plan_contract(
            session,
            product=product,
            seats=seats,
            annual_cents=priced.annual_cost_cents,
            channel=channel,
            currency=priced.currency,
            cost_center=cost_center or (person.cost_center if person else None) or "",
            requester_cost_center=person.cost_center if person else None,
            separate=raw.get("separate_contract") is True,
            as_of=on,
        )
    request = RouteRequest(
        requester_email=requester.strip().lower(),
        product_id=product.id if product else None,
        product_name=product.name if product else name.strip(),
        vendor=product.vendor if product else (str(raw["vendor"]) if raw.get("vendor") else None),
        seats=seats,
        annual_cost_cents=priced.annual_cost_cents,
        currency=priced.currency,
        channel=channel,
        data_classification=str(raw.get("data_classification") or "internal"),
        cost_center=cost_center,
        reserve_cents=contract.expansion.proration.cents if contract and contract.expansion else None,
    )
    notice = None if unpriced else priced.notice(format_money)
    return request, unpriced, notice, contract_json(contract) if contract else None


def explain_request(
    session: Session, *, policy: Policy, raw: dict[str, Any], on: date, fiscal_year_start_month: int
) -> dict[str, Any]:
    """The decision for `raw` (the fields of request.json) as of `on`: outcome, route with
    people and reasons, budget, drawdown, version, the request as priced, the price notice and
    the contract. Raises `ExplainInputError` when the request cannot be read."""
    request, unpriced, notice, contract = _route_request(session, raw, on)
    try:
        preview = preview_route(
            session, policy=policy, request=request, on=on, fiscal_year_start_month=fiscal_year_start_month
        )
        result = preview_as_json(preview)
    except RouteRejected as rejected:
        if unpriced is not None:  # the request itself is incomplete, not refused
            raise ExplainInputError(unpriced) from None
        result = {
            "outcome": "reject",
            "policy_version": policy.version,
            "roles": [],
            "steps": [],
            "problems": [],
            "reasons": [rejected.reason],
            "budget": None,
            "drawdown": None,
        }
    result["request"] = {
        "product": request.product_name,
        "product_id": request.product_id,
        "seats": request.seats,
        "annual_cost_cents": request.annual_cost_cents,
        "currency": request.currency,
        "channel": request.channel,
        "data_classification": request.data_classification,
    }
    result["notice"] = notice
    result["contract"] = contract
    return result
