"""The renewal calendar kept per contract (`ContractPlan`), so renewals are read with an
indexed query: the App Home, the weekly digest and the console's renewal pages.

`refresh_plans` plans again (with `catalog.rules.renewals.plan_renewal`, through
`renewal_calendar.plan_row`) only the contracts whose stored plan no longer answers for `as_of`: none
yet, terms or holiday calendar changed since, or (renewing by itself) its renewal date has come.
At 100,000 contracts that is every contract once, then the few hundred a day whose term rolled
over. `planned_renewals` then filters, counts and pages in SQL; `upcoming_renewals_page` and
`renewals_home` are the digest's and the App Home's renewals read that way. Like the rest of
`repository`, functions take the session and never commit.

Plans are kept where they change, so that a read does not write (docs/decisions.md, 54):
a flush that changes a contract's terms drops its plan (`_drop_changed_plans`, for every
writer), an edit or import of dates plans it again at once (`replan`), and the daily renewal
scan plans what the day alone made stale (`refresh_plans`). Reads call `ensure_plans`: a few
indexed look-ups that find nothing to do when the plans are current, and otherwise plan only
what is missing (or everything again after a change of holiday calendar or a rollover the
scan has not planned yet), so a read is right even before the scan."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, event, exists, func, inspect, not_, or_, select, true
from sqlalchemy import delete as sa_delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlmodel import Session, col
from sqlmodel import select as sqlmodel_select

from catalog.models import Asset, Contract, ContractPlan, RenewalStatus, RenewalTerm
from catalog.ports import UpcomingRenewal
from catalog.projection import copy_fields
from catalog.rules.renewals import HolidayCalendar

CHUNK = 2_000
_FINGERPRINT = (
    ("start_date", Contract.start_date),
    ("term_months", Contract.term_months),
    ("auto_renew", Contract.auto_renew),
    ("notice_days", Contract.notice_days),
    ("notice_basis", Contract.notice_basis),
    ("contract_renewal_date", Contract.renewal_date),
)


def calendar_key(calendar: HolidayCalendar) -> str:
    """A short digest of what makes a day a business day for `calendar`."""
    text = "|".join(
        [calendar.country or "", calendar.subdivision or "", *sorted(d.isoformat() for d in calendar.extra)]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def valid_plan(*, as_of: date, calendar: HolidayCalendar) -> ColumnElement[bool]:
    """The join condition of a contract with a plan that answers for `as_of`."""
    same_terms = [col(getattr(ContractPlan, name)) == col(column) for name, column in _FINGERPRINT]
    still_ahead = or_(
        not_(col(Contract.auto_renew)),
        col(ContractPlan.renewal_date).is_(None),
        and_(col(ContractPlan.planned_on) <= as_of, col(ContractPlan.renewal_date) > as_of),
    )
    return and_(
        col(ContractPlan.contract_id) == col(Contract.id),
        col(ContractPlan.calendar) == calendar_key(calendar),
        *same_terms,
        still_ahead,
    )


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), CHUNK):
        statement = insert(ContractPlan).values(rows[start : start + CHUNK])
        update = {c: statement.excluded[c] for c in rows[0] if c != "contract_id"}
        session.execute(statement.on_conflict_do_update(index_elements=["contract_id"], set_=update))


def refresh_plans(session: Session, *, as_of: date, calendar: HolidayCalendar) -> int:
    """Plan again the contracts whose stored plan does not answer for `as_of`; returns how many.
    A full pass over the contracts: the daily scan's, and `ensure_plans`'s when the calendar
    or the day made plans stale."""
    stale = (
        select(col(Contract.id), *(column for _, column in _FINGERPRINT))
        .outerjoin(ContractPlan, valid_plan(as_of=as_of, calendar=calendar))
        .where(col(ContractPlan.contract_id).is_(None))
        # In id order, so two transactions filling the same plans lock rows in the same order.
        .order_by(col(Contract.id))
    )
    return _plan(session, stale, as_of=as_of, calendar=calendar)


def replan(session: Session, *, contract_ids: Sequence[int], as_of: date, calendar: HolidayCalendar) -> int:
    """Plan these contracts again now (after their terms changed); returns how many."""
    ids = sorted(set(contract_ids))
    query = select(col(Contract.id), *(column for _, column in _FINGERPRINT)).order_by(col(Contract.id))
    return sum(
        _plan(session, query.where(col(Contract.id).in_(ids[start : start + 500])), as_of=as_of, calendar=calendar)
        for start in range(0, len(ids), 500)
    )


def stale_by_time_or_calendar(session: Session, *, as_of: date, calendar: HolidayCalendar) -> bool:
    """Whether some stored plan no longer answers for `as_of` although its contract did not
    change: planned with another holiday calendar, or renewing by itself and planned after
    `as_of` or before a renewal date that has come (`valid_plan`'s other conditions). Three
    look-ups on indexes (ix_contract_plan_calendar, ix_contract_plan_rollover,
    ix_contract_plan_planned_on), whatever the number of contracts."""
    key = calendar_key(calendar)
    calendars = col(ContractPlan.calendar)
    lowest = session.execute(select(func.min(calendars))).scalar_one()
    if lowest is None:
        return False  # no plans at all
    if lowest != key or session.execute(select(func.max(calendars))).scalar_one() != key:
        return True
    # min / max rather than "exists … limit 1": PostgreSQL misjudged the latter and scanned the
    # table (25 ms); an extreme on an index whose first column is fixed is one index step.
    renews = col(ContractPlan.auto_renew) == true()
    first_renewal = session.execute(select(func.min(col(ContractPlan.renewal_date))).where(renews)).scalar_one()
    if first_renewal is not None and first_renewal <= as_of:
        return True
    last_planned = session.execute(select(func.max(col(ContractPlan.planned_on))).where(renews)).scalar_one()
    return last_planned is not None and last_planned > as_of


def ensure_plans(session: Session, *, as_of: date, calendar: HolidayCalendar) -> int:
    """Make the stored plans answer for `as_of` before a read; returns how many were planned.

    When they do already (writers and the daily scan keep them so) this only reads: the
    checks of `stale_by_time_or_calendar` and two counts. Contracts without a plan — new, or
    whose terms a flush changed (`_drop_changed_plans`) — are planned by themselves; a change
    of calendar or a rollover not planned yet takes the full pass (`refresh_plans`).

    Once made current in a transaction, a second call there (a page reading two ranges) is
    free until a flush writes a contract (`_drop_changed_plans` forgets it)."""
    current = (as_of, calendar_key(calendar))
    if session.info.get(_CURRENT) == current:
        return 0
    planned = _ensure(session, as_of=as_of, calendar=calendar)
    session.info[_CURRENT] = current
    return planned


_CURRENT = "renewal_plans_current"


def _ensure(session: Session, *, as_of: date, calendar: HolidayCalendar) -> int:
    if stale_by_time_or_calendar(session, as_of=as_of, calendar=calendar):
        return refresh_plans(session, as_of=as_of, calendar=calendar)
    contracts = session.execute(select(func.count()).select_from(Contract)).scalar_one()
    plans = session.execute(select(func.count()).select_from(ContractPlan)).scalar_one()
    if contracts == plans:
        return 0
    unplanned = (
        select(col(Contract.id), *(column for _, column in _FINGERPRINT))
        .where(~exists().where(col(ContractPlan.contract_id) == col(Contract.id)))
        .order_by(col(Contract.id))
    )
    return _plan(session, unplanned, as_of=as_of, calendar=calendar)


def _plan(session: Session, contracts: Any, *, as_of: date, calendar: HolidayCalendar) -> int:
    """Plan the contracts `contracts` selects (id then the fingerprint's columns) and store
    their plans; returns how many."""
    from catalog.repository.renewal_calendar import plan_row

    key = calendar_key(calendar)
    rows: list[dict[str, Any]] = []
    for contract_id, start, term, auto_renew, notice, basis, renewal in session.execute(contracts).all():
        plan = plan_row(
            (int(contract_id), start, term, auto_renew, notice, basis, renewal),
            as_of=as_of,
            calendar=calendar,
            last_sent=None,
        )
        rows.append(
            {
                "contract_id": contract_id,
                "start_date": start,
                "term_months": term,
                "auto_renew": auto_renew,
                "notice_days": notice,
                "notice_basis": basis,
                "contract_renewal_date": renewal,
                "calendar": key,
                "planned_on": as_of,
                "renewal_date": plan.renewal_date if plan else None,
                "deadline": plan.deadline if plan else None,
            }
        )
    if rows:
        _upsert(session, rows)
    return len(rows)


#: The contract attributes a plan is planned from.
_FINGERPRINT_NAMES = ("start_date", "term_months", "auto_renew", "notice_days", "notice_basis", "renewal_date")


@event.listens_for(OrmSession, "after_flush")
def _drop_changed_plans(session: OrmSession, _context: Any) -> None:
    """A contract whose terms this flush changed loses its stored plan, in the same
    transaction: whichever code wrote it, no read answers from the old terms, and
    `ensure_plans` plans it again (or `replan`, for writers that know the calendar).
    Writes that bypass the ORM (`UPDATE contract ...`) must drop the plan themselves."""
    if any(isinstance(obj, Contract) for obj in session.new):
        session.info.pop(_CURRENT, None)  # a new contract has no plan yet
    changed = [
        obj.id
        for obj in session.dirty
        if isinstance(obj, Contract)
        and obj.id is not None
        and any(inspect(obj).attrs[name].history.has_changes() for name in _FINGERPRINT_NAMES)
    ]
    if changed:
        session.info.pop(_CURRENT, None)
        session.connection().execute(sa_delete(ContractPlan).where(col(ContractPlan.contract_id).in_(changed)))


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_current(session: OrmSession, transaction: Any) -> None:
    """What `ensure_plans` checked holds for one transaction only."""
    if transaction.parent is None:
        session.info.pop(_CURRENT, None)


@dataclass(frozen=True)
class PlannedRenewal:
    """A contract's term renewing next, with what the renewal views show of its asset."""

    contract_id: int
    asset_id: int
    auto_renew: bool
    renewal_date: date
    deadline: date
    product_name: str
    vendor: str | None
    owner_email: str
    cost_center: str
    seats: int | None  # None: usage-based
    annual_cost_cents: int
    currency: str


def cancelled_term() -> ColumnElement[bool]:
    """The planned term is not renewing: it, or an earlier term, was cancelled (the contract
    ends at the first cancelled renewal date)."""
    cancelled = col(RenewalTerm.status) == RenewalStatus.CANCELLED.value
    # The IN list (the few contracts ever cancelled) lets the database start from them.
    return and_(
        col(ContractPlan.contract_id).in_(select(col(RenewalTerm.contract_id)).where(cancelled)),
        exists().where(
            col(RenewalTerm.contract_id) == col(ContractPlan.contract_id),
            cancelled,
            col(RenewalTerm.renewal_date) <= col(ContractPlan.renewal_date),
        ),
    )


def planned_renewals(
    session: Session,
    *,
    as_of: date,
    where: Sequence[ColumnElement[bool]] = (),
    limit: int | None = None,
    offset: int = 0,
    count: bool = True,
) -> tuple[list[PlannedRenewal], int]:
    """Terms renewing after `as_of` that match `where` (conditions on `ContractPlan`, `Contract`
    and `Asset`), soonest deadline first, and how many match in all (-1 with a `limit` and not
    `count`: the caller counts). The plans must answer for `as_of` (`ensure_plans` in this
    transaction)."""
    conditions = [col(ContractPlan.renewal_date) > as_of, *where]
    # With a limit and conditions on the plans alone, the page is chosen from the plans (an
    # index) before joining: not the tens of thousands of rows a 90-day window holds at
    # 100,000 contracts joined, then sorted.
    page_first = limit is not None and {t for c in conditions for t in _tables(c)} <= {"contract_plan"}
    plans: Any = ContractPlan.__table__  # type: ignore[attr-defined]
    if page_first:
        plans = (
            select(col(ContractPlan.contract_id), col(ContractPlan.renewal_date), col(ContractPlan.deadline))
            .where(*conditions)
            .order_by(col(ContractPlan.deadline), col(ContractPlan.contract_id))
            .limit(limit)
            .offset(offset)
            .subquery("page")
        )
    query = (
        select(
            col(Contract.id),
            col(Asset.id),
            col(Contract.auto_renew),
            plans.c.renewal_date,
            plans.c.deadline,
            col(Asset.product_name),
            col(Asset.vendor),
            col(Asset.owner_email),
            col(Asset.cost_center),
            col(Asset.seats),
            col(Asset.annual_cost_cents),
            col(Asset.currency),
        )
        .select_from(plans)
        .join(Contract, col(Contract.id) == plans.c.contract_id)
        .join(Asset, col(Asset.id) == col(Contract.asset_id))
        .order_by(plans.c.deadline, col(Contract.id))
    )
    if not page_first:
        query = query.where(*conditions)
        if limit is not None:
            query = query.limit(limit).offset(offset)
    found = [PlannedRenewal(*row) for row in session.execute(query).all()]
    if limit is None:
        return found, len(found)
    return found, count_plans(session, where=conditions) if count else -1


def count_plans(session: Session, *, where: Sequence[ColumnElement[bool]]) -> int:
    """How many stored plans match `where`; joins the contract and asset only when asked to."""
    query = select(func.count()).select_from(ContractPlan)
    tables = {name for condition in where for name in _tables(condition)}
    if tables & {"contract", "asset"}:
        query = query.join(Contract, col(Contract.id) == col(ContractPlan.contract_id))
    if "asset" in tables:
        query = query.join(Asset, col(Asset.id) == col(Contract.asset_id))
    return int(session.execute(query.where(*where)).scalar_one())


def _tables(condition: ColumnElement[bool]) -> set[str]:
    """Names of the tables whose columns `condition` reads."""
    columns = (e for e in visitors.iterate(condition) if isinstance(e, ColumnClause))
    return {str(c.table.name) for c in columns if c.table is not None and hasattr(c.table, "name")}


# --- the renewals still to decide and those ending (digest, App Home) ---------------------


def upcoming_renewals_page(
    session: Session,
    *,
    as_of: date,
    calendar: HolidayCalendar,
    horizon_days: int = 90,
    cancelled: bool = False,
    limit: int | None = None,
) -> tuple[list[UpcomingRenewal], int]:
    """The first `limit` of `upcoming_renewals` (all when None) and how many there are in all,
    read from the stored plans (made current first) with indexed queries."""
    ensure_plans(session, as_of=as_of, calendar=calendar)
    return _upcoming_page(session, as_of=as_of, horizon_days=horizon_days, cancelled=cancelled, limit=limit)


@dataclass(frozen=True)
class RenewalsHome:
    """The App Home's renewals: the first rows of each list and how many each has."""

    upcoming: list[UpcomingRenewal]
    upcoming_total: int
    ending: list[UpcomingRenewal]
    ending_total: int


def renewals_home(
    session: Session, *, as_of: date, calendar: HolidayCalendar, limit: int, horizon_days: int = 90
) -> RenewalsHome:
    """Renewals still to decide and contracts ending within the digest's horizon: `limit` of each."""
    ensure_plans(session, as_of=as_of, calendar=calendar)
    upcoming, upcoming_total = _upcoming_page(
        session, as_of=as_of, horizon_days=horizon_days, cancelled=False, limit=limit
    )
    ending, ending_total = _upcoming_page(session, as_of=as_of, horizon_days=horizon_days, cancelled=True, limit=limit)
    return RenewalsHome(upcoming, upcoming_total, ending, ending_total)


def _upcoming_page(
    session: Session, *, as_of: date, horizon_days: int, cancelled: bool, limit: int | None
) -> tuple[list[UpcomingRenewal], int]:
    from catalog.renewal_text import renewal_phrase, term_decision_phrase

    horizon = as_of + timedelta(days=horizon_days)
    # Still to decide: by its deadline; cancelled: by the day it ends.
    window = col(ContractPlan.renewal_date) <= horizon if cancelled else col(ContractPlan.deadline) <= horizon
    ended = cancelled_term()
    planned, total = planned_renewals(
        session, as_of=as_of, where=[window, ended if cancelled else not_(ended)], limit=limit, count=cancelled
    )
    if limit is not None and not cancelled:
        # Counted as all in the window less those cancelled: two index reads instead of a
        # look-up in the decisions for each of tens of thousands of plans.
        in_window = [col(ContractPlan.renewal_date) > as_of, window]
        total = count_plans(session, where=in_window) - count_plans(session, where=[*in_window, ended])
    terms = terms_of(session, keys=[(p.contract_id, p.renewal_date) for p in planned])
    found = []
    for p in planned:
        term = terms.get((p.contract_id, p.renewal_date))
        found.append(
            copy_fields(
                UpcomingRenewal,
                p,
                days_left=(p.deadline - as_of).days,
                status=term.status if term else RenewalStatus.OPEN,
                when=renewal_phrase(p, as_of=as_of, cancelled=cancelled),
                decision=(
                    term_decision_phrase(term, currency=p.currency, as_of=as_of, usage_based=p.seats is None)
                    if term
                    else ""
                ),
            )
        )
    return found, total


def terms_of(session: Session, *, keys: Sequence[tuple[int, date]]) -> dict[tuple[int, date], RenewalTerm]:
    """The decisions recorded on these (contract, renewal date) terms."""
    wanted = set(keys)
    ids = sorted({contract_id for contract_id, _ in wanted})
    found: dict[tuple[int, date], RenewalTerm] = {}
    for start in range(0, len(ids), 500):
        query = sqlmodel_select(RenewalTerm).where(col(RenewalTerm.contract_id).in_(ids[start : start + 500]))
        for term in session.exec(query).all():
            if (term.contract_id, term.renewal_date) in wanted:
                found[(term.contract_id, term.renewal_date)] = term
    return found
