"""Buying more seats of a product we already own (docs/decisions.md, "Added seats join the
contract"): vendors co-term added seats with the running subscription, so the seats join the
existing contract and renew with it, and until that renewal they cost the prorated part of
their annual price.

Pure: contracts, amounts and `as_of` come in as arguments; no clock, no database.

* **running term**: the term of the contract's schedule that contains `as_of`, ending on the
  first renewal date after `as_of` (`renewal_date + k × term_months`, k ≥ 0; the schedule never
  drifts: `add_months` from its anchor). A contract that does not auto-renew has no term after
  its renewal date: it has ended, and there is nothing to join.
* **prorated cost**: the added seats' cost for the days from `as_of` to the renewal, at the
  rate of a full term: `annual × term_months / 12 × days_left / term_days`, where `term_days`
  is the length of the full term ending at the renewal; rounded half up to the cent. On the
  first day of a term it is the whole term's cost; on its last day, one day's.
* **which contract**: a new contract when the requester (or, through a change they were asked
  for, an approver) chose one: "separate contract", or another cost center than their own
  that no running contract of the product is charged to. Otherwise the running contract of
  the product bought the same way (channel) in the same currency: the one on the request's
  cost center if there is one, else the oldest. Their own cost center (the default) is no
  choice: the company's subscription is usually on another one (IT's). Products priced per
  year rather than per seat (no seat pool) and products not in the catalog always get a
  contract of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from catalog.rules.renewals import ContractTerms, add_months

__all__ = [
    "ContractChoice",
    "Expansion",
    "OwnedContract",
    "Proration",
    "choose_contract",
    "prorate",
    "renewal_after",
]


@dataclass(frozen=True)
class OwnedContract:
    """A contract we hold for the product, with the asset it belongs to."""

    asset_id: int
    cost_center: str
    channel: str
    currency: str
    seats: int
    terms: ContractTerms


@dataclass(frozen=True)
class Proration:
    as_of: date
    renewal_date: date
    days_left: int  # from as_of (or the term's start, if later) to the renewal
    term_days: int  # the whole term ending at the renewal
    cents: int


@dataclass(frozen=True)
class Expansion:
    """Added seats joining an existing contract."""

    asset_id: int
    seats_before: int
    seats_after: int
    annual_cents: int  # of the added seats, a full year
    currency: str
    proration: Proration


@dataclass(frozen=True)
class ContractChoice:
    """Where an approved request's seats go: `expansion` is None for a contract of their own,
    and `reason` says why, in words the requester and approvers read."""

    expansion: Expansion | None
    reason: str
    chosen: bool = False  # a contract of their own because the requester chose it


def renewal_after(terms: ContractTerms, as_of: date) -> date | None:
    """The renewal date that ends the term running on `as_of`: the first one after it.

    None when the contract has ended (it does not auto-renew and its renewal date is past)."""
    anchor = terms.renewal_date or add_months(terms.start_date, terms.term_months)
    if anchor > as_of:
        return anchor
    if not terms.auto_renew:
        return None
    months = (as_of.year - anchor.year) * 12 + as_of.month - anchor.month
    k = max(months // terms.term_months, 0)  # at most one term short of the answer
    while add_months(anchor, terms.term_months * k) <= as_of:
        k += 1
    return add_months(anchor, terms.term_months * k)


def prorate(annual_cents: int, *, as_of: date, renewal_date: date, term_months: int) -> Proration:
    """What `annual_cents` a year costs from `as_of` to `renewal_date` (see the module doc)."""
    if annual_cents < 0:
        raise ValueError(f"an annual cost can't be negative ({annual_cents})")
    if term_months < 1:
        raise ValueError(f"a term is at least one month, got {term_months}")
    term_start = add_months(renewal_date, -term_months)
    term_days = (renewal_date - term_start).days
    days_left = (renewal_date - max(as_of, term_start)).days
    days_left = min(max(days_left, 0), term_days)
    denominator = 12 * term_days
    cents = (2 * annual_cents * term_months * days_left + denominator) // (2 * denominator)
    return Proration(as_of, renewal_date, days_left, term_days, cents)


def choose_contract(
    owned: Sequence[OwnedContract],
    *,
    seats: int,
    annual_cents: int,
    per_seat: bool,
    channel: str,
    currency: str,
    cost_center: str,
    other_cost_center: bool,
    separate: bool,
    as_of: date,
) -> ContractChoice:
    """Where the seats of an approved request go (see the module doc). `cost_center` is the
    one the request is charged to; `other_cost_center` says it is not the requester's own."""
    if separate:
        return ContractChoice(None, "the requester asked for a separate contract", chosen=True)
    if not per_seat:
        return ContractChoice(None, "the product is priced per year, not per seat")
    running: list[tuple[OwnedContract, date]] = []
    for contract in owned:
        if contract.channel != channel or contract.currency.upper() != currency.upper():
            continue
        renewal = renewal_after(contract.terms, as_of)
        if renewal is not None:
            running.append((contract, renewal))
    if not running:
        return ContractChoice(None, "no running contract of this product was bought this way")
    wanted = cost_center.casefold()
    same_center = [(contract, renewal) for contract, renewal in running if contract.cost_center.casefold() == wanted]
    if other_cost_center and not same_center:
        reason = f"it is charged to cost center {cost_center}, which has no contract for it"
        return ContractChoice(None, reason, chosen=True)
    contract, renewal = min(same_center or running, key=lambda item: item[0].asset_id)
    proration = prorate(annual_cents, as_of=as_of, renewal_date=renewal, term_months=contract.terms.term_months)
    expansion = Expansion(contract.asset_id, contract.seats, contract.seats + seats, annual_cents, currency, proration)
    return ContractChoice(expansion, f"co-termed with the running contract of asset #{contract.asset_id}")
