"""How a renewal reads in the register, the digest and the App Home: when a contract renews
and whether its notice deadline has passed, and what was decided about a term.

Pure: plain values (or a stored term, read) in, plain text out (dates as YYYY-MM-DD). Slack callers escape the result
for mrkdwn (it may carry an email address); the CLI prints it as it is."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Protocol

from catalog.money import format_money_symbol

if TYPE_CHECKING:
    from catalog.models import RenewalTerm

__all__ = ["renewal_phrase", "term_decision_phrase"]

DASH = "—"


class RenewingTerm(Protocol):
    """What `renewal_phrase` reads of a term (a planned renewal, an asset's renewal outlook)."""

    @property
    def auto_renew(self) -> bool: ...
    @property
    def renewal_date(self) -> date: ...
    @property
    def deadline(self) -> date: ...


def renewal_phrase(term: RenewingTerm, *, as_of: date, cancelled: bool = False) -> str:
    """`renews 2027-01-15 — notice deadline passed 2026-12-16`, `renews … — cancel by …`, or for
    a contract that does not renew by itself `ends …` / `ended …` (with the deadline to decide
    by, unless the renewal was cancelled: nothing is left to decide)."""
    auto_renew, renewal_date, deadline = term.auto_renew, term.renewal_date, term.deadline
    if cancelled:
        return f"{'ended' if renewal_date <= as_of else 'ends'} {renewal_date.isoformat()}"
    if auto_renew:
        if deadline < as_of:
            return f"renews {renewal_date.isoformat()} {DASH} notice deadline passed {deadline.isoformat()}"
        return f"renews {renewal_date.isoformat()} {DASH} cancel by {deadline.isoformat()}"
    if renewal_date <= as_of:
        return f"ended {renewal_date.isoformat()}"
    if deadline < as_of:
        return f"ends {renewal_date.isoformat()} {DASH} decision deadline passed {deadline.isoformat()}"
    return f"ends {renewal_date.isoformat()} {DASH} decide by {deadline.isoformat()}"


def term_decision_phrase(term: RenewalTerm, *, currency: str, as_of: date, usage_based: bool = False) -> str:
    """What was decided about a term, in words: `renewed by … on … · 10 seats at $100.00 per
    seat` (usage-based: `at $50,000.00 a year`), `cancelled by … on …`, `renegotiating (…)`,
    `snoozed until …` (a snooze that has ended is not mentioned); empty when nobody has acted on
    the term."""
    by = f" by {term.decided_by}" if term.decided_by else ""
    on = f" on {term.decided_at.date().isoformat()}" if term.decided_at else ""
    if term.status == "renewed":
        terms = ""
        if term.renew_seats is not None:
            terms += f" · {term.renew_seats} seats"
        if term.renew_unit_price_cents is not None:
            per = "a year" if usage_based else "per seat"  # usage-based: the price is the yearly value
            terms += f" at {format_money_symbol(term.renew_unit_price_cents, currency)} {per}"
        return f"renewed{by}{on}{terms}"
    if term.status == "cancelled":
        return f"cancelled{by}{on} (not renewing)"
    parts = []
    if term.itam_owner_email:
        parts.append(f"renegotiating (owner {term.itam_owner_email})")
    if term.snoozed_until is not None and term.snoozed_until > as_of:
        parts.append(f"snoozed until {term.snoozed_until.isoformat()}")
    return " · ".join(parts)
