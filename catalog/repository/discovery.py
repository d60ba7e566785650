"""Persistence of discovery: what the spend lines and sign-ins add up to per descriptor, the
marketplace reconciliation, and the `discovery` rows a run writes (catalog.rules.discovery
decides; this module reads and writes). Every function takes the session as a keyword.

Aggregation is done by the database (one GROUP BY per source), so a million card lines
come back as a few thousand descriptor groups for the matcher.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, insert, update
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from catalog import repository
from catalog.models import (
    Asset,
    AuditEvent,
    Discovery,
    ProductStatus,
    PurchaseRequest,
    RequestStatus,
    SpendLine,
    SpendRecord,
    SsoAppUsage,
)
from catalog.rules.discovery import CatalogFacts, Discovered, Recognition, SpendGroup, reconciles, spend_window_start
from catalog.rules.matching import CatalogProduct

__all__ = [
    "CatalogFacts",
    "DiscoverySummary",
    "catalog_facts",
    "commitment_actuals",
    "list_discoveries",
    "reconcile_marketplace",
    "save_discoveries",
    "spend_groups",
    "sso_usage",
    "unreconciled_lines",
]

_MARKETPLACE_CHANNEL = "{provider}_marketplace"


def catalog_facts(session: Session) -> tuple[list[CatalogProduct], dict[str, CatalogFacts]]:
    """The catalog for the matcher, and what classification needs of each product."""
    products = repository.list_products(session)
    registered = set(session.exec(select(Asset.product_id).where(col(Asset.product_id).is_not(None))).all())
    return (
        [CatalogProduct(p.id, p.name, p.vendor, p.category, tuple(p.aliases)) for p in products],
        {
            p.id: CatalogFacts(
                p.id, p.name, p.vendor, p.category, p.status == ProductStatus.BLOCKED, p.id in registered
            )
            for p in products
        },
    )


def _people(session: Session, query: Any) -> dict[str, set[str]]:
    """Descriptor → the distinct values (payers, cost centers) of `query`'s pairs; read through
    the connection: the ORM's row loading doubled the time of tens of thousands of pairs."""
    found: dict[str, set[str]] = defaultdict(set)
    for descriptor, value in session.connection().execute(query):
        found[descriptor].add(value)
    return found


def _sums(
    session: Session,
    name: Any,
    currency: Any,
    day: Any,
    cents: Any,
    start: date,
    stop: date,
    *more: Any,
    by: tuple[Any, ...] = (),
) -> Any:
    """Per name, currency and the `by` columns: the sum of `cents` from `start`, the count,
    the first and last day, and `more` sums, of the rows up to `stop`. SQLAlchemy's `select`
    through the connection: more columns than sqlmodel's typed one takes."""
    day = col(day)
    in_window = case((day >= start, col(cents)), else_=0)
    totals = [func.sum(in_window), func.count(), func.min(day), func.max(day), *(func.sum(m) for m in more)]
    keys = [col(name), col(currency), *(col(c) for c in by)]
    query = sql_select(*keys, *totals).where(day <= stop).group_by(*keys)
    return session.connection().execute(query).all()


def spend_groups(session: Session, *, as_of: date) -> list[SpendGroup]:
    """Card, marketplace and AP spend up to `as_of`, summed per descriptor and currency.

    The spend lines are read in one pass: summed per descriptor, currency, payer and cost
    center, then folded per descriptor and currency here. A million card lines are a few
    tens of thousands of such groups; three passes (the sums, the payers, the cost centers)
    each sorted the whole table."""
    start = spend_window_start(as_of)
    line, ap = SpendLine, SpendRecord
    market = case((col(line.marketplace), 1), else_=0)
    open_market = case((col(line.marketplace) & col(line.request_id).is_(None), 1), else_=0)
    rows = _sums(
        session,
        line.descriptor,
        line.currency,
        line.spent_on,
        line.amount_cents,
        start,
        as_of,
        market,
        open_market,
        by=(line.payer_email, line.cost_center),
    )
    payers: dict[str, set[str]] = defaultdict(set)
    centers: dict[str, set[str]] = defaultdict(set)
    folded: dict[tuple[str, str], list[Any]] = {}
    for descriptor, currency, payer, center, window, count, first, last, markets, unreconciled in rows:
        if payer is not None:
            payers[descriptor].add(payer)
        if center is not None:
            centers[descriptor].add(center)
        sums = folded.get((descriptor, currency))
        if sums is None:
            folded[(descriptor, currency)] = [window or 0, count, first, last, markets or 0, unreconciled or 0]
        else:
            sums[0] += window or 0
            sums[1] += count
            sums[2], sums[3] = min(sums[2], first), max(sums[3], last)
            sums[4] += markets or 0
            sums[5] += unreconciled or 0
    ap_rows = _sums(session, ap.vendor, ap.currency, ap.spent_on, ap.amount_cents, start, as_of)
    ap_up_to = col(ap.spent_on) <= as_of
    ap_centers = _people(session, select(ap.vendor, ap.cost_center).where(ap_up_to).distinct())
    groups: list[SpendGroup] = []
    for (descriptor, currency), (window, count, first, last, markets, unreconciled) in folded.items():
        groups.append(
            SpendGroup(
                descriptor,
                currency,
                int(window),
                int(count),
                first,
                last,
                frozenset(payers.get(descriptor, ())),
                frozenset(centers.get(descriptor, ())),
                int(markets),
                int(unreconciled),
            )
        )
    for vendor, currency, window, count, first, last in ap_rows:
        groups.append(
            SpendGroup(
                vendor, currency, int(window or 0), int(count), first, last, frozenset(), frozenset(ap_centers[vendor])
            )
        )
    return groups


def sso_usage(session: Session, *, as_of: date) -> dict[str, dict[str, date]]:
    """App (as the IdP names it) → person → last sign-in, up to `as_of`."""
    found: dict[str, dict[str, date]] = defaultdict(dict)
    query = select(col(SsoAppUsage.app), col(SsoAppUsage.user_email), col(SsoAppUsage.last_login)).where(
        col(SsoAppUsage.last_login) <= as_of
    )
    for app, email, last_login in session.exec(query).all():
        found[app][email] = last_login
    return dict(found)


def reconcile_marketplace(session: Session, *, recognise_one: Callable[[str], Recognition]) -> int:
    """Point every marketplace line at the approved marketplace request of the same cloud that
    bought it (the same catalog product, or the request's product or vendor named by the
    line's publisher or service), or at none; returns how many lines have no request."""
    approved = session.exec(
        select(PurchaseRequest).where(
            PurchaseRequest.status == RequestStatus.APPROVED, col(PurchaseRequest.channel).like("%_marketplace")
        )
    ).all()
    # One pass over the marketplace lines (the table has no index but its key), then one
    # UPDATE per seller by id.
    sellers: dict[tuple[str | None, str, str | None], list[int]] = defaultdict(list)
    query = select(col(SpendLine.id), col(SpendLine.provider), col(SpendLine.descriptor), col(SpendLine.service_name))
    for line_id, provider, publisher, service in session.exec(query.where(col(SpendLine.marketplace))).all():
        if line_id is not None:
            sellers[(provider, publisher, service)].append(line_id)
    for (provider, publisher, service), ids in sellers.items():
        product_ids = {recognise_one(publisher).product_id, recognise_one(service or "").product_id} - {None}
        match = next(
            (
                r.id
                for r in approved
                if r.channel == _MARKETPLACE_CHANNEL.format(provider=provider)
                and (
                    r.product_id in product_ids
                    or reconciles((r.product_name, r.vendor or ""), (publisher, service or ""))
                )
            ),
            None,
        )
        session.exec(update(SpendLine).where(col(SpendLine.id).in_(ids)).values(request_id=match))
    return unreconciled_lines(session)


def unreconciled_lines(session: Session) -> int:
    """Marketplace lines no approved marketplace request explains (as of the last run)."""
    query = select(func.count()).where(col(SpendLine.marketplace), col(SpendLine.request_id).is_(None))
    return int(session.exec(query).one())


def commitment_actuals(session: Session) -> dict[int, dict[str, int]]:
    """Commitment id → currency → what billed marketplace lines drew from it (actual drawdown)."""
    rows = session.exec(
        select(SpendLine.commitment_id, SpendLine.currency, func.sum(SpendLine.amount_cents))
        .where(col(SpendLine.commitment_id).is_not(None))
        .group_by(col(SpendLine.commitment_id), col(SpendLine.currency))
    ).all()
    actuals: dict[int, dict[str, int]] = defaultdict(dict)
    for commitment_id, currency, total in rows:
        if commitment_id is not None:
            actuals[commitment_id][currency] = int(total or 0)
    return dict(actuals)


@dataclass
class DiscoverySummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    no_longer_seen: list[str] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    unreconciled_marketplace_lines: int = 0

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.by_status.items())) or "nothing"
        text = (
            f"{sum(self.by_status.values())} products seen ({counts}): {len(self.created)} new, "
            f"{len(self.updated)} updated, {self.unchanged} unchanged, {len(self.no_longer_seen)} no longer seen"
        )
        if self.unreconciled_marketplace_lines:
            text += f"; {self.unreconciled_marketplace_lines} marketplace lines with no approved request (for FinOps)"
        return text


def _values(found: Discovered, as_of: date) -> dict[str, Any]:
    return {
        "product_id": found.product_id,
        "name": found.name[:200],
        "vendor": (found.vendor or "")[:200] or None,
        "category": found.category,
        "status": found.status,
        "spend_cents": dict(sorted(found.spend_cents.items())),
        "lines": found.lines,
        "payers": sorted(found.payers),
        "cost_centers": sorted(found.cost_centers),
        "first_seen": found.first_seen,
        "last_seen": found.last_seen,
        "sso_users": len(found.sso_users),
        "marketplace_lines": found.marketplace_lines,
        "unreconciled_lines": found.unreconciled_lines,
    }


_GONE: dict[str, Any] = {
    "spend_cents": {},
    "lines": 0,
    "payers": [],
    "cost_centers": [],
    "sso_users": 0,
    "marketplace_lines": 0,
    "unreconciled_lines": 0,
}


def save_discoveries(
    session: Session, *, found: Sequence[Discovered], as_of: date, at: datetime, actor: str
) -> DiscoverySummary:
    """Upsert a row per product found (keyed by `Discovered.key`); rows of products not found
    any more keep their key with nothing seen. A new product and a change of status are
    audited once each; running again on the same data changes nothing.

    New rows and their audit rows go in with one executemany each: a first run over a large
    card export finds thousands of products, and the ORM took seconds to build them."""
    summary = DiscoverySummary()
    existing = {d.key: d for d in session.exec(select(Discovery)).all()}
    new_rows: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    for item in found:
        summary.by_status[item.status] = summary.by_status.get(item.status, 0) + 1
        values = _values(item, as_of)
        row = existing.pop(item.key, None)
        if row is None:
            new_rows.append({"key": item.key[:200], "as_of": as_of, "updated_at": at, **values})
            summary.created.append(item.key)
        elif all(getattr(row, k) == v for k, v in values.items()):
            summary.unchanged += 1
            continue
        else:
            before = row.status
            for k, v in values.items():
                setattr(row, k, v)
            row.as_of, row.updated_at = as_of, at
            session.add(row)
            summary.updated.append(item.key)
            if before == item.status:
                continue
        audits.append(_status_audit(item, as_of=as_of, at=at, actor=actor))
    for key, row in existing.items():
        if row.lines or row.sso_users:
            for k, v in _GONE.items():
                setattr(row, k, v)
            row.as_of, row.updated_at = as_of, at
            session.add(row)
            summary.no_longer_seen.append(key)
    session.flush()
    connection = session.connection()
    if new_rows:
        connection.execute(insert(Discovery), new_rows)
    if audits:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(dialect.insert(AuditEvent).on_conflict_do_nothing(index_elements=["idem_key"]), audits)
    return summary


def _status_audit(item: Discovered, *, as_of: date, at: datetime, actor: str) -> dict[str, Any]:
    """The audit row of a product first seen, or seen with another status, on `as_of`."""
    digest = hashlib.sha256(item.key.encode()).hexdigest()[:24]
    return {
        "idem_key": f"discovery:{digest}:{item.status}:{as_of.isoformat()}",
        "at": at,
        "request_id": None,
        "entity": "discovery",
        "entity_id": item.key[:64],
        "action": "discovery_status",
        "actor": actor,
        "detail": {"key": item.key, "name": item.name, "status": item.status, "as_of": as_of.isoformat()},
        "step_seq": None,
        "policy_version": None,
    }


def list_discoveries(session: Session, *, seen_only: bool = True) -> Sequence[Discovery]:
    """The discovery rows (by default those with lines or sign-ins), by status then name."""
    query = select(Discovery).order_by(col(Discovery.status), col(Discovery.name), col(Discovery.key))
    if seen_only:
        query = query.where((col(Discovery.lines) > 0) | (col(Discovery.sso_users) > 0))
    return session.exec(query).all()
