"""One discovery run: recognise every spend line and SSO app, reconcile marketplace lines
with the approved marketplace requests, aggregate per product and save the result
(`procure discover run`; a daily Temporal Schedule can call `run_discovery` as an activity).

Rules live in `catalog.rules.discovery`, persistence in `catalog.repository.discovery`;
this module only wires them to one matcher over the catalog in the database.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime

from sqlmodel import Session

from catalog.repository import discovery as store
from catalog.rules.discovery import Recognition, aggregate, known_names, recognise, report_line
from catalog.rules.matching import Matcher
from catalog.rules.matching_data import load_matching_data

__all__ = ["recogniser", "report_rows", "run_discovery"]


def recogniser(session: Session) -> tuple[Callable[[str], Recognition], dict[str, store.CatalogFacts]]:
    """A cached `recognise` over the catalog in the database (a card export repeats the same
    few thousand descriptors), and the catalog facts classification needs."""
    products, facts = store.catalog_facts(session)
    data = load_matching_data()
    matcher = Matcher(products, data)
    known = known_names(data.known_products, data.synonyms)

    @functools.lru_cache(maxsize=200_000)
    def recognise_one(descriptor: str) -> Recognition:
        return recognise(descriptor, matcher.match, known)

    return recognise_one, facts


def run_discovery(session: Session, *, as_of: date, at: datetime, actor: str) -> store.DiscoverySummary:
    """Discover what was bought or used up to `as_of`; idempotent (same data, same rows)."""
    recognise_one, facts = recogniser(session)
    unreconciled = store.reconcile_marketplace(session, recognise_one=recognise_one)
    found = aggregate(
        store.spend_groups(session, as_of=as_of),
        store.sso_usage(session, as_of=as_of),
        recognise_one=recognise_one,
        products=facts,
    )
    summary = store.save_discoveries(session, found=found, as_of=as_of, at=at, actor=actor)
    summary.unreconciled_marketplace_lines = unreconciled
    return summary


def report_rows(session: Session) -> list[dict[str, object]]:
    """`procure discover report --json`: one object per product seen."""
    return [report_line(row) for row in store.list_discoveries(session)]
