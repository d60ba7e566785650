"""The catalog's products."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, or_
from sqlmodel import Session, col, select

from catalog.models import Product
from catalog.repository.keyed import by_key
from catalog.repository.statements import PRODUCT


def get_product(session: Session, *, product_id: str) -> Product | None:
    return by_key(session, Product, PRODUCT, product_id)


def list_products(session: Session) -> Sequence[Product]:
    return session.exec(select(Product).order_by(col(Product.name))).all()


_RELATED_PRODUCTS = (
    select(Product)
    .where(
        or_(
            col(Product.id) == bindparam("pk"),
            col(Product.category) == bindparam("category"),
            col(Product.id).in_(bindparam("ids", expanding=True)),
        )
    )
    .order_by(col(Product.name))
)


def related_products(session: Session, *, product: Product) -> Sequence[Product]:
    """`product`, the catalog entries of its category and its alternatives, by name: what a
    reuse check compares a request with (`catalog.rules.reuse.decide_reuse` looks at nothing else),
    in one query instead of the whole catalog."""
    params = {"pk": product.id, "category": product.category, "ids": sorted(set(product.alternatives))}
    return session.exec(_RELATED_PRODUCTS, params=params).all()


def upsert_product(session: Session, *, product: Product) -> Product:
    return session.merge(product)
