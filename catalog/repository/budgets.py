"""Budget lines, reservations against them, actual spend, and cloud commitments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, func, update
from sqlmodel import Session, col, select

from catalog.models import Budget, BudgetReservation, Commitment, CommitmentDrawdown, Person, SpendRecord
from catalog.projection import copy_fields
from catalog.repository.audit import audit
from catalog.repository.keyed import first_row, insert_once, insert_row_once, save
from catalog.repository.statements import BUDGET_LINE, RESERVATION
from catalog.rules.budget import BudgetError, BudgetLine, convert, exchange_rate

_COMMIT_TO_BUDGET = (
    update(Budget)
    .where(col(Budget.id) == bindparam("b_id"))
    .values(committed_cents=col(Budget.committed_cents) + bindparam("b_amount"))
    .execution_options(synchronize_session=False)
)


def get_budget(session: Session, *, cost_center: str, fiscal_year: int) -> Budget | None:
    return session.exec(BUDGET_LINE, params={"cost_center": cost_center, "fiscal_year": fiscal_year}).first()


def lock_budget_line(session: Session, *, cost_center: str, fiscal_year: int) -> None:
    """Hold the budget line until the transaction ends, so that two approvals closing at once
    are checked against it one after the other (PostgreSQL: `SELECT … FOR UPDATE`; SQLite's
    writers already hold the database's one write lock from `BEGIN IMMEDIATE`)."""
    session.exec(
        select(Budget.id).where(Budget.cost_center == cost_center, Budget.fiscal_year == fiscal_year).with_for_update()
    ).first()


def save_budget(session: Session, *, budget: Budget) -> Budget:
    """Write a budget line as changed in this session (a new one is added)."""
    return save(session, budget)


def save_commitment(session: Session, *, commitment: Commitment) -> Commitment:
    """Write a commitment as changed in this session (a new one is added)."""
    return save(session, commitment)


def list_budgets(session: Session, *, fiscal_year: int | None = None) -> Sequence[Budget]:
    query = select(Budget).order_by(col(Budget.fiscal_year), col(Budget.cost_center))
    if fiscal_year is not None:
        query = query.where(Budget.fiscal_year == fiscal_year)
    return session.exec(query).all()


def known_cost_centers(session: Session) -> set[str]:
    """Cost centers that have a budget in any year or a person in the directory."""
    budgeted = session.exec(select(Budget.cost_center).distinct()).all()
    staffed = session.exec(select(Person.cost_center).where(col(Person.cost_center).is_not(None)).distinct()).all()
    return {c for c in [*budgeted, *staffed] if c and c.strip()}


def budget_snapshot(budget: Budget | None) -> dict[str, Any] | None:
    """A budget line as plain JSON, for audit details (`detail["budget"]`)."""
    if budget is None:
        return None
    line = copy_fields(BudgetLine, budget)
    return asdict(line) | {"available_cents": line.available_cents}


def ensure_budget_line(session: Session, *, cost_center: str, fiscal_year: int, currency: str) -> Budget:
    """The budget line, created with an annual budget of 0 when there is none, so spending
    without a budget shows as overspend instead of disappearing."""
    return insert_once(
        session,
        Budget(cost_center=cost_center, fiscal_year=fiscal_year, annual_cents=0, currency=currency),
        lambda: get_budget(session, cost_center=cost_center, fiscal_year=fiscal_year),
    )


def get_reservation(session: Session, *, request_id: str) -> BudgetReservation | None:
    return session.exec(RESERVATION, params={"request_id": request_id}).first()


def reserve_budget(
    session: Session,
    *,
    request_id: str,
    cost_center: str,
    fiscal_year: int,
    amount_cents: int,
    currency: str,
    at: datetime,
    actor: str = "system",
    rates: Mapping[str, Decimal] | None = None,
    line_currency: str | None = None,
) -> tuple[BudgetReservation, bool]:
    """Add an approved request's annual cost to its budget's `committed`, exactly once per
    request: returns the reservation and whether this call made it.

    `amount_cents` is in `currency` (the request's); `committed` is in the budget line's
    currency, so the amount is converted with `rates` (the policy's) and the reservation
    records both amounts and the rate. A line created here, because the cost center has none
    that year, is in `line_currency` (the policy's currency; default: the request's). Raises
    `BudgetError` before writing anything when a rate the conversion needs is missing.

    The unique request id on the reservation is the lock: of concurrent callers one inserts
    it and the others find it (after waiting for that transaction), and only the inserter
    moves `committed`, with an atomic UPDATE so reservations of other requests are not lost."""
    if amount_cents < 0:
        raise ValueError(f"a reservation can't be negative ({amount_cents})")
    line = get_budget(session, cost_center=cost_center, fiscal_year=fiscal_year)
    target = (line.currency if line is not None else line_currency or currency).upper()
    try:
        budget_cents = convert(amount_cents, currency, target, rates)
        rate = exchange_rate(currency, target, rates)
    except BudgetError:
        # A retry after the rate went away still finds what the first run reserved.
        done = get_reservation(session, request_id=request_id)
        if done is not None:
            return done, False
        raise
    row = BudgetReservation(
        request_id=request_id,
        cost_center=cost_center,
        fiscal_year=fiscal_year,
        amount_cents=amount_cents,
        currency=currency,
        at=at,
        budget_cents=budget_cents,
        budget_currency=target,
        rate=format(rate, "f"),
    )
    reservation, inserted = insert_row_once(
        session, row, ("request_id",), lambda: get_reservation(session, request_id=request_id)
    )
    if not inserted:
        return reservation, False
    budget = line or ensure_budget_line(session, cost_center=cost_center, fiscal_year=fiscal_year, currency=target)
    session.connection().execute(_COMMIT_TO_BUDGET, {"b_id": budget.id, "b_amount": budget_cents})
    session.refresh(budget)
    audit(
        session,
        idem_key=f"{request_id}:budget_reserved",
        at=at,
        entity="budget",
        entity_id=f"{cost_center}:{fiscal_year}",
        action="budget_reserved",
        actor=actor,
        request_id=request_id,
        detail={
            "amount_cents": amount_cents,
            "currency": currency,
            "budget_cents": budget_cents,
            "budget_currency": target,
            "rate": format(rate, "f"),
            "budget": budget_snapshot(budget),
        },
    )
    return reservation, True


def add_spend_record(session: Session, *, record: SpendRecord) -> tuple[SpendRecord, bool]:
    """Store one line of actual spend unless a line with its `source_key` is already there;
    returns the stored line and whether it is new."""
    stored = insert_once(
        session,
        record,
        lambda: session.exec(select(SpendRecord).where(SpendRecord.source_key == record.source_key)).first(),
    )
    return stored, stored is record


def spend_totals(session: Session, *, cost_center: str, start: date, stop: date) -> dict[str, int]:
    """The sum of imported spend of a cost center in [start, stop), per currency."""
    rows = session.exec(
        select(SpendRecord.currency, func.sum(SpendRecord.amount_cents))
        .where(
            SpendRecord.cost_center == cost_center,
            col(SpendRecord.spent_on) >= start,
            col(SpendRecord.spent_on) < stop,
        )
        .group_by(col(SpendRecord.currency))
    ).all()
    return {currency: int(total or 0) for currency, total in rows}


def budget_row(session: Session, *, cost_center: str | None, fiscal_year: int) -> Row[Any] | None:
    """`get_budget` as a plain row, for read-only views (see `request_rows`)."""
    return first_row(session, BUDGET_LINE, {"cost_center": cost_center, "fiscal_year": fiscal_year})


def list_commitments(session: Session) -> Sequence[Commitment]:
    return session.exec(select(Commitment).order_by(col(Commitment.end_date), col(Commitment.name))).all()


def get_commitment(session: Session, *, name: str) -> Commitment | None:
    return session.exec(select(Commitment).where(Commitment.name == name)).first()


def commitment_drawn(session: Session, *, commitment_id: int) -> tuple[int, int]:
    """What the bot's approved purchases drew from a commitment (the part billed outside it,
    `overflow_cents`, left out), and how many purchases drew from it."""
    drawn = col(CommitmentDrawdown.amount_cents) - col(CommitmentDrawdown.overflow_cents)
    total, count = session.exec(
        select(func.coalesce(func.sum(drawn), 0), func.count()).where(CommitmentDrawdown.commitment_id == commitment_id)
    ).one()
    return int(total), int(count)


def get_drawdown(session: Session, *, request_id: str) -> CommitmentDrawdown | None:
    return session.exec(select(CommitmentDrawdown).where(CommitmentDrawdown.request_id == request_id)).first()


def draw_commitment(
    session: Session,
    *,
    request_id: str,
    commitment_name: str,
    amount_cents: int,
    at: datetime,
    actor: str = "system",
) -> CommitmentDrawdown:
    """Draw an approved marketplace purchase from a commitment, exactly once per request.

    `amount_cents` is in the commitment's currency. The commitment's remaining amount goes
    down by what it can cover; the rest is recorded as `overflow_cents` (billed outside it)."""
    if amount_cents < 0:
        raise ValueError(f"a drawdown can't be negative ({amount_cents})")
    existing = get_drawdown(session, request_id=request_id)
    if existing is not None:
        return existing
    # Lock the commitment row (PostgreSQL; SQLite writers are serialised already) so two
    # requests drawing at once both see the remaining amount the other left.
    commitment = session.exec(select(Commitment).where(Commitment.name == commitment_name).with_for_update()).first()
    if commitment is None:
        raise LookupError(f"no commitment named {commitment_name!r}")
    assert commitment.id is not None
    drawn = min(amount_cents, max(commitment.remaining_cents, 0))
    row = CommitmentDrawdown(
        request_id=request_id,
        commitment_id=commitment.id,
        amount_cents=amount_cents,
        overflow_cents=amount_cents - drawn,
        at=at,
    )
    drawdown = insert_once(session, row, lambda: get_drawdown(session, request_id=request_id))
    if drawdown is not row:
        return drawdown
    before = commitment.remaining_cents
    commitment.remaining_cents = before - drawn
    session.add(commitment)
    session.flush()
    audit(
        session,
        idem_key=f"{request_id}:commitment_drawn",
        at=at,
        entity="commitment",
        entity_id=commitment.name[:64],
        action="commitment_drawn",
        actor=actor,
        request_id=request_id,
        detail={
            "commitment": commitment.name,
            "currency": commitment.currency,
            "amount_cents": amount_cents,
            "drawn_cents": drawn,
            "overflow_cents": amount_cents - drawn,
            "remaining_before_cents": before,
            "remaining_after_cents": commitment.remaining_cents,
        },
    )
    return drawdown
