"""A request's route under the policy, from what the database knows: the requester's directory
entry, the budget line, the catalog and the cloud commitments. A service: it reads through the
repository and decides with the pure rules (`catalog.rules.policy`, `budget`, and
`catalog.rules.routing`, where the route's types and JSON live; re-exported here).

Shared by the workflow's planning activity and `procure policy explain`, so the preview an
administrator reads is the decision a request gets. Reads only: nothing is reserved or
recorded here.

A request never bypasses the budget check: a blank cost center is the requester's own from
the directory, and a cost center nobody knows is rejected (`RouteRejected`), as are an unknown
requester, a currency without a rate and an impossible amount.
"""

from __future__ import annotations

import functools
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from catalog import repository
from catalog.models import Product
from catalog.rules import routing as route_values
from catalog.rules.budget import (
    BudgetCheck,
    BudgetError,
    BudgetLine,
    Commitment,
    Drawdown,
    check_budget,
    drawdown,
    fiscal_year_of,
)
from catalog.rules.policy import (
    CLASSIFICATIONS,
    DirectoryEntry,
    Policy,
    PolicyInput,
    ResolvedRoute,
    default_policy_path,
    delegation_refusal,
    evaluate,
    load_policy,
    resolve_route,
)
from catalog.rules.requests import CHANNELS
from catalog.rules.routing import *  # noqa: F403
from catalog.rules.routing import RoutePreview, RouteRejected, RouteRequest
from catalog.settings import Settings, get_settings

__all__ = [*route_values.__all__, "load_active_policy", "preview_route", "step_delegation_refusal"]


def load_active_policy(settings: Settings | None = None) -> Policy:
    """The policy in force: POLICY_FILE, or the shipped catalog/data/policy.yaml.

    Raises `catalog.rules.policy.PolicyError` (every problem with its line) or `OSError`."""
    settings = settings or get_settings()
    path = settings.policy_file or default_policy_path()
    return _parsed_policy(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=8)
def _parsed_policy(text: str) -> Policy:
    """Parsing is what costs (YAML with line numbers, every rule checked); the file is read on
    every call, so an edited policy is in force for the next request."""
    return load_policy(text)


def _cost_center(session: Session, request: RouteRequest, requester: DirectoryEntry) -> str:
    given = (request.cost_center or "").strip()
    if not given:
        if not (requester.cost_center or "").strip():
            raise RouteRejected(
                f"no cost center was given and {requester.name} has none in the directory; "
                "name the cost center to charge"
            )
        return (requester.cost_center or "").strip()
    known = repository.known_cost_centers(session)
    if given not in known:
        match = next((k for k in known if k.casefold() == given.casefold()), None)
        if match is None:
            raise RouteRejected(f"unknown cost center {given}; known: {', '.join(sorted(known)) or 'none'}")
        return match
    return given


def _vendor_known(session: Session, vendor: str | None, product: Product | None) -> bool:
    if product is not None:
        return True
    if not vendor or not vendor.strip():
        return False
    found = session.exec(select(Product.id).where(func.lower(Product.vendor) == vendor.strip().lower())).first()
    return found is not None


def preview_route(
    session: Session,
    *,
    policy: Policy,
    request: RouteRequest,
    on: date,
    fiscal_year_start_month: int,
    budget_on: date | None = None,
) -> RoutePreview:
    """Decide the route of `request` on day `on` (budget year, commitments and out-of-office
    are as of then; the budget year is `budget_on`'s when given: a renewal's is its renewal
    date's). Raises `RouteRejected` when the request cannot be routed."""
    if request.channel not in CHANNELS:
        raise RouteRejected(f"unknown channel {request.channel!r}; channels are {', '.join(CHANNELS)}")
    if request.data_classification not in CLASSIFICATIONS:
        raise RouteRejected(
            f"unknown data classification {request.data_classification!r}; use one of {', '.join(CLASSIFICATIONS)}"
        )
    directory = repository.directory_around(
        session,
        emails=[request.requester_email, *policy.fallback_approvers.values()],
        managers_of=[request.requester_email],
    )
    requester = directory.get(request.requester_email.strip().lower())
    if requester is None:
        raise RouteRejected(f"{request.requester_email} is not in the directory; ask ITAM to add them")
    cost_center = _cost_center(session, request, requester)
    fiscal_year = fiscal_year_of(budget_on or on, fiscal_year_start_month)
    row = repository.get_budget(session, cost_center=cost_center, fiscal_year=fiscal_year)
    line = (
        BudgetLine(
            row.cost_center, row.fiscal_year, row.currency, row.annual_cents, row.committed_cents, row.actual_cents
        )
        if row is not None
        else None
    )
    owner = (row.owner_email or "").strip().lower() or None if row is not None else None
    if owner is not None and owner not in directory:
        directory.update(repository.directory_around(session, emails=[owner]))
    commitments = [
        Commitment(c.name, c.provider, c.kind, c.currency, c.remaining_cents, c.end_date, c.start_date)
        for c in repository.list_commitments(session)
    ]
    product = repository.get_product(session, product_id=request.product_id) if request.product_id else None
    budget: BudgetCheck | None = None
    draw: Drawdown | None = None
    unpriceable: BudgetError | None = None
    reserved = request.annual_cost_cents if request.reserve_cents is None else request.reserve_cents
    try:
        budget = check_budget(
            line,
            cost_center=cost_center,
            fiscal_year=fiscal_year,
            amount_cents=reserved,
            currency=request.currency,
            rates=policy.rates,
        )
        draw = drawdown(
            commitments,
            channel=request.channel,
            amount_cents=reserved,
            currency=request.currency,
            as_of=on,
            rates=policy.rates,
        )
    except BudgetError as error:
        unpriceable = error
    decision = evaluate(
        policy,
        PolicyInput(
            annual_cost_cents=request.annual_cost_cents,
            currency=request.currency.upper(),
            channel=request.channel,
            data_classification=request.data_classification,
            product_id=product.id if product else None,
            product_status=product.status if product else None,
            vendor_known=_vendor_known(session, request.vendor, product),
            cost_center=cost_center,
            department=requester.department,
            budget=budget,
            drawdown=draw,
            block_reason=product.block_reason if product else None,
            vendor=request.vendor or (product.vendor if product else None),
            product_name=request.product_name or (product.name if product else None),
            requester_cost_center=(requester.cost_center or "").strip() or None,
        ),
    )
    if unpriceable is not None and decision.outcome != "reject":
        # Only a request the policy refuses whatever it costs (a blocked product) gets past a
        # bad amount or currency: everything else is checked against its budget.
        raise RouteRejected(unpriceable.message)
    route = (
        resolve_route(
            policy,
            decision,
            requester=requester,
            directory=directory,
            on=on,
            cost_center=cost_center,
            cost_center_owner=owner,
        )
        if decision.outcome == "route"
        else ResolvedRoute(())
    )
    return RoutePreview(decision, route, requester, cost_center, fiscal_year, budget, draw)


def step_delegation_refusal(
    session: Session, *, role: str, approver_email: str, actor_email: str | None, candidate_email: str
) -> str | None:
    """Why the person `actor_email` (the step's approver, or their delegate) may not hand a
    `role` step assigned to `approver_email` to `candidate_email`; None when they may
    (`catalog.rules.policy.delegation_refusal`, on the directory as the database has it). Shared by
    the delegation activity and the bot's early answer in the Delegate form."""
    emails = [e.strip().lower() for e in (approver_email, actor_email, candidate_email) if e and e.strip()]
    directory = repository.directory_with_chains(session, emails=emails)
    candidate = directory.get(candidate_email.strip().lower())
    if candidate is None:
        return f"{candidate_email} isn't in the company directory, so they can't approve."
    approvers = [directory[e] for e in dict.fromkeys(emails[:-1]) if e in directory]
    return delegation_refusal(role, approvers=approvers, candidate=candidate, directory=directory)
