"""What a reuse check reads: the seat pools of the products a request is compared with, and
the check itself (`catalog.rules.reuse.decide_reuse` over them). The worker's reuse activity
and the bot's DM intake both call `reuse_decision`, so both read the same few products (never
the whole catalog) and both answer alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, col, select

from catalog import repository
from catalog.models import Product
from catalog.projection import copy_fields
from catalog.rules.reuse import ProductPool, ReuseDecision, SeatHolder, decide_reuse
from catalog.text import escape_mrkdwn


def seat_pool(session: Session, product: Product) -> ProductPool:
    """`product` and its seats in the asset register."""
    capacity, seats = repository.product_seat_pool(session, product_id=product.id)
    holders = tuple(SeatHolder(s.person_email, s.assigned_at.date(), s.last_active) for s in seats)
    return copy_fields(
        ProductPool,
        product,
        alternatives=tuple(product.alternatives),
        capacity=capacity,
        holders=holders,
        usage_owners=tuple(repository.usage_based_owners(session, product_id=product.id)),
    )


def owner_mention(session: Session, email: str) -> str:
    """Who to ask for access to a usage-based contract, as mrkdwn: a mention when their Slack
    id is known, else their name (or email) in bold."""
    person = repository.get_person(session, email=email)
    if person is not None and person.slack_id and person.slack_id.isalnum():
        return f"<@{person.slack_id}>"
    return f"*{escape_mrkdwn(person.name if person is not None else email)}*"


def products_in_category(session: Session, *, category: str) -> Sequence[Product]:
    """The catalog entries of `category`, by name."""
    return session.exec(select(Product).where(col(Product.category) == category).order_by(col(Product.name))).all()


def reuse_pools(session: Session, *, product: Product | None, category: str | None) -> list[ProductPool]:
    """The pools `decide_reuse` compares a request with (it looks at nothing else): the
    product, its category and its alternatives; for a product outside the catalog, the
    products of the `category` its name suggests (none when it suggests none)."""
    if product is not None:
        related = repository.related_products(session, product=product)
    elif category:
        related = products_in_category(session, category=category)
    else:
        related = []
    return [seat_pool(session, p) for p in related]


def reuse_decision(
    session: Session,
    *,
    product: Product | None,
    category: str | None,
    seats: int,
    requester_email: str,
    as_of: date,
    inactive_days: int,
) -> ReuseDecision:
    """What we own that fits a request for `seats` seats of `product` (None: not in the
    catalog, with the `category` its name suggests): `catalog.rules.reuse.decide_reuse` over
    the pools of `reuse_pools`. Reads only; the caller records what it decides."""
    pools = reuse_pools(session, product=product, category=category)
    return decide_reuse(
        product=next((p for p in pools if product is not None and p.id == product.id), None),
        category=category,
        seats=seats,
        requester_email=requester_email,
        catalog=pools,
        as_of=as_of,
        inactive_days=inactive_days,
    )
