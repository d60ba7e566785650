"""How a renewal reads in the register, the digest and the App Home: when a contract renews
and whether its notice deadline has passed, and what was decided about a term.

Pure: plain values in, plain text out (dates as YYYY-MM-DD). Slack callers escape the result
for mrkdwn (it may carry an email address); the CLI prints it as it is."""

from __future__ import annotations

from datetime import date

from catalog.money import format_money_symbol

__all__ = ["decision_phrase", "renewal_phrase"]

DASH = "—"


def renewal_phrase(
    *, as_of: date, auto_renew: bool, renewal_date: date, deadline: date, cancelled: bool = False
) -> str:
    """`renews 2027-01-15 — notice deadline passed 2026-12-16`, `renews … — cancel by …`, or for
    a contract that does not renew by itself `ends …` / `ended …` (with the deadline to decide
    by, unless the renewal was cancelled: nothing is left to decide)."""
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


def decision_phrase(
    *,
    status: str,
    currency: str,
    decided_by: str | None = None,
    decided_on: date | None = None,
    snoozed_until: date | None = None,
    itam_owner_email: str | None = None,
    renew_seats: int | None = None,
    renew_unit_price_cents: int | None = None,
    usage_based: bool = False,
) -> str:
    """`renewed by … on … · 10 seats at $100.00 per seat` (usage-based: `at $50,000.00 a year`),
    `cancelled by … on …`, `renegotiating (…)`, `snoozed until …`; empty when nobody has acted
    on the term."""
    by = f" by {decided_by}" if decided_by else ""
    on = f" on {decided_on.isoformat()}" if decided_on else ""
    if status == "renewed":
        terms = ""
        if renew_seats is not None:
            terms += f" · {renew_seats} seats"
        if renew_unit_price_cents is not None:
            per = "a year" if usage_based else "per seat"  # usage-based: the price is the yearly value
            terms += f" at {format_money_symbol(renew_unit_price_cents, currency)} {per}"
        return f"renewed{by}{on}{terms}"
    if status == "cancelled":
        return f"cancelled{by}{on} (not renewing)"
    parts = []
    if itam_owner_email:
        parts.append(f"renegotiating (owner {itam_owner_email})")
    if snoozed_until is not None:
        parts.append(f"snoozed until {snoozed_until.isoformat()}")
    return " · ".join(parts)
