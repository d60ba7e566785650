"""The renewal side of the asset register, as of a day: when a contract renews and whether its
notice deadline has passed, the seats and price a renewal agreed for the next term, and what
was decided about each term. What `procure assets list/show` print.

Reads only; like `repository`, every function takes the session as a keyword argument."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from catalog.models import Asset, AuditEvent, Contract, RenewalTerm
from catalog.money import format_money_symbol
from catalog.projection import copy_fields
from catalog.renewal_text import renewal_phrase
from catalog.repository.reminders import plan_contract, term_decision_phrase
from catalog.rules.renewals import HolidayCalendar
from catalog.rules.usage_based import units

__all__ = ["NextTerm", "RenewalOutlook", "TermDecision", "contract_audit", "renewal_outlook"]


@dataclass(frozen=True)
class TermDecision:
    renewal_date: date
    status: str  # catalog.models.RenewalStatus
    text: str  # catalog.renewal_text.term_decision_phrase

    def as_json(self) -> dict[str, Any]:
        return {"renewal_date": self.renewal_date.isoformat(), "status": self.status, "decision": self.text}


@dataclass(frozen=True)
class NextTerm:
    """Seats and price a renewal agreed, in force from `starts` (the renewal date)."""

    starts: date
    seats: int | None  # None: usage-based, the annual cost is the contract value
    unit_price_cents: int
    annual_cost_cents: int
    currency: str

    @property
    def text(self) -> str:
        if self.seats is None:
            return (
                f"from {self.starts.isoformat()}: usage-based, "
                f"{format_money_symbol(self.annual_cost_cents, self.currency)} a year"
            )
        return (
            f"from {self.starts.isoformat()}: {self.seats} seats at "
            f"{format_money_symbol(self.unit_price_cents, self.currency)} per seat "
            f"({format_money_symbol(self.annual_cost_cents, self.currency)} a year)"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.starts.isoformat(),
            "seats": self.seats,
            "unit_price_cents": self.unit_price_cents,
            "annual_cost_cents": self.annual_cost_cents,
            "text": self.text,
        }


@dataclass(frozen=True)
class RenewalOutlook:
    as_of: date
    renewal_date: date  # the first renewal after as_of (or the end, without auto-renew)
    deadline: date
    cancel_by: date | None
    auto_renew: bool
    next_deadline: date  # the first deadline still ahead (reminders follow it)
    cancelled: bool  # the term renewing next was cancelled: the contract ends on its renewal date
    seats: int | None  # in force on as_of: a renewed term's, once it has begun; None: usage-based
    annual_cost_cents: int
    next_term: NextTerm | None  # agreed by a renewal, not begun on as_of
    decisions: tuple[TermDecision, ...]  # every term someone acted on, oldest first

    @property
    def text(self) -> str:
        """`renews 2027-01-15 — notice deadline passed 2026-12-16` (`catalog.renewal_text`)."""
        return renewal_phrase(self, as_of=self.as_of, cancelled=self.cancelled)

    @property
    def deadline_passed(self) -> bool:
        return self.deadline < self.as_of

    @property
    def decision(self) -> str | None:
        """What was decided about the term renewing next, if anything."""
        return next((d.text for d in self.decisions if d.renewal_date == self.renewal_date), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "renewal_date": self.renewal_date.isoformat(),
            "deadline": self.deadline.isoformat(),
            "cancel_by": self.cancel_by.isoformat() if self.cancel_by else None,
            "deadline_passed": self.deadline_passed,
            "next_deadline": self.next_deadline.isoformat(),
            "text": self.text,
            "seats": self.seats,
            "annual_cost_cents": self.annual_cost_cents,
            "next_term": self.next_term.as_json() if self.next_term else None,
            "decisions": [d.as_json() for d in self.decisions],
        }


def renewal_outlook(
    session: Session, *, asset: Asset, contract: Contract, as_of: date, calendar: HolidayCalendar
) -> RenewalOutlook | None:
    """The contract's renewal as of `as_of` (None when its dates cannot be planned)."""
    plan = plan_contract(contract, as_of=as_of, calendar=calendar)
    if plan is None or contract.id is None:
        return None
    terms = session.exec(
        select(RenewalTerm).where(RenewalTerm.contract_id == contract.id).order_by(col(RenewalTerm.renewal_date))
    ).all()
    decisions = tuple(
        TermDecision(t.renewal_date, t.status, text)
        for t in terms
        if (text := term_decision_phrase(t, currency=asset.currency, as_of=as_of, usage_based=asset.seats is None))
    )
    cancelled = any(t.renewal_date == plan.renewal_date and t.status == "cancelled" for t in terms)
    next_term = None
    if contract.next_term_from is not None:
        seats = contract.next_term_seats if contract.next_term_seats is not None else asset.seats
        price = (
            contract.next_term_unit_price_cents
            if contract.next_term_unit_price_cents is not None
            else asset.unit_price_cents
        )
        annual = contract.next_term_annual_cost_cents
        next_term = NextTerm(
            contract.next_term_from, seats, price, units(seats) * price if annual is None else annual, asset.currency
        )
    if next_term is not None and next_term.starts <= as_of:
        # Begun, and not yet applied by the daily scan: the register already shows it.
        seats, annual_cost, next_term = next_term.seats, next_term.annual_cost_cents, None
    else:
        seats, annual_cost = asset.seats, asset.annual_cost_cents
    return copy_fields(
        RenewalOutlook,
        plan,
        as_of=as_of,
        auto_renew=contract.auto_renew,
        cancelled=cancelled,
        seats=seats,
        annual_cost_cents=annual_cost,
        next_term=next_term,
        decisions=decisions,
    )


def contract_audit(session: Session, *, contract_id: int) -> list[AuditEvent]:
    """The contract's own audit trail: renewal decisions, reminders, re-arming, terms applied."""
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "contract", AuditEvent.entity_id == str(contract_id))
            .order_by(col(AuditEvent.id))
        ).all()
    )
