"""What discovery saw, for the console's `/discovered` page and `/api/v1/discoveries`: the
products of the last `procure discover run` with their status, spend in the last 12 months per
currency (never summed across currencies), payers, cost centers, first/last seen, SSO users and
ITAM's decision; filtered by status, cost center and a search, offset-paginated. One product's
detail adds the spend lines behind it.

Non-SaaS merchants (airlines, hotels, …) are not stored by a run (catalog.rules.discovery leaves
them alone); they are listed only when asked for (`status="non_saas"`), recognised from the
spend lines then, with no decision to take."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, String, case, cast, func, or_
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from catalog.discovery import recogniser
from catalog.models import Discovery, SpendLine, SpendRecord
from catalog.reports.paging import OffsetPage
from catalog.repository import discovery as store
from catalog.rules.discovery import STATUSES
from catalog.rules.discovery_actions import NEEDS_DECISION, needs_decision

__all__ = [
    "NON_SAAS",
    "PAGE_SIZE",
    "SHOWN_STATUSES",
    "DiscoveryDetail",
    "DiscoveryFilters",
    "DiscoveryPage",
    "DiscoveryRow",
    "SpendLineView",
    "decision_counts",
    "discovery_detail",
    "list_discoveries",
]

NON_SAAS = "non_saas"
#: The statuses the status filter offers; `non_saas` is hidden unless chosen.
SHOWN_STATUSES = (*STATUSES, NON_SAAS)
PAGE_SIZE = 50
MAX_DETAIL_LINES = 200


@dataclass(frozen=True)
class DiscoveryFilters:
    status: str | None = None  # one of SHOWN_STATUSES; None: every SaaS status
    cost_center: str | None = None
    search: str | None = None  # in the name, vendor, key or a payer's email


@dataclass(frozen=True)
class DiscoveryRow:
    id: int | None  # None for a non-SaaS merchant (not stored)
    key: str
    product_id: str | None
    name: str
    vendor: str | None
    category: str | None
    status: str
    spend_cents: dict[str, int]  # the last 12 months, per currency
    lines: int
    payers: list[str]
    cost_centers: list[str]
    first_seen: date | None
    last_seen: date | None
    sso_users: int
    marketplace_lines: int = 0
    unreconciled_lines: int = 0
    decision: str | None = None  # adopted | blocked | ignored
    decision_reason: str | None = None
    decided_by: str | None = None
    suppressed_until: date | None = None
    asset_id: int | None = None
    needs_decision: bool = False  # it would be in a new digest today
    in_digest: bool = False  # a Slack digest shows it (and is redrawn after a decision)


DiscoveryPage = OffsetPage[DiscoveryRow]


@dataclass(frozen=True)
class SpendLineView:
    spent_on: date
    descriptor: str
    amount_cents: int
    currency: str
    payer_email: str | None
    cost_center: str | None
    source: str  # card | marketplace | ap


@dataclass(frozen=True)
class DiscoveryDetail:
    row: DiscoveryRow
    spend_lines: list[SpendLineView] = field(default_factory=list)
    truncated: bool = False  # more lines than MAX_DETAIL_LINES are behind the product


def _row(d: Discovery, as_of: date) -> DiscoveryRow:
    return DiscoveryRow(
        id=d.id,
        key=d.key,
        product_id=d.product_id,
        name=d.name,
        vendor=d.vendor,
        category=d.category,
        status=d.status,
        spend_cents=dict(d.spend_cents),
        lines=d.lines,
        payers=list(d.payers),
        cost_centers=list(d.cost_centers),
        first_seen=d.first_seen,
        last_seen=d.last_seen,
        sso_users=d.sso_users,
        marketplace_lines=d.marketplace_lines,
        unreconciled_lines=d.unreconciled_lines,
        decision=d.decision,
        decision_reason=d.decision_reason,
        decided_by=d.decided_by,
        suppressed_until=d.suppressed_until,
        asset_id=d.asset_id,
        needs_decision=needs_decision(
            status=d.status, decision=d.decision, suppressed_until=d.suppressed_until, as_of=as_of
        ),
        in_digest=bool(d.digest_channel and d.digest_ts),
    )


def _json_has(column: Any, value: str) -> ColumnElement[bool]:
    """A JSON list column holds `value` (as the text `"value"`; SQLite and PostgreSQL alike)."""
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return cast(column, String).like(f"%{_escape_like(quoted)}%", escape="\\")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_discoveries(
    session: Session, *, filters: DiscoveryFilters, as_of: date, offset: int = 0, limit: int = PAGE_SIZE
) -> DiscoveryPage:
    """One page of the products seen (with lines or sign-ins), blocked ones in use first, then
    unmanaged, unknown and managed, by name."""
    if filters.status == NON_SAAS:
        rows = [r for r in non_saas_rows(session, as_of=as_of) if _matches(r, filters)]
        return DiscoveryPage(rows[offset : offset + limit], len(rows), offset, limit)
    query = select(Discovery).where((col(Discovery.lines) > 0) | (col(Discovery.sso_users) > 0))
    if filters.status:
        query = query.where(col(Discovery.status) == filters.status)
    if filters.cost_center:
        query = query.where(_json_has(Discovery.cost_centers, filters.cost_center.strip()))
    if filters.search:
        needle = f"%{_escape_like(filters.search.strip().casefold())}%"
        query = query.where(
            or_(
                func.lower(col(Discovery.name)).like(needle, escape="\\"),
                func.lower(func.coalesce(col(Discovery.vendor), "")).like(needle, escape="\\"),
                func.lower(col(Discovery.key)).like(needle, escape="\\"),
                func.lower(cast(Discovery.payers, String)).like(needle, escape="\\"),
            )
        )
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    order = case({status: n for n, status in enumerate(_ORDER)}, value=col(Discovery.status), else_=len(_ORDER))
    page = session.exec(
        query.order_by(order, func.lower(col(Discovery.name)), col(Discovery.key)).offset(offset).limit(limit)
    ).all()
    return DiscoveryPage([_row(d, as_of) for d in page], total, offset, limit)


#: The list's order: what needs attention first.
_ORDER = ("blocked_in_use", "unmanaged", "unknown", "managed")


def _matches(row: DiscoveryRow, filters: DiscoveryFilters) -> bool:
    if filters.cost_center and filters.cost_center.strip() not in row.cost_centers:
        return False
    if filters.search:
        needle = filters.search.strip().casefold()
        return any(needle in text.casefold() for text in (row.name, row.key, *row.payers))
    return True


@dataclass
class _Merchant:
    first_seen: date
    last_seen: date
    spend_cents: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    payers: set[str] = field(default_factory=set)
    cost_centers: set[str] = field(default_factory=set)


def non_saas_rows(session: Session, *, as_of: date) -> list[DiscoveryRow]:
    """The merchants a run leaves alone as not SaaS, aggregated as a run aggregates products."""
    recognise_one, _ = recogniser(session)
    found: dict[str, _Merchant] = {}
    for group in store.spend_groups(session, as_of=as_of):
        recognition = recognise_one(group.descriptor)
        if recognition.kind != NON_SAAS:
            continue
        m = found.setdefault(recognition.name or group.descriptor, _Merchant(group.first_seen, group.last_seen))
        m.spend_cents[group.currency] = m.spend_cents.get(group.currency, 0) + group.window_cents
        m.lines += group.lines
        m.payers |= group.payers
        m.cost_centers |= group.cost_centers
        m.first_seen, m.last_seen = min(m.first_seen, group.first_seen), max(m.last_seen, group.last_seen)
    return [
        DiscoveryRow(
            id=None,
            key=f"{NON_SAAS}:{name}",
            product_id=None,
            name=name.title(),
            vendor=None,
            category=None,
            status=NON_SAAS,
            spend_cents=dict(sorted(m.spend_cents.items())),
            lines=m.lines,
            payers=sorted(m.payers),
            cost_centers=sorted(m.cost_centers),
            first_seen=m.first_seen,
            last_seen=m.last_seen,
            sso_users=0,
        )
        for name, m in sorted(found.items())
    ]


def get_discovery(session: Session, *, discovery_id: int) -> Discovery | None:
    return session.get(Discovery, discovery_id)


def discovery_detail(session: Session, *, discovery_id: int, as_of: date) -> DiscoveryDetail | None:
    """One product seen, with the card, marketplace and AP lines recognised as it (newest first)."""
    found = get_discovery(session, discovery_id=discovery_id)
    if found is None:
        return None
    recognise_one, _ = recogniser(session)

    def behind(descriptor: str) -> bool:
        # Once Adopt or Block has put the product in the catalog, its lines are recognised as
        # that catalog product until the next run re-keys the row.
        seen = recognise_one(descriptor)
        return seen.key == found.key or (found.product_id is not None and seen.product_id == found.product_id)

    lines = _newest_lines(session, SpendLine, col(SpendLine.descriptor), behind, as_of)
    records = _newest_lines(session, SpendRecord, col(SpendRecord.vendor), behind, as_of)
    views = [
        SpendLineView(
            line.spent_on,
            line.descriptor,
            line.amount_cents,
            line.currency,
            line.payer_email,
            line.cost_center,
            "marketplace" if line.marketplace else "card",
        )
        for line in lines
    ]
    views += [
        SpendLineView(r.spent_on, r.vendor, r.amount_cents, r.currency, None, r.cost_center, "ap") for r in records
    ]
    views.sort(key=lambda v: v.spent_on, reverse=True)
    return DiscoveryDetail(_row(found, as_of), views[:MAX_DETAIL_LINES], len(views) > MAX_DETAIL_LINES)


_Spent = TypeVar("_Spent", SpendLine, SpendRecord)


def _newest_lines(
    session: Session, table: type[_Spent], named: Mapped[str], behind: Callable[[str], bool], as_of: date
) -> Sequence[_Spent]:
    """The newest lines of `table` up to `as_of` whose `named` column (the descriptor or the
    vendor) is recognised as the product (`behind`): one more than the detail shows, so it can
    tell that it is cut."""
    names = [name for name in session.exec(select(named).distinct()).all() if behind(name)]
    if not names:
        return []
    return session.exec(
        select(table)
        .where(col(named).in_(names), col(table.spent_on) <= as_of)
        .order_by(col(table.spent_on).desc(), col(table.id))
        .limit(MAX_DETAIL_LINES + 1)
    ).all()


def decision_counts(session: Session, *, as_of: date) -> dict[str, int]:
    """For the Overview: products seen that wait for ITAM's decision (those a new digest would
    list), and blocked products still in use."""
    rows = session.exec(
        select(Discovery).where(
            (col(Discovery.lines) > 0) | (col(Discovery.sso_users) > 0), col(Discovery.status).in_(NEEDS_DECISION)
        )
    ).all()
    waiting = sum(
        needs_decision(status=r.status, decision=r.decision, suppressed_until=r.suppressed_until, as_of=as_of)
        for r in rows
    )
    return {"to_decide": waiting, "blocked_in_use": sum(r.status == "blocked_in_use" for r in rows)}
