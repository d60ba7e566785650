"""Who may renew at what cost (docs/decisions.md, "Renewal authority").

The owner of an asset (or ITAM) records a renewal at the same or a lower annual cost
directly from the reminder. A renewal that costs more a year than the term it follows is a
*renewal request*: a purchase request linked to the contract's term, routed by policy.yaml
for the increase, which on approval records the renewal and reserves the increase. While one
is pending for a term, no other Renew of that term is taken.

Pure: the term in force, the quote of a renewal against it, and what a refused Renew says. Which
renewal request of a term still waits is a query, `catalog.repository.pending_renewal_request`."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from catalog.money import format_money_symbol
from catalog.rules.requests import RenewalQuote, renewal_quote
from catalog.rules.usage_based import seats_text, units
from catalog.text import escape_mrkdwn, plural

if TYPE_CHECKING:
    from catalog.models import Asset, Contract, PurchaseRequest


def term_in_force(contract: Contract, asset: Asset, renewal_date: date) -> tuple[int | None, int, int]:
    """(seats, price per seat, annual cost) of the term that ends on `renewal_date`. A renewal
    agreed for an earlier term that has not begun yet (`Contract.next_term_*`) is that term's;
    otherwise it is the asset's own. Seats None: usage-based, priced as one contract a year."""
    if contract.next_term_from is not None and contract.next_term_from < renewal_date:
        seats = contract.next_term_seats if contract.next_term_seats is not None else asset.seats
        price = (
            contract.next_term_unit_price_cents
            if contract.next_term_unit_price_cents is not None
            else asset.unit_price_cents
        )
        annual = (
            contract.next_term_annual_cost_cents
            if contract.next_term_annual_cost_cents is not None
            else units(seats) * price
        )
        return seats, price, annual
    return asset.seats, asset.unit_price_cents, asset.annual_cost_cents


def requested_seats(asset: Asset, seats: int) -> int | None:
    """The seats a renewal request's row asks for, as the renewal reads them: none for a
    usage-based contract, whose request row counts one contract (`units`)."""
    return None if asset.seats is None else seats


def quote_renewal(
    contract: Contract, asset: Asset, renewal_date: date, *, seats: int | None, unit_price_cents: int | None
) -> RenewalQuote:
    """The renewal of the term ending on `renewal_date` at `seats` × `unit_price_cents` (blank:
    the current term's), against that term. Raises `RequestInputError` past the caps."""
    current_seats, current_price, current_annual = term_in_force(contract, asset, renewal_date)
    return renewal_quote(
        current_seats=current_seats,
        current_unit_price_cents=current_price,
        current_annual_cents=current_annual,
        currency=asset.currency,
        seats=seats,
        unit_price_cents=unit_price_cents,
    )


def quote_request(
    contract: Contract, asset: Asset, renewal_date: date, *, seats: int, unit_price_cents: int | None
) -> RenewalQuote:
    """`quote_renewal` of a renewal request: its row's `seats` as `requested_seats` reads them."""
    return quote_renewal(
        contract, asset, renewal_date, seats=requested_seats(asset, seats), unit_price_cents=unit_price_cents
    )


def pending_refusal(request: PurchaseRequest) -> str:
    """A second Renew of a term while a renewal request for it waits (mrkdwn)."""
    price = escape_mrkdwn(format_money_symbol(request.unit_price_cents, request.currency))
    who = f", asked by <@{request.requester_slack_id}>" if request.requester_slack_id.isalnum() else ""
    return (
        f"A renewal of this term is already waiting for approval: {escape_mrkdwn(request.id)} "
        f"({plural(request.seats, 'seat')} at {price} per seat{who}). Wait for its decision, or withdraw it first."
    )


def terms_text(quote: RenewalQuote) -> str:
    """The new term as "8 seats × $150.00", or "usage-based, $50,000.00 a year" (plain text)."""
    return _terms(quote.seats, quote.unit_price_cents, quote.currency)


def current_terms_text(quote: RenewalQuote) -> str:
    """The current term as "5 seats × $180.00" (plain text)."""
    return _terms(quote.current_seats, quote.current_unit_price_cents, quote.currency)


def _terms(seats: int | None, unit_price_cents: int, currency: str) -> str:
    price = format_money_symbol(unit_price_cents, currency)
    if seats is None:
        return f"{seats_text(seats)}, {price} a year"
    return f"{plural(seats, 'seat')} × {price}"


def needs_approval_refusal(quote: RenewalQuote) -> str:
    """Why a Renew is not recorded directly: it costs more a year than the current term."""
    return (
        f"Renewing at {terms_text(quote)} costs {format_money_symbol(quote.annual_cost_cents, quote.currency)} a year, "
        f"{format_money_symbol(quote.increase_cents, quote.currency)} more than the current term "
        f"({format_money_symbol(quote.current_annual_cents, quote.currency)}): it needs approval. "
        "Submit it from the reminder's Renew button to send it to the approvers."
    )
